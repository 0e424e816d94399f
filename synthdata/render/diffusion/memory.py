"""Rough memory estimates, checked before a model is built so an impossible size fails in one line
instead of as an out-of-memory error minutes into a run."""

from __future__ import annotations

import os

import torch

__all__ = ["estimate_bytes", "device_memory_bytes", "check_fits"]


def estimate_bytes(unet: dict, rows: int, height: int, width: int, training: bool = False) -> int:
    """Peak bytes of one UNet step on ``rows`` frames (clips × frames, ×2 with guidance) of
    ``height``×``width`` (latent) pixels: about two dozen full-resolution fp32 activations stay alive
    at inference (skips, norms, attention); training keeps every layer's activations for backward."""
    per = rows * unet["block_out_channels"][0] * height * width * 4
    return int(per * (24 * 4 * unet.get("layers_per_block", 1) if training else 24))


def device_memory_bytes(device: str) -> int:
    """Total memory of the named device (``auto`` → CUDA if present, else host RAM)."""
    if device != "cpu" and torch.cuda.is_available():
        idx = int(device.split(":")[1]) if ":" in device else 0
        return int(torch.cuda.get_device_properties(idx).total_memory)
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def check_fits(need: int, device: str, what: str) -> str | None:
    """``None`` when ``need`` bytes fit in 80% of the device, else a message for a one-line error."""
    have = device_memory_bytes(device)
    if need <= 0.8 * have:
        return None
    return f"{what} needs about {need / 2**30:.1f} GiB but the device has {have / 2**30:.1f} GiB"
