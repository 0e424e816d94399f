"""One precision setting for sampling and training: ``auto`` | ``fp32`` | ``bf16`` | ``fp16``."""

from __future__ import annotations

import contextlib

from ....lazy import torch

__all__ = ["torch_dtype", "autocast", "fixed_threads"]


def torch_dtype(precision: str, device: torch.device) -> torch.dtype:
    """``precision`` setting → compute dtype. ``auto``: bf16 on CUDA, fp32 elsewhere (CPU bf16 is slower
    than fp32 on most CPUs)."""
    if precision == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[precision]


@contextlib.contextmanager
def fixed_threads(device: torch.device):
    """One intra-op thread while a network samples on the CPU: its convolutions and norms reduce in an
    order that depends on the thread count, so a clip sampled in-process (all cores) and in a Dask
    worker (one thread) differed in the last bit, sometimes one uint8 level. With one thread the bytes
    are the same everywhere (docs/scaling.md, Determinism). No-op on CUDA."""
    if device.type != "cpu" or torch.get_num_threads() == 1:
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def autocast(device: torch.device, precision: str):
    """Autocast to :func:`torch_dtype`, or nothing for fp32."""
    dtype = torch_dtype(precision, device)
    return contextlib.nullcontext() if dtype == torch.float32 else torch.autocast(device.type, dtype=dtype)
