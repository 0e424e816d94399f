"""Sensor noise at generation time: a simple, seeded camera sensor applied to the rendered RGB only
(labels are of the scene, not of the sensor, and stay exact).

Model, per pixel and channel, on *linear* intensity s ∈ [0, 1] before gamma and quantisation:
s' = s + σ(s)·n, n ~ N(0, 1), σ(s)² = shot²·s + read² (photon shot noise, whose variance grows with the
signal, plus signal-independent read noise); then clamped to [0, 1]. ``shot`` and ``read`` are standard
deviations in units of full scale (``read: 0.01`` is 1% of white). The noise is drawn on the CPU from the
clip's generator seed (a stream per frame), so the same clip gets the same noise on any device and in
windows.
"""

from __future__ import annotations

import numpy as np
from ..lazy import torch
from ..floats import sqrt
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SensorNoise", "sensor_noise"]

_STREAM = 0x5E75  # spawn key of the sensor's stream off the clip's generator seed


class SensorNoise(BaseModel):
    """``sensor_noise: {shot, read}`` (backend setting): σ(s)² = shot²·s + read², full-scale units."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    shot: float = Field(0.0, ge=0.0, le=1.0)
    read: float = Field(0.0, ge=0.0, le=1.0)


def sensor_noise(linear: torch.Tensor, noise: SensorNoise, seed: int, first: int = 0) -> torch.Tensor:
    """Noisy copy of linear RGB frames (T,...) with values in [0, 1], deterministic in ``seed``. Each
    frame draws from its own stream (``first`` is the index in the clip of ``linear``'s first frame),
    so a clip made window by window gets the noise the whole clip gets."""
    n = torch.empty(linear.shape, dtype=torch.float32)
    for k in range(linear.shape[0]):
        state = np.random.SeedSequence(seed, spawn_key=(_STREAM, first + k)).generate_state(1)[0]
        torch.randn(linear.shape[1:], generator=torch.Generator().manual_seed(int(state)), out=n[k])
    n = n.to(linear.device)
    s = torch.clamp(linear, 0, 1)
    sigma = sqrt(noise.shot ** 2 * s + noise.read ** 2)
    return torch.clamp(s + sigma * n, 0, 1)
