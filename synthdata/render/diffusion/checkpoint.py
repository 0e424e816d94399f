"""A generator checkpoint on disk, and the per-frame latent codec.

Layout of a checkpoint directory (written by ``synthdata train-generator``)::

    <ckpt>/model/       LayoutVideoModel.save_pretrained — the EMA weights, used for sampling
    <ckpt>/vae/         optional AutoencoderKL (frozen, per-frame); absent = pixel space
    <ckpt>/training/    state.pt (raw weights, optimizer, LR schedule, step, RNG) for resume=true,
                        log.jsonl (one line per logged step), args.json
    <ckpt>/loss.png, <ckpt>/samples/step-NNNNNN.png

:func:`read_config` reads only JSON, so recipes are checked against a checkpoint before any weights
are loaded or a GPU is touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ...errors import UserError

__all__ = ["FrameCodec", "Generator", "read_config", "load_generator"]


def read_config(path: str | Path, field: str = "backend.checkpoint") -> dict[str, Any]:
    """The model's config.json as a dict; one-line :class:`UserError` when it is not a checkpoint."""
    if path is None:
        raise UserError(field, "required: a directory written by `synthdata train-generator`")
    cfg = Path(path) / "model" / "config.json"
    if not cfg.is_file():
        raise UserError(field, f"{path} is not a generator checkpoint (no model/config.json); "
                               "train one with `synthdata train-generator`")
    try:
        body = json.loads(cfg.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(field, f"{cfg} is not valid JSON ({exc.msg})") from None
    if body.get("_class_name") != "LayoutVideoModel":
        raise UserError(field, f"{cfg} describes a {body.get('_class_name')!r}, expected a LayoutVideoModel")
    if not any((Path(path) / "model").glob("*.safetensors")):
        raise UserError(field, f"{path}/model has no .safetensors weights")
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
class Generator:
    """What sampling needs: the model (EMA weights) and its frame codec, on one device."""

    model: Any  # LayoutVideoModel
    codec: FrameCodec

    @property
    def class_names(self) -> list[str]:
        return list(self.model.config.class_names)


def load_vae(path: str | Path, field: str):
    from diffusers import AutoencoderKL

    try:
        return AutoencoderKL.from_pretrained(str(path), low_cpu_mem_usage=False)
    except (OSError, ValueError, EnvironmentError) as exc:
        raise UserError(field, f"cannot load an AutoencoderKL from {path}: {str(exc).splitlines()[0]}") from None


def load_generator(path: str | Path, device: torch.device, field: str = "backend.checkpoint") -> Generator:
    from .model import LayoutVideoModel

    cfg = read_config(path, field)
    model = LayoutVideoModel.from_pretrained(str(Path(path) / "model"), low_cpu_mem_usage=False).to(device).eval()
    vae = load_vae(Path(path) / "vae", field).to(device).eval() if (Path(path) / "vae").is_dir() else None
    codec = FrameCodec(vae, cfg.get("latent_scaling_factor", 1.0))
    model.requires_grad_(False)
    codec.requires_grad_(False)
    return Generator(model, codec)
