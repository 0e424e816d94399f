import numpy as np
import pytest
import torch


from synthdata.render import make_backend
from synthdata.render.raycast import PRIMITIVES, RaycastBackend, RaycastSettings

from ..conftest import STAGE, make_tiny_clip, spec_from_yaml, tiny_spec, TUBE_POLYPS


def test_sphere_depth_is_exact(tmp_path):
    """A sphere of radius 1 centred 10 m in front of the camera: z-depth 9 at the image centre."""
    spec = spec_from_yaml(tmp_path, STAGE + """
objects:
  - {class_name: ball, primitive: sphere, size: [2, 2, 2], placement: {mode: free, x: 0, y: 0, z: 1}}
""", "clip.width=64", "clip.height=64")
    clip = make_tiny_clip(spec)
    d = clip.frames.depth[0]
    f = clip.traj.K[0, 0]
    # pixel (31, 31)'s centre is half a pixel off-axis in x and y: solve |t·ray − c|² = 1 exactly
    ray = np.array([-0.5 / f, -0.5 / f, 1.0])
    c = np.array([0.0, 0.0, 10.0])
    a, b, cc = ray @ ray, ray @ c, c @ c - 1
    t = (b - np.sqrt(b * b - a * cc)) / a
    assert abs(float(d[31, 31]) - t) < 1e-4 and abs(t - 9.0) < 0.01
    assert torch.isinf(d[0, 0])  # void background
    # the silhouette radius in pixels is f * r / sqrt(d^2 - r^2)
    expected_area = np.pi * (f * 1 / np.sqrt(100 - 1)) ** 2
    assert abs(int((clip.frames.instance[0] == 1).sum()) - expected_area) < 0.05 * expected_area
    # the normal is (hit − centre) / r; camera axes (x right, y down, z fwd) → world (x, z, −y)
    n_cam = t * ray - c
    n_world = torch.tensor([n_cam[0], n_cam[2], -n_cam[1]], dtype=torch.float32)
    assert torch.allclose(clip.frames.normals[0, 31, 31], n_world, atol=1e-4)


@pytest.mark.parametrize("name", PRIMITIVES.names())
def test_primitive_hit_from_outside_and_normals_are_unit_axis_at_poles(name):
    o = torch.tensor([[0.0, 0.0, 5.0]])
    d = torch.tensor([[0.0, 0.0, -1.0]])
    t = PRIMITIVES.get(name).intersect(o, d)
    assert torch.allclose(t, torch.tensor([4.0]), atol=1e-5)  # every unit primitive has its top at z = 1
    miss = PRIMITIVES.get(name).intersect(torch.tensor([[3.0, 3.0, 5.0]]), d)
    assert torch.isinf(miss).all()
    n = PRIMITIVES.get(name).normal(torch.tensor([[0.0, 0.0, 1.0]]))
    assert torch.allclose(n / n.norm(), torch.tensor([[0.0, 0.0, 1.0]]))


def _rectangles_as_first_written(be, st, ks, H, W):
    """The batch's pinhole screen rectangles as first written: one object at a time over all the frames."""
    x = be._box_corners(st, ks)
    z = x[..., 2]
    u, v = be._pinhole_uv(st, x, 1)
    boxes = np.empty((x.shape[1], 4), dtype=np.int64)
    for i in range(x.shape[1]):
        zi = z[:, i]
        if (zi <= 1e-6).all():
            boxes[i] = (0, 0, 0, 0)
        elif (zi <= 1e-3).any():
            boxes[i] = (0, 0, W, H)
        else:
            boxes[i] = (np.floor(u[:, i].min()) - 1, np.floor(v[:, i].min()) - 1,
                        np.ceil(u[:, i].max()) + 2, np.ceil(v[:, i].max()) + 2)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, W)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, H)
    return boxes


@pytest.mark.parametrize("recipe", ["highway", "shapes"])
def test_each_frames_own_rectangles_are_the_batch_rectangle_of_that_frame(recipe):
    """The per-frame rectangles (vectorised) and the batch's (their union) are what the batch rectangle's
    first, per-object formula gives for each frame and for the batch; each frame's lies within the
    batch's, and on a driving clip they are much smaller."""
    from synthdata.render.raycast.backend import _SceneTensors

    spec = tiny_spec(recipe, "clip.width=96", "clip.height=64", "clip.frames=8")
    clip = make_tiny_clip(spec, seed=1)
    be = make_backend(spec.backend, "cpu")
    st = _SceneTensors.build(clip.scene, clip.traj, torch.device("cpu"))
    ks = np.arange(1, 9)
    own, union = be._frame_boxes(st, ks, 64, 96), be._screen_boxes(st, ks, 64, 96, 1)
    for j in range(8):  # each frame's, as the batch rectangle was first computed (corner by corner, object by object)
        assert np.array_equal(own[j], _rectangles_as_first_written(be, st, ks[j:j + 1], 64, 96)), j
    assert np.array_equal(union, _rectangles_as_first_written(be, st, ks, 64, 96))
    inside = (own[..., 0] >= union[:, 0]) & (own[..., 1] >= union[:, 1]) & (own[..., 2] <= union[:, 2]) & (own[..., 3] <= union[:, 3])
    empty = (own[..., 2] <= own[..., 0]) | (own[..., 3] <= own[..., 1])
    assert (inside | empty).all()
    area = lambda b: (np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)).sum()
    if recipe == "highway":
        assert area(own) < 0.8 * 8 * area(union)


@pytest.mark.parametrize("recipe", ["highway", "shapes"])
def test_casting_each_frame_over_its_own_rectangle_changes_nothing(recipe, monkeypatch):
    """The dense object test casts an object frame by frame over each frame's own rectangle when that
    saves enough rays (a driving camera); always doing so, or never, gives the same bytes, amodal
    coverage included."""
    from synthdata.render.raycast import backend as bk

    spec = tiny_spec(recipe, "clip.width=64", "clip.height=48", "clip.frames=6")
    clip = make_tiny_clip(spec, seed=2)
    out = {}
    for name, save in (("always", -10**9), ("never", 10**12)):
        monkeypatch.setattr(bk, "OWN_SLABS_SAVE", save)
        out[name] = make_backend(spec.backend, "cpu").render(clip.scene, clip.traj)
    for name, value in vars(out["never"]).items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, getattr(out["always"], name)), name


@pytest.mark.parametrize("recipe", ["shapes", "highway", TUBE_POLYPS, "pedestrians"])
def test_culling_changes_nothing(recipe):
    """Screen-space and light-space culling are only a speed-up: outputs are bit-identical without."""
    spec = tiny_spec(recipe, "clip.width=48")
    clip = make_tiny_clip(spec, seed=2)
    brute = make_backend(spec.backend, "cpu")
    brute.cull = False
    full = brute.render(clip.scene, clip.traj)
    for name, value in vars(clip.frames).items():
        if value is None:  # optional maps (Frames.part) absent in both
            assert getattr(full, name) is None, name
            continue
        assert torch.equal(value.nan_to_num(), getattr(full, name).nan_to_num()), name


@pytest.mark.parametrize("recipe", ["shapes", "highway"])
def test_windowed_shadow_cull_changes_nothing(recipe, monkeypatch):
    """The sorted light-space windows (used from WINDOWED_SHADOWS primitives on) find the same shadows
    as testing every point against every primitive: forced on for any count, bit-identical RGB."""
    import synthdata.render.raycast.backend as rb

    spec = tiny_spec(recipe, "clip.width=48")
    clip = make_tiny_clip(spec, seed=3)
    monkeypatch.setattr(rb, "WINDOWED_SHADOWS", 1)
    windowed = make_backend(spec.backend, "cpu").render(clip.scene, clip.traj)
    brute = make_backend(spec.backend, "cpu")
    brute.cull = False
    full = brute.render(clip.scene, clip.traj)
    assert torch.equal(windowed.rgb, full.rgb)
    shadowed_any = make_backend(tiny_spec(recipe, "clip.width=48", "backend.shadows=false").backend, "cpu")
    assert not torch.equal(shadowed_any.render(clip.scene, clip.traj).rgb, full.rgb)  # shadows are in the frames


@pytest.mark.parametrize("recipe", ["shapes", "highway", TUBE_POLYPS])
def test_screen_boxes_contain_every_object_in_every_frame(recipe):
    """The culling rectangle is conservative: the brute-force (unculled) coverage of each object never
    falls outside it, over several clips and every frame (a bound that is even slightly too small —
    e.g. half the bounding radius — leaves covered pixels outside)."""
    from synthdata.render.raycast.backend import _SceneTensors

    spec = tiny_spec(recipe, "clip.width=64", "clip.height=48", "backend.shadows=false")  # camera rays only
    brute = make_backend(spec.backend, "cpu")
    brute.cull = False
    checked = 0
    for seed in range(4):
        clip = make_tiny_clip(spec, seed=seed)
        full = brute.render(clip.scene, clip.traj)
        st = _SceneTensors.build(clip.scene, clip.traj, torch.device("cpu"))
        for k in range(full.num_frames):
            boxes = brute._screen_boxes(st, np.array([k + 1]), 48, 64, 1)  # padded index k+1 is frame k
            owner = (st.part_owner[1:] - 1).tolist()  # a compound object's parts each have a box
            for i in range(full.amodal.shape[1]):
                cover = full.amodal[k, i].clone()
                checked += int(cover.sum())
                for (x0, y0, x1, y1), o in zip(boxes, owner):
                    if o == i:
                        cover[y0:y1, x0:x1] = False
                assert not cover.any(), (seed, k, i)
    assert checked > 500  # the clips really show objects


def test_supersampling_keeps_labels_at_pixel_centres():
    spec = tiny_spec("shapes", "clip.width=48")
    one = make_tiny_clip(spec, seed=2)
    ss = RaycastBackend(RaycastSettings(supersample=2), "cpu").render(one.scene, one.traj)
    assert torch.equal(ss.instance, one.frames.instance) and torch.equal(ss.depth, one.frames.depth)
    assert not torch.equal(ss.rgb, one.frames.rgb)  # edges are anti-aliased
    # same picture: the mean colour agrees closely (at 48×32 the checker floor aliases, so pixels differ)
    assert (ss.rgb.float().mean((0, 1, 2)) - one.frames.rgb.float().mean((0, 1, 2))).abs().max() < 6


def _track(frames, flow, k, k_to):
    """Follow every visible object pixel of frame k by ``flow`` into frame k_to; return the surface
    points at both ends (object frame) and the pixel footprint, for the pixels landing on the same object."""
    H, W = frames.instance.shape[1:]
    inst = frames.instance[k]
    ys, xs = torch.nonzero(inst > 0, as_tuple=True)
    f = flow[k, ys, xs]
    ok = torch.isfinite(f).all(1)
    tx = torch.round(xs + 0.5 + f[:, 0] - 0.5).long()
    ty = torch.round(ys + 0.5 + f[:, 1] - 0.5).long()
    ok &= (tx >= 0) & (tx < W) & (ty >= 0) & (ty < H)
    ys, xs, tx, ty = ys[ok], xs[ok], tx[ok], ty[ok]
    same = frames.instance[k_to, ty, tx] == inst[ys, xs]
    ys, xs, tx, ty = ys[same], xs[same], tx[same], ty[same]
    return frames.surface[k, ys, xs], frames.surface[k_to, ty, tx], frames.depth[k, ys, xs]


@pytest.mark.parametrize("direction", ["fwd", "bwd"])
def test_flow_moves_a_surface_point_onto_the_same_object_point(shapes_clip, direction):
    fr = shapes_clip.frames
    f = shapes_clip.traj.K[0, 0]
    flow = fr.flow_fwd if direction == "fwd" else fr.flow_bwd
    checked = 0
    for k in range(fr.num_frames - 1):
        a, b = (k, k + 1) if direction == "fwd" else (k + 1, k)
        p, q, z = _track(fr, flow, a, b)
        # rounding to the nearest pixel moves at most ~0.71 px; a pixel spans z/f metres at depth z
        err = (p - q).norm(dim=1)
        tol = 1.5 * z / f + 1e-3
        assert (err <= tol).float().mean() > 0.97, (k, err.max())
        checked += len(p)
    assert checked > 500
    # and flow is not trivially zero: objects and camera move in this recipe
    assert flow[torch.isfinite(flow)].abs().mean() > 0.05


def test_textured_pixel_keeps_its_colour_along_flow(shapes_clip):
    """The RGB at a pixel and at its flow target agree (shading changes slowly), far better than chance."""
    fr = shapes_clip.frames
    H, W = fr.size
    ys, xs = torch.nonzero(fr.instance[0] > 0, as_tuple=True)
    f = fr.flow_fwd[0, ys, xs]
    tx, ty = torch.round(xs + f[:, 0]).long(), torch.round(ys + f[:, 1]).long()
    ok = (tx >= 0) & (tx < W) & (ty >= 0) & (ty < H) & (fr.instance[1].clamp(min=0)[ty.clamp(0, H - 1), tx.clamp(0, W - 1)] == fr.instance[0, ys, xs])
    along = (fr.rgb[0, ys[ok], xs[ok]].float() - fr.rgb[1, ty[ok], tx[ok]].float()).abs().mean()
    shuffled = (fr.rgb[0, ys[ok], xs[ok]].float() - fr.rgb[1, ty[ok].flip(0), tx[ok].flip(0)].float()).abs().mean()
    assert along < 0.5 * shuffled


def test_static_scene_has_zero_flow(tmp_path):
    spec = spec_from_yaml(tmp_path, STAGE + """
objects:
  - {class_name: box, primitive: box, size: [2, 2, 2], placement: {mode: free, x: 0, y: 0, z: 1}}
""")
    fr = make_tiny_clip(spec).frames
    finite = torch.isfinite(fr.flow_fwd)
    assert finite.all() and fr.flow_fwd.abs().max() < 1e-3 and fr.flow_bwd.abs().max() < 1e-3


def test_shadows_darken_the_floor(tmp_path):
    stage = STAGE.replace("kind: void, sun: null", "kind: ground, sun: {elevation_deg: 90, intensity: 1.0}")
    stage = stage.replace("position: [0, -10, 1], look_at: [0, 0, 1]", "position: [0, -6, 6], look_at: [2, 0, 0]")
    body = """
objects:
  - {class_name: ball, primitive: sphere, size: [2, 2, 2], placement: {mode: free, x: 3, y: 0, z: 3}}
"""
    # one ray per pixel: per ray a shadow only darkens; adaptive AA re-traces where the shadow's edge is,
    # so a re-traced pixel (mean of the floor texture under 9 rays) may come out above the lit centre ray
    lit = make_tiny_clip(spec_from_yaml(tmp_path, stage + body, "backend.shadows=false", "backend.supersample=1"))
    shadowed = make_tiny_clip(spec_from_yaml(tmp_path, stage + body, "backend.shadows=true", "backend.supersample=1"))
    floor = lit.frames.instance == 0
    diff = (lit.frames.rgb.float() - shadowed.frames.rgb.float()).sum(-1)
    assert (diff[floor] > 0).sum() > 20  # a shadow under the sun-lit ball
    assert (diff >= 0).all()  # shadows only ever darken
