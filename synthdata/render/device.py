"""Which device a run uses, decided without importing torch when the machine cannot have a GPU.

A Dask driver never renders, yet it must know the device (the manifest records it; ``auto`` picks
one GPU worker per device) — and importing torch only to learn "no GPU" costs a second or more per
command. With no NVIDIA or AMD device node and no NVIDIA driver the answer is CPU; when there might
be a GPU, torch decides, as it does everywhere else.
"""

from __future__ import annotations

import glob
import os

from ..errors import UserError

__all__ = ["cuda_possible", "device_name", "cuda_device_count"]

#: paths that exist when a CUDA (or ROCm, which torch also calls "cuda") device might be usable
_GPU_NODES = ("/proc/driver/nvidia", "/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")


def cuda_possible() -> bool:
    """False only when this machine certainly has no CUDA device (cheap: a few ``stat`` calls)."""
    return any(os.path.exists(p) for p in _GPU_NODES) or bool(glob.glob("/dev/nvidia*"))


def cuda_device_count() -> int:
    """``torch.cuda.device_count()`` when CUDA is available, else 0 — torch imported only if needed."""
    if not cuda_possible():
        return 0
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def device_name(device: str) -> str:
    """The device string :func:`~synthdata.render.backend.resolve_device` gives (``"cpu"``, ``"cuda"``,
    ``"cuda:1"``), with the same error for an unavailable CUDA device."""
    if device == "cpu":
        return "cpu"
    if not cuda_possible():
        if device == "auto":
            return "cpu"
        raise UserError("device", f"{device!r} requested but CUDA is not available; use device=cpu or auto")
    from .backend import resolve_device

    return str(resolve_device(device))
