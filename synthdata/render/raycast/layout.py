"""Component-major vectors: (M,C) rows stored as C contiguous columns (memory (C,M), the tensor a
transposed view), the layout the ray-caster keeps its per-hit points, directions and colours in.

Elementwise work on the interleaved (M,3) layout walks each component with stride 3 and does not
vectorise; gathering 12-byte rows costs several times a 1-D gather (measured on CPU:
``benchmarks/render_breakdown.py``, docs/backends.md "Performance"). Every tensor op accepts these
views unchanged and elementwise results keep the layout of their inputs; the shipped recipes render the
same bytes in either layout (checked tensor by tensor when it was introduced).
"""

from __future__ import annotations

import math

from ...lazy import torch

__all__ = ["soa", "soa_stack", "take"]


def soa(parts: list[torch.Tensor]) -> torch.Tensor:
    """Stack per-component tensors (...,) into (...,C) stored component-major (each component contiguous):
    elementwise work and gathers on such vectors run vectorised (the (...,3) interleaved layout makes
    every component access a stride-3 walk). Shape: C × (...) → (...,C)."""
    return torch.stack(parts, 0).movedim(0, -1)


def soa_stack(vectors: list[torch.Tensor]) -> torch.Tensor:
    """``torch.stack(vectors, 1)`` stored component-major (see :func:`soa`). Shape: K × (M,C) → (M,K,C)."""
    return torch.stack([v.movedim(-1, 0) for v in vectors], 0).permute(2, 0, 1)


def take(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    """``x[i]`` for a 1-D index list along the first dimension, the same bytes as advanced indexing.
    Rows of several values come back component-major (see :func:`soa`): the source is read as
    (values, rows) — a view when it is component-major already, else one transposing copy — and each
    value gathered as a contiguous 1-D list (measured on CPU: 3.6× cheaper than gathering interleaved
    12-byte rows, and what follows runs vectorised). Shape: x (N,...), i (M,) → (M,...)."""
    if x.dim() == 1:
        return torch.index_select(x, 0, i)
    rest = x.shape[1:]
    cols = x.reshape(x.shape[0], math.prod(rest)).t()
    return torch.index_select(cols if cols.is_contiguous() else cols.contiguous(), 1, i).t().reshape(i.shape[0], *rest)
