"""Memory estimates and what is available, checked before a model is built so an impossible size fails
in one line instead of as an out-of-memory error minutes into a run.

``estimate_bytes`` is the sampling estimate (inference); training has its own measured model in
``synthdata/train/memory.py``. Both compare against what is *available* now (MemAvailable on the
host, free memory on a CUDA device), not the machine's total.
"""

from __future__ import annotations

import torch

from ....resources import host_available_bytes

__all__ = ["estimate_bytes", "host_available_bytes", "available_bytes", "check_fits", "gib"]

#: refuse when the estimate exceeds this share of what is available (the estimate is "about")
HEADROOM = 0.9


def estimate_bytes(unet: dict, rows: int, height: int, width: int) -> int:
    """Peak bytes of one UNet inference step on ``rows`` frames (clips × frames, ×2 with guidance) of
    ``height``×``width`` (latent) pixels: about two dozen full-resolution fp32 activations stay alive
    (skips, norms, attention)."""
    return int(rows * unet["block_out_channels"][0] * height * width * 4 * 24)


def available_bytes(device: str | torch.device) -> int:
    """Free memory of the device a run will use (``auto`` → CUDA if present, else the host)."""
    device = str(device)
    if device != "cpu" and torch.cuda.is_available():
        idx = int(device.split(":")[1]) if ":" in device else 0
        return int(torch.cuda.mem_get_info(idx)[0])
    return host_available_bytes()


def gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def check_fits(need: int, device: str, what: str, available: int | None = None) -> str | None:
    """``None`` when ``need`` bytes fit in 90% of what ``device`` has available (or ``available``, when
    given), else a message for a one-line error."""
    have = available_bytes(device) if available is None else int(available)
    if need <= HEADROOM * have:
        return None
    return f"{what} needs about {gib(need)} but {gib(have)} is available"
