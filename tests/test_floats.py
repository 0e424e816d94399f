"""synthdata.floats.sqrt is the correctly rounded float32 root on the CPU, whatever torch's own gives
on this CPU (MKL's vector sqrt is one ulp off for 15.6 % of values on an AMD EPYC)."""

import numpy as np
import torch

from synthdata.floats import sqrt


def _exact(x: torch.Tensor) -> torch.Tensor:
    """numpy's float32 sqrt: the SSE/AVX instruction, IEEE correctly rounded."""
    return torch.from_numpy(np.sqrt(x.numpy()))


def test_sqrt_is_correctly_rounded_everywhere():
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.rand(200_000, generator=g) * 10.0 ** torch.randint(-30, 30, (200_000,), generator=g).float(),
                   torch.tensor([0.0, -0.0, 1e-45, 1e-38, 1.0, 4.0, 3.4e38, float("inf")])])
    r = sqrt(x)
    assert r.dtype == torch.float32 and r.shape == x.shape
    assert torch.equal(r, _exact(x))
    assert bool(torch.signbit(sqrt(torch.tensor([-0.0])))[0])  # −0 stays −0, as IEEE says
    assert bool(sqrt(torch.tensor([-1.0, float("nan")])).isnan().all())


def test_other_dtypes_take_torchs_root():
    x = torch.rand(1000, dtype=torch.float64)
    assert torch.equal(sqrt(x), torch.sqrt(x)) and sqrt(x).dtype == torch.float64
