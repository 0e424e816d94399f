"""Flow validity: a valid vector is a true correspondence; vectors that leave the image, go behind the
camera or land on another surface are not."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import synthdata
from synthdata.annotate.flow_valid import TOLERANCE_PX, flow_validity

from ..conftest import SYNC2, TINY, make_tiny_clip, tiny_spec


@pytest.mark.parametrize("compiled", [False, True])
def test_hand_made_cases(compiled):
    T, H, W = 2, 4, 4
    inst = np.ones((T, H, W), dtype=np.int32)
    fwd = np.zeros((T, H, W, 2), np.float32)
    bwd = np.zeros((T, H, W, 2), np.float32)
    fwd[0, ..., 0] = 1.0  # everything moves one pixel right…
    bwd[1, ..., 0] = -1.0  # …and comes back
    fwd[0, 0, 0] = np.nan  # behind the camera
    bwd[1, 2, 2, 0] = 0.4  # an inconsistent return at the pixel (2,1) lands on
    inst[1, 1, 2] = 2  # another surface where (1,1) lands
    v = flow_validity(torch.from_numpy(fwd), torch.from_numpy(bwd), torch.from_numpy(inst), compiled=compiled).numpy()
    fwd_ok = (v[0] & 1).astype(bool)
    assert not fwd_ok[0, 0]  # NaN
    assert not fwd_ok[:, 3].any()  # lands outside the image
    assert not fwd_ok[2, 1]  # return flow off by 1.4 px > tolerance
    assert not fwd_ok[1, 1]  # lands on another surface (it is occluded there)
    assert fwd_ok[3, 0] and fwd_ok[1, 0] and TOLERANCE_PX == 0.5


def _both(fwd, bwd, inst):
    return [flow_validity(fwd, bwd, inst, compiled=c) for c in (False, True)]


@pytest.mark.parametrize("recipe", ["shapes", "highway", "colonoscopy:plain"])
def test_the_compiled_loop_gives_the_torch_passes_bits(recipe):
    """annotate/cpu_loops.py against the torch passes it stands for, on rendered clips (occlusions, flow
    leaving the view) and on adversarial flows: NaN, ±inf, 90,000 px, returns at exactly the tolerance
    and one float32 step past it."""
    clip = make_tiny_clip(tiny_spec(recipe, "clip.width=40", "clip.height=24", "clip.frames=6"), seed=3)
    f = clip.frames
    torch_v, loop_v = _both(f.flow_fwd, f.flow_bwd, f.instance)
    assert torch_v.dtype == loop_v.dtype == torch.uint8 and torch.equal(torch_v, loop_v)
    assert set(torch.unique(torch_v).tolist()) >= {0, 3} or recipe == "shapes"

    rng = np.random.default_rng(0)
    T, H, W = 5, 7, 9
    fwd = rng.normal(0, 0.6, (T, H, W, 2)).astype(np.float32)  # most land in their own pixel: consistent
    bwd = -np.roll(fwd, 1, axis=0) + rng.choice([0, 0.3, 0.5, 0.6], (T, H, W, 2)).astype(np.float32)
    odd = rng.choice([np.nan, np.inf, -np.inf, 9e4], 40)
    fwd.reshape(-1, 2)[rng.choice(T * H * W, 40), rng.integers(0, 2, 40)] = odd
    inst = rng.integers(0, 3, (T, H, W)).astype(np.int32)
    a, b = _both(*(torch.from_numpy(x) for x in (fwd, bwd, inst)))
    assert torch.equal(a, b) and 0 < int((a & 1).sum()) < T * H * W
    # a quarter pixel right, and back with errors of 0, ±the tolerance and ±one float32 step past it (all
    # exact in float32)
    past = np.nextafter(np.float32(0.5), np.float32(1))
    fwd, bwd = np.zeros((2, 1, 6, 2), np.float32), np.zeros((2, 1, 6, 2), np.float32)
    fwd[0, 0, :, 0] = 0.25
    bwd[1, 0, :5, 0] = np.array([0, 0.5, -0.5, past, -past], np.float32) - np.float32(0.25)
    a, b = _both(*(torch.from_numpy(x) for x in (fwd, bwd, np.zeros((2, 1, 6), np.int32))))
    assert torch.equal(a, b) and (a[0, 0, :5] & 1).tolist() == [1, 1, 1, 0, 0]


@pytest.mark.parametrize("recipe", ["shapes", "highway", "colonoscopy:plain"])
def test_valid_flow_lands_on_the_same_surface_point(recipe):
    """Independent check with the G-buffer's surface coordinates: following a valid forward vector lands
    on a pixel showing the same surface point (within that pixel's footprint); invalid ones exist."""
    clip = make_tiny_clip(tiny_spec(recipe, "clip.width=64", "clip.height=48", "clip.frames=5"), seed=2)
    f = clip.frames
    v = clip.labels.labels["flow_valid"]
    T, H, W = f.instance.shape
    checked = 0
    for t in range(T - 1):
        ys, xs = np.nonzero((v[t] & 1) & np.isfinite(f.depth[t].numpy()))  # objects and ground/wall
        flow = f.flow_fwd[t].numpy()[ys, xs]
        qx, qy = (xs + 0.5 + flow[:, 0]).astype(int), (ys + 0.5 + flow[:, 1]).astype(int)
        a = f.surface[t].numpy()[ys, xs]
        b = f.surface[t + 1].numpy()[qy, qx]
        d = f.depth[t].numpy()[ys, xs]
        # a pixel's footprint on the surface: depth / focal, stretched by 1/cos of the grazing angle
        K, R = clip.traj.K, clip.traj.camera_poses[t][:3, :3]
        rays = np.stack([(xs + 0.5 - K[0, 2]) / K[0, 0], (ys + 0.5 - K[1, 2]) / K[1, 1], np.ones(len(xs))], 1) @ R.T
        rays /= np.linalg.norm(rays, axis=1, keepdims=True)
        cos = np.abs((f.normals[t].numpy()[ys, xs] * rays).sum(1)).clip(0.05, 1)
        distance = d / (rays @ R)[:, 2]  # z-depth → distance along the ray
        footprint = 2.5 * distance / (K[0, 0] * cos)
        assert (np.linalg.norm(a - b, axis=1) <= footprint + 1e-3).mean() > 0.99
        checked += len(ys)
    assert checked > 200
    assert (v & 1).min() == 0 or recipe == "shapes"  # something is occluded or leaves the view


def test_flow_validity_is_written_and_read_back(tmp_path):
    synthdata.generate("highway", clips=1, out=tmp_path / "d", overrides=TINY, compute=SYNC2, progress=False)
    clip = synthdata.open_dataset(tmp_path / "d").clip(0)
    m = clip.map("flow_valid")
    assert m.shape == (4, 32, 32) and m.dtype == np.uint8 and set(np.unique(m)) <= {0, 1, 2, 3}
    flow = clip.map("flow_fwd")
    assert not ((m & 1).astype(bool) & ~np.isfinite(flow).all(-1)).any()  # never valid where NaN
    synthdata.generate("highway", clips=1, out=tmp_path / "off", compute=SYNC2, progress=False,
                             overrides=[*TINY, "annotations.flow_valid=false"])
    assert "flow_valid" not in synthdata.open_dataset(tmp_path / "off").table("frames").column_names
    synthdata.generate("highway", clips=1, out=tmp_path / "noflow", compute=SYNC2, progress=False,
                       overrides=[*TINY, "annotations.flow=false"])  # no flow, no validity of it
    assert "flow_valid" not in synthdata.open_dataset(tmp_path / "noflow").table("frames").column_names
