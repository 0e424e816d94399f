"""A generator checkpoint on disk, and the per-frame latent codec.

Layout of a checkpoint directory (written by ``synthdata train-generator``)::

    <ckpt>/model/       LayoutVideoModel.save_pretrained — the EMA weights, used for sampling
    <ckpt>/vae/         optional AutoencoderKL (frozen, per-frame); absent = pixel space
    <ckpt>/training/    state.safetensors (raw weights, optimizer, LR schedule, step, RNG; JSON index in
                        its header) for resume=true, log.jsonl (one line per logged step), args.json
    <ckpt>/loss.png, <ckpt>/samples/step-NNNNNN.png

Checkpoints and model folders come from anyone, so they are read as data only: configs are JSON,
weights are safetensors (``use_safetensors=True``), and a folder holding a pickle-format weight file
(:data:`PICKLE_SUFFIXES`) is refused by name before anything is loaded — unpickling can run code.
:func:`read_config` reads only JSON, so recipes are checked against a checkpoint before any weights
are loaded or a GPU is touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ....errors import UserError
from ..conditioning.maps import ALL_MAPS

__all__ = ["FrameCodec", "TrainedGenerator", "PICKLE_SUFFIXES", "check_checkpoint", "read_config", "read_json_config", "read_vae_config",
           "refuse_pickle_weights", "load_vae", "load_generator"]

#: weight formats that are pickles (torch.save, pickle, joblib …): refused wherever weights are read
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib")
#: a model config is a few kB; anything far larger is not one
MAX_CONFIG_BYTES = 4 * 2**20


def refuse_pickle_weights(folder: str | Path, field: str) -> None:
    """One-line :class:`UserError` naming the first pickle-format file anywhere under ``folder``."""
    for p in sorted(Path(folder).rglob("*")):
        if p.suffix.lower() in PICKLE_SUFFIXES and (p.is_file() or p.is_symlink()):
            raise UserError(field, f"{p} is a pickle-format weight file, which synthdata never loads (unpickling can "
                                   "run code); expected .safetensors weights (save with save_pretrained, "
                                   "safe_serialization=True)")


def read_json_config(path: Path, field: str) -> dict[str, Any]:
    """A JSON object from ``path`` (bounded in size); one-line :class:`UserError` otherwise."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise UserError(field, f"{path} is {path.stat().st_size} bytes; expected a JSON config of at most "
                                   f"{MAX_CONFIG_BYTES // 2**20} MiB")
        body = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(field, f"{path} is not valid JSON ({exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(field, f"cannot read {path} ({exc.__class__.__name__}); expected a JSON config") from None
    if not isinstance(body, dict):
        raise UserError(field, f"{path} holds a JSON {type(body).__name__}; expected an object")
    return body


def _require(body: dict[str, Any], path: Path, field: str, spec: dict[str, type | tuple[type, ...]]) -> None:
    for key, kind in spec.items():
        value = body.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            want = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise UserError(field, f"{path}: {key} must be {want}, got {value!r}")


def _safetensors_only(folder: Path, field: str) -> None:
    refuse_pickle_weights(folder, field)
    if not any(folder.glob("*.safetensors")):
        raise UserError(field, f"{folder} has no .safetensors weights")


def read_config(path: str | Path, field: str = "backend.checkpoint") -> dict[str, Any]:
    """The model's config.json as a dict, its fields type-checked; one-line :class:`UserError` when it is
    not a checkpoint or its model/vae folders hold pickle-format weights."""
    if path is None:
        raise UserError(field, "required: a directory written by `synthdata train-generator`")
    cfg = Path(path) / "model" / "config.json"
    if not cfg.is_file():
        raise UserError(field, f"{path} is not a generator checkpoint (no model/config.json); "
                               "train one with `synthdata train-generator`")
    body = read_json_config(cfg, field)
    if body.get("_class_name") != "LayoutVideoModel":
        raise UserError(field, f"{cfg} describes a {body.get('_class_name')!r}, expected a LayoutVideoModel")
    _require(body, cfg, field, {"class_names": list, "unet_config": dict, "objective": str, "frames": int,
                                "height": int, "width": int, "latent_channels": int, "latent_scale": int,
                                "latent_scaling_factor": (int, float), "condition_maps": list})
    if not all(isinstance(n, str) for n in body["class_names"]):
        raise UserError(field, f"{cfg}: class_names must be a list of strings")
    maps = body["condition_maps"]
    if not all(isinstance(m, str) for m in maps) or not set(maps) <= set(ALL_MAPS):
        raise UserError(field, f"{cfg}: condition_maps must be a subset of {list(ALL_MAPS)}")
    blocks = body["unet_config"].get("block_out_channels")
    if not (isinstance(blocks, list) and blocks and all(isinstance(c, int) and c > 0 for c in blocks)):
        raise UserError(field, f"{cfg}: unet_config.block_out_channels must be a list of positive ints")
    _safetensors_only(Path(path) / "model", field)
    if (Path(path) / "vae").is_dir():
        refuse_pickle_weights(Path(path) / "vae", field)
    return body


def read_vae_config(path: str | Path, field: str) -> dict[str, Any]:
    """A local AutoencoderKL folder's config.json (type-checked), after refusing pickle weights."""
    folder = Path(path)
    cfg = folder / "config.json"
    if not cfg.is_file():
        raise UserError(field, f"{path} is not a diffusers AutoencoderKL directory (no config.json)")
    body = read_json_config(cfg, field)
    if body.get("_class_name") != "AutoencoderKL":
        raise UserError(field, f"{cfg} describes a {body.get('_class_name')!r}, expected an AutoencoderKL")
    _require(body, cfg, field, {"block_out_channels": list, "latent_channels": int})
    _safetensors_only(folder, field)
    return body


#: what a LayoutVideoModel's unet_config may say (diffusers' UNet3DConditionModel arguments, bounded so a
#: crafted config cannot ask for any amount of memory or time before the memory check sees it)
_UNET_BLOCKS = {"down_block_types": {"DownBlock3D", "CrossAttnDownBlock3D"},
                "up_block_types": {"UpBlock3D", "CrossAttnUpBlock3D"}}
_UNET_INTS = {"layers_per_block": (1, 8), "norm_num_groups": (1, 1024), "cross_attention_dim": (1, 8192),
              "attention_head_dim": (1, 8192), "num_attention_heads": (1, 1024), "sample_size": (1, 65536),
              "downsample_padding": (0, 8), "time_cond_proj_dim": (1, 8192)}
_UNET_OTHER = {"mid_block_scale_factor", "act_fn", "norm_eps"}
_MODEL_INTS = {"frames": (1, 4096), "height": (1, 16384), "width": (1, 16384), "latent_channels": (1, 64),
               "latent_scale": (1, 64), "context_tokens": (1, 1024)}


def _int_in(value: Any, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def _check_unet(cfg: dict[str, Any], where: Path, field: str) -> None:
    """The model's own fields and its unet_config within what a UNet of this library can be."""
    for key, (lo, hi) in _MODEL_INTS.items():
        if key in cfg and not _int_in(cfg[key], lo, hi):
            raise UserError(field, f"{where}: {key} must be an integer in [{lo}, {hi}], got {cfg[key]!r}")
    if cfg["latent_scale"] & (cfg["latent_scale"] - 1):
        raise UserError(field, f"{where}: latent_scale must be a power of 2, got {cfg['latent_scale']}")
    f = cfg["latent_scaling_factor"]
    if not (f == f and 0 < f < 1e6):
        raise UserError(field, f"{where}: latent_scaling_factor must be a positive number, got {f!r}")
    u = cfg["unet_config"]
    unknown = sorted(set(u) - set(_UNET_BLOCKS) - set(_UNET_INTS) - _UNET_OTHER - {"block_out_channels"})
    if unknown:
        raise UserError(field, f"{where}: unet_config has unknown key(s) {unknown}")
    blocks = u["block_out_channels"]
    groups = u.get("norm_num_groups", 32)
    if not 1 <= len(blocks) <= 6 or not all(_int_in(c, 1, 4096) for c in blocks):
        raise UserError(field, f"{where}: unet_config.block_out_channels must be 1 to 6 integers in [1, 4096], got {blocks}")
    for key, (lo, hi) in _UNET_INTS.items():
        if key in u and u[key] is not None and not _int_in(u[key], lo, hi):
            raise UserError(field, f"{where}: unet_config.{key} must be an integer in [{lo}, {hi}], got {u[key]!r}")
    if any(c % groups for c in blocks):
        raise UserError(field, f"{where}: unet_config.norm_num_groups {groups} must divide every block_out_channels {blocks}")
    for key, allowed in _UNET_BLOCKS.items():
        kinds = u.get(key)
        if not (isinstance(kinds, list) and len(kinds) == len(blocks) and all(k in allowed for k in kinds)):
            raise UserError(field, f"{where}: unet_config.{key} must be {len(blocks)} of {sorted(allowed)}, got {kinds!r}")


def _check_vae(cfg: dict[str, Any], where: Path, field: str) -> None:
    blocks = cfg["block_out_channels"]
    if not 1 <= len(blocks) <= 6 or not all(_int_in(c, 1, 4096) for c in blocks):
        raise UserError(field, f"{where}: block_out_channels must be 1 to 6 integers in [1, 4096], got {blocks}")
    for key, (lo, hi) in {"latent_channels": (1, 64), "layers_per_block": (1, 8), "norm_num_groups": (1, 1024)}.items():
        if key in cfg and not _int_in(cfg[key], lo, hi):
            raise UserError(field, f"{where}: {key} must be an integer in [{lo}, {hi}], got {cfg[key]!r}")


def _weight_shapes(folder: Path, field: str) -> dict[str, tuple[int, ...]]:
    """Tensor name → shape of every .safetensors file in ``folder``, from their headers (no weights read)."""
    from safetensors import safe_open

    out: dict[str, tuple[int, ...]] = {}
    for f in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(str(f), framework="pt") as st:
                for k in st.keys():
                    out[k] = tuple(st.get_slice(k).get_shape())
        except Exception as exc:  # not safetensors (a pickle by another name), a torn header
            raise UserError(field, f"{f} is not a readable safetensors file ({type(exc).__name__})") from None
    return out


def _same_tensors(model: torch.nn.Module, folder: Path, field: str) -> None:
    """The weights in ``folder`` are exactly the tensors ``model`` (built on the meta device) has."""
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    have = _weight_shapes(folder, field)
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    wrong = sorted(k for k in set(want) & set(have) if want[k] != have[k])
    if missing or extra or wrong:
        what = (f"{len(missing)} tensor(s) missing, first {missing[0]!r}" if missing else
                f"{len(extra)} unexpected tensor(s), first {extra[0]!r}" if extra else
                f"{wrong[0]!r} is {list(have[wrong[0]])}, the config makes it {list(want[wrong[0]])}")
        raise UserError(field, f"{folder}: the weights do not match config.json ({what})")


def check_checkpoint(path: str | Path, field: str = "backend.checkpoint") -> dict[str, Any]:
    """Everything about a checkpoint knowable without loading its weights: :func:`read_config`, every
    field within bounds, and each folder's tensors (names and shapes, from the safetensors headers)
    those the config builds — on the meta device, so nothing is allocated. A crafted config or weight
    file is one line here, before a run writes anything (it failed shard by shard before)."""
    from diffusers import AutoencoderKL

    from .unet import LayoutVideoModel

    cfg = read_config(path, field)
    model_dir = Path(path) / "model"
    _check_unet(cfg, model_dir / "config.json", field)
    try:
        with torch.device("meta"):
            model = LayoutVideoModel.from_config(cfg)
    except Exception as exc:  # a combination the bounds allow but diffusers refuses
        raise UserError(field, f"{model_dir / 'config.json'} does not make a model ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''})"[:300]) from None
    _same_tensors(model, model_dir, field)
    vae_dir = Path(path) / "vae"
    if vae_dir.is_dir():
        vae_cfg = read_vae_config(vae_dir, field)
        _check_vae(vae_cfg, vae_dir / "config.json", field)
        if vae_cfg["latent_channels"] != cfg["latent_channels"]:  # a VAE swapped for one of another latent space
            raise UserError(field, f"vae has {vae_cfg['latent_channels']} latent channels but the model expects "
                                   f"{cfg['latent_channels']}")
        try:
            with torch.device("meta"):
                vae = AutoencoderKL.from_config(vae_cfg)
        except Exception as exc:
            raise UserError(field, f"{vae_dir / 'config.json'} does not make an AutoencoderKL ({type(exc).__name__})") from None
        _same_tensors(vae, vae_dir, field)
    return cfg


class FrameCodec(torch.nn.Module):
    """Frames ↔ the space the UNet works in, one frame at a time (no temporal compression, so latent
    frames stay aligned with label frames). Identity without a VAE.

    Shapes: video (B,3,T,H,W) in [-1, 1] ↔ latents (B,c,T,H/s,W/s).
    """

    def __init__(self, vae=None, scaling_factor: float = 1.0):
        super().__init__()
        self.vae = vae
        self.scaling_factor = scaling_factor

    @property
    def scale(self) -> int:
        return 1 if self.vae is None else 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def channels(self) -> int:
        return 3 if self.vae is None else int(self.vae.config.latent_channels)

    def _per_frame(self, x: torch.Tensor, fn) -> torch.Tensor:
        B, C, T, H, W = x.shape
        y = fn(x.permute(0, 2, 1, 3, 4).reshape(B * T, C, H, W))
        return y.reshape(B, T, *y.shape[1:]).permute(0, 2, 1, 3, 4)

    @torch.no_grad()
    def encode(self, video: torch.Tensor) -> torch.Tensor:
        if self.vae is None:
            return video
        return self._per_frame(video, lambda x: self.vae.encode(x.to(self.vae.dtype)).latent_dist.mode()
                               * self.scaling_factor).float()

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        if self.vae is None:
            return latents
        return self._per_frame(latents, lambda z: self.vae.decode((z / self.scaling_factor).to(self.vae.dtype))
                               .sample).float()


@dataclass
class TrainedGenerator:
    """What sampling needs: the model (EMA weights) and its frame codec, on one device."""

    model: Any  # LayoutVideoModel
    codec: FrameCodec

    @property
    def class_names(self) -> list[str]:
        return list(self.model.config.class_names)


def load_vae(path: str | Path, field: str):
    """A frozen-to-be AutoencoderKL from a local folder: JSON config, safetensors weights only."""
    from diffusers import AutoencoderKL

    read_vae_config(path, field)
    try:
        return AutoencoderKL.from_pretrained(str(path), use_safetensors=True, local_files_only=True,
                                             low_cpu_mem_usage=False)
    except (OSError, ValueError, EnvironmentError) as exc:
        raise UserError(field, f"cannot load an AutoencoderKL from {path}: {str(exc).splitlines()[0]}") from None


def load_generator(path: str | Path, device: torch.device, field: str = "backend.checkpoint") -> TrainedGenerator:
    from .unet import LayoutVideoModel

    cfg = read_config(path, field)
    model = LayoutVideoModel.from_pretrained(str(Path(path) / "model"), use_safetensors=True, local_files_only=True,
                                             low_cpu_mem_usage=False).to(device).eval()
    vae = load_vae(Path(path) / "vae", field).to(device).eval() if (Path(path) / "vae").is_dir() else None
    codec = FrameCodec(vae, cfg.get("latent_scaling_factor", 1.0))
    model.requires_grad_(False)
    codec.requires_grad_(False)
    return TrainedGenerator(model, codec)
