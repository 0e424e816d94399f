"""Flow validity: a valid vector is a true correspondence; vectors that leave the image, go behind the
camera or land on another surface are not."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import synthdata
from synthdata.annotate.flow_valid import TOLERANCE_PX, flow_validity

from ..conftest import SYNC2, TINY, make_tiny_clip, tiny_spec


def test_hand_made_cases():
    T, H, W = 2, 4, 4
    inst = np.ones((T, H, W), dtype=np.int32)
    fwd = np.zeros((T, H, W, 2), np.float32)
    bwd = np.zeros((T, H, W, 2), np.float32)
    fwd[0, ..., 0] = 1.0  # everything moves one pixel right…
    bwd[1, ..., 0] = -1.0  # …and comes back
    fwd[0, 0, 0] = np.nan  # behind the camera
    bwd[1, 2, 2, 0] = 0.4  # an inconsistent return at the pixel (2,1) lands on
    inst[1, 1, 2] = 2  # another surface where (1,1) lands
    v = flow_validity(torch.from_numpy(fwd), torch.from_numpy(bwd), torch.from_numpy(inst)).numpy()
    fwd_ok = (v[0] & 1).astype(bool)
    assert not fwd_ok[0, 0]  # NaN
    assert not fwd_ok[:, 3].any()  # lands outside the image
    assert not fwd_ok[2, 1]  # return flow off by 1.4 px > tolerance
    assert not fwd_ok[1, 1]  # lands on another surface (it is occluded there)
    assert fwd_ok[3, 0] and fwd_ok[1, 0] and TOLERANCE_PX == 0.5


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
