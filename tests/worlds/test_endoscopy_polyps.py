"""Polyps by Paris type (worlds/endoscopy/polyps.py), what ``occluded`` means in a lumen (the wall's
embedded part is not hidden: render/raycast/backend.py ``_amodal_hits``), ``embedded_fraction``, and
polyps that never fuse."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ..conftest import TUBE_POLYPS
import synthdata
from synthdata.annotate.compute import annotate
from synthdata.errors import RecipeError
from synthdata.motion.rollout import rollout
from synthdata.recipe.schema import RecipeSpec
from synthdata.render.backend import make_backend
from synthdata.run.check import check_recipe
from synthdata.scene.sample import build_shape, sample_scene
from synthdata.scene.shapes import ShapeContext
from synthdata.scene.volume import CONTAINS, object_points
from synthdata.recipe.schema import ShapeSpec

LUMEN = "+environment.lumen={bend_amplitude: 0.015, fold_height: 0.006, taenia_depth: 0.1}"
POLYP_MATERIAL = {"texture": "polyp", "color": [0.85, 0.45, 0.4], "color2": [0.55, 0.18, 0.2], "scale": 2000,
                  "specular": 0.9, "shininess": 80}


def polyp_group(paris="Is", size_mm=6.0, x=0.06, angle=90.0, count=1, **placement):
    params = {} if paris is None else {"paris": paris}
    if size_mm is not None:
        params["size_mm"] = size_mm
    return {"class_name": "polyp", "count": count, "shape": {"name": "polyp", "params": params},
            "material": POLYP_MATERIAL, "placement": {"mode": "wall", "x": x, "angle_deg": angle, "yaw_deg": 0.0, **placement}}


def spec_with(groups, *overrides, lumen=None, size=48, frames=2, annotations=()):
    """The colonoscopy recipe at metric scale (radius 3 cm), a static camera on the axis looking down
    it, and the given object groups."""
    ov = [f"clip.width={size}", f"clip.height={size}", f"clip.frames={frames}", "environment.tube_radius=0.03",
          "camera.position=[0.0,0.0,0.0]", "camera.look_at=[0.1,0.0,0.0]", "camera.fov_deg=80",
          "camera.motion.name=static", "camera.motion.params={}", "+backend.supersample=1", *overrides]
    if lumen:
        ov.append(lumen)
    d = synthdata.load_recipe(TUBE_POLYPS, ov).model_dump(mode="json")
    d["objects"] = groups
    for a in annotations:
        d["annotations"][a] = True
    return check_recipe(RecipeSpec.model_validate(d))


def render(spec, seed=0):
    rng = np.random.default_rng(seed)
    scene = sample_scene(spec, rng)
    traj = rollout(scene, spec.clip.frames, spec.clip.fps, rng)
    frames = make_backend(spec.backend, "cpu").render(scene, traj)
    return scene, traj, frames, annotate(frames, scene, traj, spec.annotations)


@pytest.mark.parametrize("lumen", [None, "+environment.lumen={bend_amplitude: 0.015, taenia_depth: 0.1}"],
                         ids=["straight", "bent"])
def test_a_polyp_half_in_the_wall_with_nothing_in_front_is_not_occluded(lumen):  # no folds: nothing in front
    spec = spec_with([polyp_group("Is", 9.0, x=0.05, angle=60.0)], lumen=lumen, size=64, annotations=("embedded_fraction",))
    scene, traj, frames, ann = render(spec)
    assert len(scene.objects) == 1
    assert (ann.amodal_pixels > 20).all()
    assert (ann.visible_fraction > 0.97).all()  # the rim's pixel centres aside: every amodal pixel is seen
    assert not ann.occluded.any()
    emb = ann.labels["embedded_fraction"]
    assert (emb > 0.4).all() and (emb < 0.9).all()  # it is sunk in the wall: the label says so instead
    amodal, inst = np.asarray(frames.amodal[:, 0]), np.asarray(frames.instance) == 1
    assert (inst <= amodal).all()  # visible ⊆ amodal


def test_a_polyp_behind_a_fold_is_occluded():
    lumen = "+environment.lumen={fold_height: 0.008, fold_spacing: 0.05, fold_jitter: 0.0}"
    probe = spec_with([polyp_group("Is", 5.0, x=0.05)], lumen=lumen)
    folds = sample_scene(probe, np.random.default_rng(0)).environment.lumen
    x_fold = folds.fold_phase + folds.fold_spacing  # the fold 3–8 cm ahead
    spec = spec_with([polyp_group("Is", 5.0, x=x_fold + 0.006)], lumen=lumen)
    scene, traj, frames, ann = render(spec)
    assert scene.environment.lumen.fold_phase == folds.fold_phase  # same lumen, the polyp moved
    assert (ann.amodal_pixels > 0).all()  # it is in the lumen's free space, in view
    assert ann.occluded.all() and (ann.visible_fraction < 0.5).all()  # the fold hides it


def test_a_polyp_behind_another_object_is_occluded():
    blocker = {"class_name": "blocker", "primitive": "sphere", "size": [0.008, 0.008, 0.008],
               "placement": {"mode": "free", "x": 0.04, "y": 0.0, "z": 0.0185}}
    spec = spec_with([polyp_group("Is", 5.0, x=0.06, angle=90.0), blocker])
    scene, traj, frames, ann = render(spec)
    polyp = ann.track_id == 0
    assert (ann.amodal_pixels[polyp] > 0).all()
    assert ann.occluded[polyp].all() and (ann.visible_fraction[polyp] < 0.3).all()


def test_old_ellipsoid_polyps_count_their_embedded_half_in_the_label_not_as_occlusion():
    old = {"class_name": "polyp", "primitive": "ellipsoid", "size": [0.004, 0.004, 0.004],
           "placement": {"mode": "wall", "x": 0.05, "angle_deg": 60.0}}
    spec = spec_with([old], annotations=("embedded_fraction",))
    scene, traj, frames, ann = render(spec)
    assert not ann.occluded.any()
    emb = ann.labels["embedded_fraction"]
    assert np.allclose(emb, emb[0]) and 0.5 <= emb[0] < 0.56  # centred on a concave wall: just over half


def test_embedded_fraction_is_zero_on_the_ground():
    spec = synthdata.load_recipe("shapes", ["clip.width=32", "clip.height=32", "clip.frames=2",
                                            "+annotations.embedded_fraction=true"])
    scene, traj, frames, ann = render(spec)
    assert (ann.labels["embedded_fraction"] == 0).all()


def _shape(paris, seed, size_mm=None, radius=0.03):
    params = {} if paris is None else {"paris": paris}
    if size_mm is not None:
        params["size_mm"] = size_mm
    return build_shape(ShapeSpec(name="polyp", params=params), np.random.default_rng(seed), ShapeContext(radius))


def test_paris_types_have_their_form():
    for seed in range(20):
        ip, is_, iia, iib, iic = (_shape(p, seed) for p in ("Ip", "Is", "IIa", "IIb", "IIc"))
        assert [q.primitive for q in ip.parts] == ["cylinder", "ellipsoid"]  # a head on a stalk
        stalk, head = ip.parts
        assert head.center[2] > stalk.center[2] and head.half_size.max() > stalk.half_size[:2].max()
        assert is_.half_size[2] + is_.lift >= 2.5e-3  # protruding: at least 2.5 mm (Paris: else it is IIa)
        top = iia.half_size[2] + iia.lift  # above the wall's tangent plane
        sag = (iia.half_size[1] ** 2) / (2 * 0.03)
        assert top < 2.5e-3 + sag  # flat elevated: lower than 2.5 mm
        assert iib.half_size[2] + iib.lift < 0.2e-3 + (iib.half_size[:2].max() ** 2) / (2 * 0.03)  # flush
        outer, inner = iic.parts  # the darker, redder centre of a depressed lesion
        assert inner.tone[0] < 1 and inner.tone[1] < inner.tone[0]
        assert inner.half_size[0] < outer.half_size[0]
        for s, p in zip((ip, is_, iia, iib, iic), ("Ip", "Is", "IIa", "IIb", "IIc")):
            assert s.attributes["paris_class"] == p and 2.0 <= s.attributes["size_mm"] <= 30.0


def test_a_sessile_polyp_is_taller_than_a_flat_one_at_every_size():
    """Paris draws the line between 0-Is and 0-IIa at 2.5 mm of height: a diminutive polyp labelled Is
    must rise that high, whether its size was drawn or given."""
    drawn = [_shape("Is", seed) for seed in range(300)]
    assert min(s.attributes["size_mm"] for s in drawn) >= 3.2  # drawn sizes start where a dome can
    for s in drawn + [_shape("Is", seed, size_mm=2.0) for seed in range(20)]:
        assert s.half_size[2] + s.lift >= 2.5e-3, s.attributes
    for s in (_shape("IIa", seed, size_mm=2.0) for seed in range(20)):
        assert s.half_size[2] + s.lift < 2.5e-3


def test_sizes_follow_screening_frequencies():
    sizes = np.array([_shape(None, seed).attributes["size_mm"] for seed in range(600)])
    types = [_shape(None, seed).attributes["paris_class"] for seed in range(600)]
    assert 0.5 < (sizes <= 5).mean() < 0.8  # diminutive are the common case
    assert 0.1 < ((sizes > 5) & (sizes < 10)).mean() < 0.35
    assert 0.03 < (sizes >= 10).mean() < 0.2  # large ones are rare
    assert set(types) == {"Ip", "Is", "IIa", "IIb", "IIc"} and types.count("Is") > types.count("IIc")
    assert _shape("Is", 3, size_mm=8.0).attributes["size_mm"] == 8.0  # the recipe may fix it


def test_labels_paris_class_and_size_mm_per_object_row():
    spec = spec_with([polyp_group(None, None, x={"uniform": [0.03, 0.1]}, angle={"uniform": [0, 360]}, count=3,
                                  gap=0.001),
                      {"class_name": "blocker", "primitive": "sphere", "size": [0.004, 0.004, 0.004],
                       "placement": {"mode": "free", "x": 0.08, "y": 0.0, "z": 0.0}}],
                     size=32, annotations=("paris_class", "size_mm"))
    scene, traj, frames, ann = render(spec)
    n = len(scene.objects)
    paris, size = ann.labels["paris_class"].reshape(2, n), ann.labels["size_mm"].reshape(2, n)
    for i, attrs in enumerate(scene.objects.attributes):
        if scene.class_names[scene.objects.class_id[i] - 1] == "polyp":
            assert (paris[:, i] == attrs["paris_class"]).all() and (size[:, i] == attrs["size_mm"]).all()
        else:
            assert attrs == {} and paris[0, i] is None and size[0, i] is None


def _world_points(scene, traj, i):
    p = object_points(scene.objects, i, 1024)
    P = traj.object_poses[0, i]
    return p @ P[:3, :3].T + P[:3, 3]


def _inside(scene, traj, i, world):
    """Whether world points lie in object i's volume (its parts at rest)."""
    P = traj.object_poses[0, i]
    local = (world - P[:3, 3]) @ P[:3, :3]
    objs = scene.objects
    parts = objs.parts[i] if objs.parts else ()
    if not parts:
        return CONTAINS[objs.primitive[i]](local / objs.half_size[i])
    out = np.zeros(len(world), dtype=bool)
    for q in parts:
        u = (local - q.offset[:3, 3]) @ q.offset[:3, :3] / q.half_size
        out |= CONTAINS[q.primitive](u)
    return out


def test_polyps_never_fuse_over_200_crowded_clips():
    spec = spec_with([polyp_group(None, None, x={"uniform": [0.02, 0.06]}, angle={"uniform": [0, 360]},
                                  count={"randint": [3, 7]}, gap=0.0005)], lumen=LUMEN)
    pairs = placed = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        scene = sample_scene(spec, rng)
        traj = rollout(scene, 1, spec.clip.fps, rng)
        n = len(scene.objects)
        placed += n
        pts = [_world_points(scene, traj, i) for i in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                pairs += int(_inside(scene, traj, j, pts[i]).any() or _inside(scene, traj, i, pts[j]).any())
    assert pairs == 0
    assert placed > 200 * 3  # crowded: several polyps per clip were placed


def test_shape_recipe_errors_name_the_field():
    with pytest.raises(Exception, match="size: set by shape 'polyp'"):
        spec_with([{**polyp_group(), "size": [0.01, 0.01, 0.01]}])
    with pytest.raises(RecipeError, match="objects.0.shape.name"):
        spec_with([{**polyp_group(), "shape": {"name": "polpy"}}])
    with pytest.raises(RecipeError, match="objects.0.shape.params.paris"):
        spec_with([{**polyp_group(), "shape": {"name": "polyp", "params": {"paris": {"choice": ["Is", "III"]}}}}])
    with pytest.raises(RecipeError, match="objects.0.shape.params.size"):
        spec_with([{**polyp_group(), "shape": {"name": "polyp", "params": {"size": 3}}}])


def test_same_seed_same_polyps():
    spec = spec_with([polyp_group(None, None, x={"uniform": [0.02, 0.1]}, angle={"uniform": [0, 360]}, count=4)])
    a, b = (sample_scene(spec, np.random.default_rng(7)) for _ in range(2))
    assert a.objects.attributes == b.objects.attributes
    np.testing.assert_array_equal(a.objects.pose0, b.objects.pose0)


def test_lifted_wall_pose_lands_on_the_normal_in_a_bent_lumen():
    from synthdata.recipe.schema import LumenSpec
    from synthdata.scene.lumen import sample_lumen, wall_pose

    lumen = sample_lumen(LumenSpec(bend_amplitude=0.02, fold_height=0.004, taenia_depth=0.1), 0.03,
                         np.random.default_rng(3))
    for x, a, yaw in ((0.05, 1.0, 0.3), (0.11, 4.0, 2.0), (0.2, 2.5, -1.0)):
        on = lumen.warp(wall_pose(lumen, x, a, yaw)[None])[0]
        up = lumen.warp(wall_pose(lumen, x, a, yaw, 0.004)[None])[0]
        np.testing.assert_allclose(up[:3, 3], on[:3, 3] + 0.004 * on[:3, 2], atol=1e-12)  # 4 mm along the normal
        np.testing.assert_allclose(up[:3, :3], on[:3, :3], atol=1e-12)  # same orientation


def _hanging(scene, traj, i) -> tuple[float, float]:
    """(fraction of the footprint whose underside lies over the lumen by > 0.3 mm, the height of the
    polyp's top above the wall, mm), on a dense grid of the object's own parts (not the placement's code)."""
    from synthdata.scene.volume import object_volume_grid

    lum, P = scene.environment.lumen, traj.object_poses[0][i]
    inside, low = object_volume_grid(scene.objects, i)
    gap = -lum.field(low @ P[:3, :3].T + P[:3, 3]) * 1e3  # > 0: over free lumen
    top = -lum.field(inside @ P[:3, :3].T + P[:3, 3]).min() * 1e3
    return float((gap > 0.3).mean()), float(top)


def test_seated_lesions_never_hang_over_the_lumen():
    """Found by an endoscopy review: flat lesions laid across a fold's crest or a taenia bridged the dips
    beside them, and every large IIb/IIc was lifted off a straight wall by the sag (a 20 mm IIc 0.37 mm
    thick hovered up to 8 mm over 33% of its footprint; IIb stood up to 6.1 mm proud). Placement is now
    drawn again when a seated lesion would hang, and a dome's lift keeps its centre in the wall."""
    spec = check_recipe(synthdata.load_recipe("polyp_detection", ["clip.frames=2", "clip.width=32", "clip.height=32"]))
    from synthdata.run.pipeline import layout_clip
    from synthdata.run.timing import StageTimer

    seen: dict[str, list[tuple[float, float]]] = {}
    for ci in range(30):
        lay = layout_clip(spec, ci, StageTimer())
        for i, a in enumerate(lay.scene.objects.attributes or []):
            if a and a.get("paris_class") not in (None, "Ip"):
                seen.setdefault(a["paris_class"], []).append(_hanging(lay.scene, lay.traj, i))
    assert sum(map(len, seen.values())) > 30
    assert max(h for v in seen.values() for h, _ in v) <= 0.05
    assert max(t for p in ("IIb", "IIc") for _, t in seen.get(p, [])) < 1.0  # flat: level with the mucosa
    big = spec_with([polyp_group("IIb", 20.0, angle=90.0), polyp_group("IIc", 20.0, angle=270.0)],
                    lumen="+environment.lumen={fold_height: 0.0, taenia_depth: 0.0, bend_amplitude: 0.0}")
    rng = np.random.default_rng(0)
    scene = sample_scene(big, rng)
    traj = rollout(scene, big.clip.frames, big.clip.fps, rng)
    assert len(scene.objects) == 2
    for i in range(2):  # a plain cylinder: nothing to bridge, the sag lift alone floated them
        assert _hanging(scene, traj, i)[0] <= 0.05
