"""Batched sampling: many clips per UNet call, classifier-free guidance in the same batch.

Noise for each clip comes from its own seed on the CPU, so a clip's starting point does not depend on
which other clips share its batch or on the device. Refine mode (SDEdit) starts part-way down the
schedule from the noised ``init`` frames instead of from pure noise.

Shapes: ``cond`` (B,C,T,H,W) at pixel resolution; ``init`` (B,3,T,H,W) in [-1, 1]; result (B,3,T,H,W)
in [-1, 1].
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from ..model.checkpoint import TrainedGenerator
from ..conditioning.maps import resize_condition
from .objectives import make_scheduler
from .precision import autocast, fixed_threads

__all__ = ["sample_clips", "clip_noise"]


def clip_noise(seeds: Sequence[int], shape: tuple[int, ...]) -> torch.Tensor:
    """(B, *shape) standard normal noise, clip b drawn from ``seeds[b]`` alone (CPU generator)."""
    return torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(int(s) % 2**63)) for s in seeds])


@torch.no_grad()
def sample_clips(gen: TrainedGenerator, cond: torch.Tensor, seeds: Sequence[int], steps: int = 25,
                 scheduler: str | None = None, guidance: float = 1.0, init: torch.Tensor | None = None,
                 strength: float = 1.0, precision: str = "auto",
                 callback: Callable[[int, int], None] | None = None) -> torch.Tensor:
    device = next(gen.model.parameters()).device
    with fixed_threads(device):
        return _sample(gen, cond, seeds, steps, scheduler, guidance, init, strength, precision, callback)


def _sample(gen, cond, seeds, steps, scheduler, guidance, init, strength, precision, callback) -> torch.Tensor:
    model, codec = gen.model, gen.codec
    device = next(model.parameters()).device
    objective = model.config.objective
    sched = make_scheduler(scheduler, objective)
    B, _, T, H, W = cond.shape
    s = codec.scale
    h, w = H // s, W // s
    c = resize_condition(cond.permute(0, 2, 1, 3, 4), h, w).permute(0, 2, 1, 3, 4).to(device)
    noise = clip_noise(seeds, (codec.channels, T, h, w)).to(device)

    sched.set_timesteps(steps, device=device)
    timesteps = sched.timesteps
    if init is not None and strength < 1.0:
        keep = max(1, min(steps, int(round(steps * strength))))
        begin = (steps - keep) * sched.order
        timesteps = timesteps[begin:]
        if hasattr(sched, "set_begin_index"):
            sched.set_begin_index(begin)
        x0 = codec.encode(init.to(device))
        t0 = timesteps[:1].repeat(B)
        # FlowMatchEuler calls it scale_noise; DPM-Solver's add_noise follows its own (flow or VP) sigmas
        x = sched.scale_noise(x0, t0, noise) if hasattr(sched, "scale_noise") else sched.add_noise(x0, noise, t0)
    else:
        x = noise * getattr(sched, "init_noise_sigma", 1.0)

    guided = guidance != 1.0
    c_in = torch.cat([c, torch.zeros_like(c)]) if guided else c
    for i, t in enumerate(timesteps):
        x_in = torch.cat([x, x]) if guided else x
        x_in = sched.scale_model_input(x_in, t) if hasattr(sched, "scale_model_input") else x_in
        with autocast(device, precision):
            out = model(x_in, t.expand(x_in.shape[0]).to(device), c_in).float()
        if guided:
            out_c, out_u = out.chunk(2)
            out = out_u + guidance * (out_c - out_u)
        x = sched.step(out, t, x).prev_sample
        if callback:
            callback(i + 1, len(timesteps))
    return codec.decode(x).clamp(-1, 1)
