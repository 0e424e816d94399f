"""Generation-time sensor noise: the configured σ(s)² = shot²·s + read², seeded by the clip, RGB only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synthdata.errors import UserError
from synthdata.render.sensor import SensorNoise, sensor_noise

from ..conftest import make_tiny_clip, tiny_spec

NOISE = "backend.sensor_noise={shot: 0.05, read: 0.02}"


@pytest.mark.parametrize("s", [0.05, 0.3, 0.8])
def test_noise_level_is_the_configured_sigma(s):
    cfg = SensorNoise(shot=0.05, read=0.01)
    out = sensor_noise(torch.full((4, 64, 64, 3), s), cfg, seed=7)
    expected = np.sqrt(0.05**2 * s + 0.01**2)
    assert abs(float(out.std()) - expected) < 0.03 * expected, (float(out.std()), expected)
    assert abs(float(out.mean()) - s) < 0.02 * expected * 10
    read_only = sensor_noise(torch.full((4, 64, 64, 3), s), SensorNoise(read=0.01), seed=7)
    assert abs(float(read_only.std()) - 0.01) < 0.0005  # read noise does not grow with the signal


def test_noise_is_seeded_and_leaves_labels_alone():
    clean = make_tiny_clip(tiny_spec("shapes", "clip.width=48", "clip.height=48"), seed=3)
    spec = tiny_spec("shapes", "clip.width=48", "clip.height=48", NOISE)
    a, b = make_tiny_clip(spec, seed=3), make_tiny_clip(spec, seed=3)
    assert torch.equal(a.frames.rgb, b.frames.rgb)  # same clip, same noise
    assert not torch.equal(a.frames.rgb, clean.frames.rgb)
    for key, value in vars(clean.frames).items():
        if key != "rgb" and value is not None:
            assert torch.equal(value.nan_to_num(), getattr(a.frames, key).nan_to_num()), key
    diff = a.frames.rgb.float() - clean.frames.rgb.float()
    assert 2 < float(diff.std()) < 20 and abs(float(diff.mean())) < 1.5
    other = make_tiny_clip(spec, seed=4)
    assert not torch.equal(other.frames.rgb, a.frames.rgb)


def test_a_window_of_frames_gets_the_whole_clips_noise():
    """Each frame draws from its own stream: frames 3…5 noised alone (first=3) are frames 3…5 of the
    whole clip noised at once, so a clip made in windows is the whole clip bit for bit."""
    clip = torch.rand(7, 16, 24, 3, generator=torch.Generator().manual_seed(0))
    cfg = SensorNoise(shot=0.05, read=0.02)
    whole = sensor_noise(clip, cfg, seed=11)
    assert torch.equal(sensor_noise(clip[3:6], cfg, seed=11, first=3), whole[3:6])
    assert not torch.equal(sensor_noise(clip[3:6], cfg, seed=11), whole[3:6])  # frame 0's stream is not frame 3's
    assert not torch.equal(whole[0] - clip[0], whole[1] - clip[1])


def test_noise_is_off_by_default_and_checked():
    assert tiny_spec("shapes").backend.settings["sensor_noise"] is None
    with pytest.raises(UserError, match="sensor_noise"):
        tiny_spec("shapes", "backend.sensor_noise={shot: -1}")
