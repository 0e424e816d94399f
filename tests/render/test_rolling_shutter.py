"""Rolling shutter (``backend.rolling_shutter``): rows read out top to bottom, rendered band by band;
every label at the rows' (band-quantised) instants — the instance map agrees with RGB, tracks and
keypoints sit where their row saw them, flow runs between the same row's instants of consecutive frames.
Off by default and bit-identical when off."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import synthdata
from synthdata.annotate.visibility import project, to_camera
from synthdata.errors import RecipeError
from synthdata.motion.shift import shifted
from synthdata.render import make_backend
from synthdata.render.raycast.rolling import band_rows, row_times
from synthdata.scene.skeletons import SKELETONS

from ..conftest import STAGE, assert_visible_tracks_on_their_owner, TINY, make_tiny_clip, spec_from_yaml, tiny_spec

RS = ("backend.rolling_shutter=0.8",)
TRACKS = ("annotations.tracks.enabled=true", "annotations.tracks.points=600", "annotations.tracks.query_stride=2")


@pytest.fixture(scope="module")
def clips():
    """Rolling-shutter highway and pedestrians (swinging limbs) clips, 96×64, 5 frames, tracks on."""
    return {r: make_tiny_clip(tiny_spec(r, "clip.width=96", "clip.height=64", "clip.frames=5", *TRACKS, *RS), seed=1)
            for r in ("highway", "pedestrians")}


def test_off_by_default_and_bit_identical_when_off():
    base = tiny_spec("highway", "clip.width=64", "clip.height=48", "clip.frames=3")
    off = tiny_spec("highway", "clip.width=64", "clip.height=48", "clip.frames=3", "backend.rolling_shutter=0")
    assert "rolling_shutter" not in base.backend.settings and off.content_hash() == base.content_hash()
    a = make_tiny_clip(base, seed=2)
    b = make_backend(off.backend, "cpu").render(a.scene, a.traj)
    assert b.row_time is None and a.frames.row_time is None
    for k in ("rgb", "instance", "depth", "flow_fwd", "flow_bwd", "surface", "normals", "amodal"):
        assert torch.equal(getattr(a.frames, k).nan_to_num(), getattr(b, k).nan_to_num()), k


def test_row_times_and_bands():
    assert band_rows(48, None) == [(i, i + 8) for i in range(0, 48, 8)]
    assert band_rows(10, 3) == [(0, 3), (3, 7), (7, 10)]
    t = row_times(64, 0.5, None)
    exact = ((np.arange(64) + 0.5) / 64 - 0.5) * 0.5  # row r at ((r + 0.5)/H − 0.5)·rs
    assert np.abs(t - exact).max() <= 4 / 64 * 0.5 and abs(t.mean()) < 1e-12 and (np.diff(t) >= 0).all()
    np.testing.assert_allclose(row_times(64, 0.5, 64), exact)  # one band per row: the exact row times


def test_a_fast_pole_leans_by_speed_times_readout_and_labels_agree(tmp_path):
    spec = spec_from_yaml(tmp_path, STAGE + """
objects:
  - {class_name: pole, primitive: box, size: [0.3, 0.3, 7], placement: {mode: free, x: -2, y: 0, z: 1},
     motion: {name: constant_velocity, params: {vx: 20}}}
""", "clip.width=96", "clip.height=96", "clip.frames=2", "backend.rolling_shutter=1", "backend.rolling_bands=96",
        "backend.supersample=1")  # one ray per pixel: RGB edges not blended by anti-aliasing
    c = make_tiny_clip(spec)
    still = make_backend(tiny_spec("shapes").backend, "cpu").render(c.scene, c.traj)  # global shutter
    centre = to_camera(np.zeros((1, 3)), np.ones(1, np.int64), c.traj.object_poses, c.traj.camera_poses)
    u, _, _ = project(centre, c.traj.K)
    speed = float(u[1, 0] - u[0, 0])  # px per frame
    inst = c.frames.instance[0].numpy()
    rows = np.flatnonzero((inst == 1).any(1))
    mid = np.array([np.flatnonzero(inst[r] == 1).mean() for r in rows])
    slope = np.polyfit(rows, mid, 1)[0]  # px of lean per row
    assert abs(speed) > 8 and len(rows) > 30
    np.testing.assert_allclose(slope, speed * 1.0 / 96, rtol=0.1)  # rows 1/H frame apart
    rows0 = np.flatnonzero((still.instance[0].numpy() == 1).any(1))
    mid0 = np.array([np.flatnonzero(still.instance[0].numpy()[r] == 1).mean() for r in rows0])
    assert abs(np.polyfit(rows0, mid0, 1)[0]) < 0.01  # upright with a global shutter
    # RGB, instance and depth come from the same rays: the pole's pixels are its colour, not the void's
    rgb = c.frames.rgb[0].numpy().astype(int)
    assert rgb[inst == 1].sum(-1).min() > rgb[inst == 0].sum(-1).max()
    assert np.isfinite(c.frames.depth[0].numpy()[inst == 1]).all() and np.isinf(c.frames.depth[0].numpy()[inst == 0]).all()
    amodal = c.frames.amodal[0, 0].numpy()
    assert (amodal == (inst == 1)).all()


@pytest.mark.parametrize("recipe", ["highway", "pedestrians"])
def test_visible_track_points_lie_on_their_owner(clips, recipe):
    assert_visible_tracks_on_their_owner(clips[recipe])


def test_flow_runs_between_the_same_rows_instants(clips):
    """Flow at pixel (r, c) of frame k: the surface point seen there (at row r's instant of frame k) moved
    to row r's instant of frame k + 1, projected."""
    c = clips["highway"]
    inst, surf = c.frames.instance.numpy(), c.frames.surface.numpy().astype(np.float64)
    flow, rt = c.frames.flow_fwd.numpy(), c.frames.row_time.numpy()
    checked = 0
    for d in np.unique(rt):
        tr = shifted(c.traj, float(d))
        rows = np.flatnonzero(rt == d)
        for t in range(c.traj.num_frames - 1):
            ys, xs = np.nonzero(np.isfinite(c.frames.depth.numpy()[t]))
            sel = np.isin(ys, rows) & (inst[t, ys, xs] == 0)  # the static ground: moved by the camera only
            ys, xs = ys[sel], xs[sel]
            cam = to_camera(surf[t, ys, xs], np.zeros(len(ys), np.int64), tr.object_poses[t + 1:t + 2],
                            tr.camera_poses[t + 1:t + 2])[0]
            u, v, _ = project(cam, c.traj.K)
            np.testing.assert_allclose(flow[t, ys, xs, 0], u - xs - 0.5, atol=0.02)
            np.testing.assert_allclose(flow[t, ys, xs, 1], v - ys - 0.5, atol=0.02)
            checked += len(ys)
    assert checked > 5000
    plain = c.traj  # the global-shutter flow differs: the camera moved in between
    ys, xs = np.nonzero(np.isfinite(c.frames.depth.numpy()[0]) & (inst[0] == 0) & (np.arange(64)[:, None] >= 56))
    cam = to_camera(surf[0, ys, xs], np.zeros(len(ys), np.int64), plain.object_poses[1:2], plain.camera_poses[1:2])[0]
    _, v, _ = project(cam, c.traj.K)
    assert len(ys) > 50 and np.abs(flow[0, ys, xs, 1] - (v - ys - 0.5)).max() > 0.05


def test_track_steps_equal_flow_while_the_point_stays_in_its_band(clips):
    c = clips["highway"]
    tr, T = c.labels.labels["tracks"], c.traj.num_frames
    rt = c.frames.row_time.numpy()
    P = len(tr["x"]) // T
    x, y, vis = tr["x"].reshape(P, T), tr["y"].reshape(P, T), tr["visible"].reshape(P, T)
    q = tr["query_frame"].reshape(P, T)[:, 0]
    flow = c.frames.flow_fwd.numpy()
    i = np.flatnonzero(q + 1 < T)
    t = q[i]
    r0 = np.floor(y[i, t]).astype(int)
    r1 = np.clip(np.floor(np.nan_to_num(y[i, t + 1], nan=-1)).astype(int), 0, len(rt) - 1)
    ok = vis[i, t + 1] & (rt[r0] == rt[r1])
    f = flow[t, r0, np.floor(x[i, t]).astype(int)]
    d = np.stack([x[i, t + 1] - x[i, t], y[i, t + 1] - y[i, t]], 1)
    assert ok.sum() > 100 and np.abs(d[ok] - f[ok]).max() < 0.01


def test_box_keypoints_are_seen_at_their_rows_instant(clips):
    """Each corner keypoint of a box is the projection of the box corner at the instant of the row it
    lies on (the fixed point a rolling shutter sees), and differs from the global-shutter projection."""
    c = clips["highway"]
    kp, rt = c.labels.labels["keypoints"], c.frames.row_time.numpy()
    N, T, H = len(c.scene.objects), c.traj.num_frames, len(rt)
    checked, moved = 0, 0.0
    for r in range(T * N):
        t, i = divmod(r, N)
        if c.scene.objects.primitive[i] != "box":
            continue
        pts = SKELETONS.get("box").points * c.scene.objects.half_size[i]
        ok = (kp[r, :8, 2] > 0) & (kp[r, :8, 1] >= 0) & (kp[r, :8, 1] < H)
        for k in np.flatnonzero(ok):
            tr = shifted(c.traj, float(rt[int(kp[r, k, 1])]))
            cam = to_camera(pts[k:k + 1], np.array([i + 1]), tr.object_poses[t:t + 1], tr.camera_poses[t:t + 1])[0]
            u, v, _ = project(cam, c.traj.K)
            np.testing.assert_allclose(kp[r, k, :2], [u[0], v[0]], atol=2e-3)
            g = to_camera(pts[k:k + 1], np.array([i + 1]), c.traj.object_poses[t:t + 1], c.traj.camera_poses[t:t + 1])[0]
            ug, vg, _ = project(g, c.traj.K)
            moved = max(moved, float(np.hypot(ug[0] - u[0], vg[0] - v[0])))
            checked += 1
    assert checked > 40 and moved > 0.5


def test_lane_lines_are_seen_at_their_rows_instant():
    spec = tiny_spec("highway", "clip.width=96", "clip.height=64", "clip.frames=3", "annotations.lane_lines=true", *RS)
    c = make_tiny_clip(spec, seed=1)
    rt = c.frames.row_time.numpy()
    lines, checked = c.labels.labels["lane_lines"], 0
    for t, frame in enumerate(lines):
        for line in frame:
            for (u, v), w in zip(line["points"], line["world"]):
                tr = shifted(c.traj, float(rt[int(v)]))
                cam = to_camera(np.array([w], np.float64), np.zeros(1, np.int64), tr.object_poses[t:t + 1],
                                tr.camera_poses[t:t + 1])[0]
                pu, pv, _ = project(cam, c.traj.K)
                np.testing.assert_allclose([u, v], [pu[0], pv[0]], atol=0.05)  # float32 world points
                checked += 1
    assert checked > 100


def test_same_recipe_same_bytes():
    spec = tiny_spec("highway", "clip.width=64", "clip.height=48", "clip.frames=3", *RS, *TRACKS)
    a, b = make_tiny_clip(spec, seed=4), make_tiny_clip(spec, seed=4)
    for k in ("rgb", "instance", "depth", "flow_fwd", "surface", "row_time"):
        assert torch.equal(getattr(a.frames, k).nan_to_num(), getattr(b.frames, k).nan_to_num()), k
    for k, v in a.labels.labels["tracks"].items():
        np.testing.assert_array_equal(v, b.labels.labels["tracks"][k])


@pytest.mark.parametrize("value, message", [
    ("-0.1", "backend.rolling_shutter: Input should be greater than or equal to 0"),
    ("1.5", "backend.rolling_shutter: Input should be less than or equal to 1"),
])
def test_bad_values_name_the_field(value, message):
    with pytest.raises(RecipeError) as info:
        synthdata.load_recipe("shapes", [*TINY, f"backend.rolling_shutter={value}"])
    lines = info.value.lines()
    assert len(lines) == 1 and lines[0].startswith(message), lines


def test_a_window_shifts_as_the_whole_clip():
    """Labels of a clip made in windows interpolate a window's poses: its padding frames must blend with
    their true neighbours, and swinging parts keep the distance covered since the clip's start
    (pedestrians' legs), or the window's keypoints move off the whole clip's."""
    from synthdata.motion.parts import part_poses

    c = make_tiny_clip(tiny_spec("pedestrians", "clip.frames=9"))
    for delta in (-0.4, 0.3):
        whole = shifted(c.traj, delta)
        part = shifted(c.traj.window(3, 7), delta)
        assert np.array_equal(part.object_poses_padded, whole.object_poses_padded[3:9])
        assert np.array_equal(part.camera_poses_padded, whole.camera_poses_padded[3:9])
        assert np.array_equal(part_poses(c.scene, part).offset, part_poses(c.scene, whole).offset[3:9])
