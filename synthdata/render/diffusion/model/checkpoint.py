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

__all__ = ["FrameCodec", "TrainedGenerator", "PICKLE_SUFFIXES", "read_config", "read_json_config", "read_vae_config",
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
