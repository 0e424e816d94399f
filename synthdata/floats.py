"""Float math with the same bits on every CPU, where torch's own is not.

torch's CPU square root runs through MKL's vector math, whose float32 result is not always the
correctly rounded one, and how often depends on the CPU (measured: an AMD EPYC with AVX-512, 15.6 % of
roots one ulp off; the Intel Xeon boxes of earlier rounds nearly always exact). The ray-caster takes a
root per hit, normal and distance, so its frames differed by CPU vendor, and the compiled loops (LLVM's
exact ``sqrt``) agreed with the torch passes on one CPU far less often than on another. A float64 root
rounded once to float32 is the correctly rounded float32 root (53 ≥ 2·24 + 2 bits), at ~1.4 ms more per
million values on the CPU; CUDA's ``sqrtf`` is IEEE already, so CUDA tensors keep ``torch.sqrt``.
"""

from __future__ import annotations

from .lazy import torch

__all__ = ["sqrt"]


def sqrt(x: "torch.Tensor") -> "torch.Tensor":
    """Correctly rounded square root of ``x`` (any shape and device)."""
    if x.dtype == torch.float32 and x.device.type == "cpu":
        return torch.sqrt(x.double()).to(torch.float32)
    return torch.sqrt(x)
