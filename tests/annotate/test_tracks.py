"""Point tracks: exact by construction, checked against the renderer's independent outputs (flow at pixel
centres, the instance and depth maps) on ≥10,000 tracks over the three shipped recipes."""

from __future__ import annotations

import numpy as np
import pytest

from synthdata.annotate.tracks import _allocate, sample_queries
from synthdata.errors import RecipeError

from ..conftest import make_tiny_clip, tiny_spec

RECIPES = ("shapes", "highway", "colonoscopy:plain", "pedestrians")  # pedestrians: tracks on swinging limbs
TRACKS = ("annotations.tracks.enabled=true", "annotations.tracks.points=1700", "annotations.tracks.query_stride=3")


@pytest.fixture(scope="module")
def clips():
    """Two 96×80, 6-frame clips per recipe with 1,700 tracks each: 10,200 tracks."""
    return [make_tiny_clip(tiny_spec(r, "clip.width=96", "clip.height=80", "clip.frames=6", *TRACKS), seed=s)
            for r in RECIPES for s in range(2)]


def _arrays(clip):
    tr = clip.labels.labels["tracks"]
    T = clip.traj.num_frames
    P = len(tr["point_id"]) // T
    return P, T, {k: v.reshape(P, T) for k, v in tr.items()}


def _bilinear(flow: np.ndarray, x: np.ndarray, y: np.ndarray):
    H, W = flow.shape[:2]
    u, v = x - 0.5, y - 0.5
    x0, y0 = np.floor(u).astype(int), np.floor(v).astype(int)
    ax, ay = (u - x0)[:, None], (v - y0)[:, None]
    xs, ys = (np.clip(x0, 0, W - 1), np.clip(x0 + 1, 0, W - 1)), (np.clip(y0, 0, H - 1), np.clip(y0 + 1, 0, H - 1))
    f = (flow[ys[0], xs[0]] * (1 - ax) * (1 - ay) + flow[ys[0], xs[1]] * ax * (1 - ay)
         + flow[ys[1], xs[0]] * (1 - ax) * ay + flow[ys[1], xs[1]] * ax * ay)
    return f, [(yy, xx) for yy in ys for xx in xs]


def test_there_are_ten_thousand_tracks_of_every_kind(clips):
    total = sum(_arrays(c)[0] for c in clips)
    assert total >= 10_000
    for c in clips:
        P, T, a = _arrays(c)
        assert P == 1700  # stratified allocation still hands out exactly the requested count
        assert a["foreground"][:, 0].any() and (~a["foreground"][:, 0]).any()
        assert set(np.unique(a["query_frame"])) == {0, 3}
        assert (a["point_id"][:, 0] == np.arange(P)).all() and (a["frame_index"] == np.arange(T)).all()


def test_query_points_are_visible_pixel_centres_on_their_owner(clips):
    for c in clips:
        P, T, a = _arrays(c)
        q = a["query_frame"][:, 0]
        x, y = a["x"][np.arange(P), q], a["y"][np.arange(P), q]
        np.testing.assert_allclose(x, np.floor(x) + 0.5, atol=1e-3)
        np.testing.assert_allclose(y, np.floor(y) + 0.5, atol=1e-3)
        assert a["visible"][np.arange(P), q].all()
        inst = c.frames.instance.numpy()[q, np.floor(y).astype(int), np.floor(x).astype(int)]
        assert (inst == a["track_id"][:, 0] + 1).all()


def test_each_step_equals_the_renderers_flow(clips):
    """From a query pixel centre, the track's next and previous positions, where visible, are where the
    renderer's flow (computed separately, per pixel, in float32) sends that pixel: < 0.01 px (measured:
    < 1e-4 px). Steps to a point out of view are left out: a point grazing the camera plane moves
    10,000 px, where float32 flow is good to 1e-5 relative, not to 0.01 px."""
    worst, n = 0.0, 0
    for c in clips:
        P, T, a = _arrays(c)
        q = a["query_frame"][:, 0]
        for step, flow in ((1, c.frames.flow_fwd.numpy()), (-1, c.frames.flow_bwd.numpy())):
            i = np.flatnonzero((q + step >= 0) & (q + step < T))
            t = q[i]
            f = flow[t, np.floor(a["y"][i, t]).astype(int), np.floor(a["x"][i, t]).astype(int)]
            d = np.stack([a["x"][i, t + step] - a["x"][i, t], a["y"][i, t + step] - a["y"][i, t]], 1)
            ok = np.isfinite(f).all(1) & np.isfinite(d).all(1) & a["visible"][i, t + step]  # a visible step
            worst, n = max(worst, float(np.abs(d[ok] - f[ok]).max())), n + int(ok.sum())
    assert n > 10_000 and worst < 0.01, worst


def test_sub_pixel_positions_follow_interpolated_flow(clips):
    """Between pixel centres, flow bilinearly interpolated within one surface predicts every visible
    step; interpolation itself errs where flow curves, so the bound is on the median and the 99th %."""
    errs = []
    for c in clips:
        P, T, a = _arrays(c)
        inst, flow = c.frames.instance.numpy(), c.frames.flow_fwd.numpy()
        for t in range(T - 1):
            m = a["visible"][:, t] & a["visible"][:, t + 1]
            f, corners = _bilinear(flow[t], a["x"][m, t], a["y"][m, t])
            owner = a["track_id"][m, 0] + 1
            one_surface = np.all([inst[t, yy, xx] == owner for yy, xx in corners], 0)
            d = np.stack([a["x"][m, t + 1] - a["x"][m, t], a["y"][m, t + 1] - a["y"][m, t]], 1)
            errs.append(np.abs(d - f).max(1)[one_surface])
    e = np.concatenate(errs)
    assert len(e) > 10_000 and np.median(e) < 0.005 and np.percentile(e, 99) < 0.02, (np.median(e), np.percentile(e, 99))


def test_visibility_agrees_with_the_instance_and_depth_maps(clips):
    """Visible → the pixel shows the point's owner (100%). Occluded in view → the pixel shows another
    surface, or the point's own object nearer (self-occlusion) or beyond the depth tolerance (a
    silhouette, where the pixel centre misses the point's surface); occluded_by names what is shown."""
    counts = {"visible": 0, "other": 0, "self": 0, "rim": 0}
    for c in clips:
        P, T, a = _arrays(c)
        inst, depth = c.frames.instance.numpy(), c.frames.depth.numpy()
        t = np.broadcast_to(np.arange(T), (P, T))
        owner = a["track_id"] + 1
        m = a["visible"]
        assert (a["in_view"] | ~m).all()
        px, py = np.floor(a["x"][m]).astype(int), np.floor(a["y"][m]).astype(int)
        assert (inst[t[m], py, px] == owner[m]).all()
        counts["visible"] += int(m.sum())
        o = a["in_view"] & ~a["visible"]
        px, py = np.floor(a["x"][o]).astype(int), np.floor(a["y"][o]).astype(int)
        shown, d = inst[t[o], py, px], depth[t[o], py, px]
        same = shown == owner[o]
        counts["other"] += int((~same).sum())
        counts["self"] += int((same & (d < a["depth"][o])).sum())
        counts["rim"] += int((same & (d > a["depth"][o])).sum())
        np.testing.assert_array_equal(a["occluded_by"][o], np.where(shown > 0, shown - 1, -1))
        assert (a["occluded_by"][~o] == -1).all()
        assert not (a["visible"] & ~a["in_view"]).any()
    assert counts["other"] > 100 and counts["visible"] > 40_000
    assert counts["rim"] < 0.01 * counts["visible"], counts


def test_same_seed_same_tracks_and_tracks_do_not_change_other_labels():
    spec = tiny_spec("shapes", "annotations.tracks=true")
    a, b = make_tiny_clip(spec, seed=5), make_tiny_clip(spec, seed=5)
    for k, v in a.labels.labels["tracks"].items():
        np.testing.assert_array_equal(v, b.labels.labels["tracks"][k])
    off = make_tiny_clip(tiny_spec("shapes"), seed=5)
    assert "tracks" not in off.labels.labels
    np.testing.assert_array_equal(off.labels.bbox_visible, a.labels.bbox_visible)
    assert (off.frames.rgb == a.frames.rgb).all()


def test_small_objects_get_their_floor_of_points():
    counts = np.array([10_000, 40, 3, 200])
    got = _allocate(counts, 256, 8)
    assert got.sum() == 256 and got[1] >= 8 and got[2] == 3 and got[0] > got[3] > got[1]
    inst = np.zeros((1, 50, 50), np.int32)
    inst[0, :2, :2] = 1  # a 4-pixel object
    depth = np.ones((1, 50, 50), np.float32)
    depth[0, 40:] = np.inf  # sky: never a query
    t, y, x = sample_queries(inst, depth, 32, 8, 8, np.random.default_rng(0))
    assert len(t) == 32 and (inst[0, y, x] == 1).sum() == 4 and (y < 40).all()


@pytest.mark.parametrize("override, field", [
    ("annotations.tracks.points=0", "annotations.tracks.points"),
    ("annotations.tracks.query_stride=0", "annotations.tracks.query_stride"),
    ("annotations.tracks.bogus=1", "annotations.tracks.bogus"),
])
def test_bad_tracks_settings_name_the_field(override, field):
    with pytest.raises(RecipeError) as err:
        tiny_spec("shapes", override)
    assert field in str(err.value)
