"""One precision setting for sampling and training: ``auto`` | ``fp32`` | ``bf16`` | ``fp16``."""

from __future__ import annotations

import contextlib

import torch

__all__ = ["torch_dtype", "autocast"]


def torch_dtype(precision: str, device: torch.device) -> torch.dtype:
    """``precision`` setting → compute dtype. ``auto``: bf16 on CUDA, fp32 elsewhere (CPU bf16 is slower
    than fp32 on most CPUs)."""
    if precision == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[precision]


def autocast(device: torch.device, precision: str):
    """Autocast to :func:`torch_dtype`, or nothing for fp32."""
    dtype = torch_dtype(precision, device)
    return contextlib.nullcontext() if dtype == torch.float32 else torch.autocast(device.type, dtype=dtype)
