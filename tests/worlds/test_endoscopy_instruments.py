"""Endoscopic instruments (synthdata/worlds/endoscopy/instruments.py): forceps, snare and injection needle
ride the scope from its working channel (placement ``camera``, motion ``follow_camera``), with masks,
classes and tip/jaw/loop keypoints that hold under a fisheye lens and a moving camera. Tiny clips in a
3 cm-radius tube (metres throughout)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

import synthdata
from synthdata.errors import RecipeError
from synthdata.geometry import rot_x, rot_z
from synthdata.motion import rollout
from synthdata.motion.parts import part_motion, part_poses
from synthdata.motion.plausibility import violations
from synthdata.recipe.loading import parse_spec
from synthdata.run.check import check_recipe
from synthdata.scene import sample_scene
from synthdata.worlds.endoscopy.instruments import CHANNEL, INSTRUMENTS, Forceps, instrument_group, part_reach, wall_clearance

from ..conftest import SYNC2, make_tiny_clip, run_cli

KINDS = ("forceps", "snare", "injection_needle")
CAMERA_MOTIONS = {
    "endoscope": {"advance": 0.02, "roll_deg_per_second": 25.0, "wobble_deg": 4.0},
    "handheld": {"amplitude_deg": 3.0, "position_amplitude": 0.002},
    "static": {},
}


LUMEN = {"bend_amplitude": 0.012, "bend_wavelength": 0.2, "radius_variation": 0.1, "fold_height": 0.003}


def _data(groups, *, W=96, H=96, T=6, fps=6.0, motion="endoscope", lens="fisheye", lumen=None):
    return {
        "name": "instruments_test", "domain": "medical", "device": "cpu",
        "clip": {"frames": T, "fps": fps, "width": W, "height": H},
        "camera": {"fov_deg": 120.0 if lens == "fisheye" else 100.0, "position": [0.0, 0.0, 0.0], "look_at": [0.1, 0.0, 0.0],
                   "lens": {"model": lens}, "motion": {"name": motion, "params": CAMERA_MOTIONS[motion]}},
        "environment": {"kind": "tube", "tube_radius": 0.03, "sun": None, "ambient": 0.05,
                        "ground": {"texture": "tissue", "color": [0.86, 0.5, 0.45], "color2": [0.45, 0.08, 0.1],
                                   "scale": 60.0, "specular": 0.5, "shininess": 40},
                        "headlight": {"intensity": 3.0, "falloff": 2000.0}, **({"lumen": lumen} if lumen else {})},
        "objects": groups,
    }


def _spec(groups, **kw):
    return check_recipe(parse_spec(_data(groups, **kw)))


def _layout(spec, seed=0):
    rng = np.random.default_rng(seed)
    scene = sample_scene(spec, rng)
    return scene, rollout(scene, spec.clip.frames, spec.clip.fps, rng)


def _smooth(u):
    u = np.clip(u, 0, 1)
    return u * u * (3 - 2 * u)


# -- pose: the channel, plus the insertion ---------------------------------------------------------------
@pytest.mark.parametrize("motion, lumen", [(m, None) for m in CAMERA_MOTIONS] + [("endoscope", LUMEN)],
                         ids=[*CAMERA_MOTIONS, "endoscope-bent-lumen"])
@pytest.mark.parametrize("lens", ["fisheye", "pinhole"])
def test_pose_in_the_camera_frame_is_the_channel_pose_plus_the_insertion(motion, lumen, lens):
    """In every padded frame, the instrument's tip in the camera frame is the channel exit plus the
    insertion along the channel direction (written out here from the recipe's numbers: yaw left, pitch
    up, smoothstep out over ``extend`` then back over ``retract``), and its axes never turn relative
    to the camera — whatever the camera does."""
    ins, start, delay, extend, hold, retract = 0.02, 0.004, 0.1, 0.4, 0.2, 0.3
    g = instrument_group("forceps", insertion=ins, start=start, delay=delay, extend=extend, hold=hold, retract=retract)
    spec = _spec([g], motion=motion, lens=lens, T=12, lumen=lumen)
    scene, traj = _layout(spec, 3)
    rel = np.linalg.inv(traj.camera_poses_padded) @ traj.object_poses_padded[:, 0]  # (T',4,4) object → camera
    yaw, pitch = np.radians(CHANNEL["yaw_deg"]), np.radians(CHANNEL["pitch_deg"])
    direction = np.array([-np.sin(yaw) * np.cos(pitch), -np.sin(pitch), np.cos(yaw) * np.cos(pitch)])  # camera frame
    exit_ = np.array([CHANNEL["x"], CHANNEL["y"], CHANNEL["z"]])
    t = (np.arange(traj.num_frames + 2) - 1) / spec.clip.fps
    depth = start + (ins - start) * _smooth((t - delay) / extend) * (1 - _smooth((t - delay - extend - hold) / retract))
    half = scene.objects.half_size[0]
    tip = rel[:, :3, :3] @ np.array([half[0], 0, 0]) + rel[:, :3, 3]
    np.testing.assert_allclose(tip, exit_ + depth[:, None] * direction, atol=1e-9)
    np.testing.assert_allclose(rel[:, :3, 0], np.broadcast_to(direction, (len(t), 3)), atol=1e-9)
    np.testing.assert_allclose(rel[:, :3, :3], np.broadcast_to(rel[0, :3, :3], rel[:, :3, :3].shape), atol=1e-12)
    assert depth.max() > 0.019 and depth[-1] < 0.015  # it went out and came back in within the clip
    if motion != "static":  # the world pose did change: the rider really rode a moving camera
        assert np.ptp(traj.object_poses_padded[:, 0, :3, 3], axis=0).max() > 1e-3


def test_the_rider_is_part_of_the_rig_for_plausibility():
    """The camera is inside the instrument's box (its shaft runs back into the scope): exempt, as part of
    the rig; the same box on a static object would be flagged."""
    spec = _spec([instrument_group("snare")])
    scene, traj = _layout(spec)
    assert violations(scene, traj, margin=0.005).ok
    from dataclasses import replace

    still = replace(scene.objects, motion=[("static", {})])
    assert not violations(replace(scene, objects=still), traj, margin=0.005).ok


@pytest.mark.parametrize("where, kept", [((0.0, 0.0, 0.005), False), ((0.01, 0.0, 0.005), True)],
                         ids=["on-the-view-axis", "beside-the-lens"])
def test_a_rig_object_never_holds_the_camera_in_one_of_its_primitives(where, kept):
    """Found by a review: a ``camera`` placement is exempt from the camera test of its box (an
    instrument's shaft runs back into the scope, round the lens), but a plain box placed on the view
    axis held the camera itself: every ray started inside it. Such a draw is left out (counted)."""
    x, y, z = where
    group = {"class_name": "probe", "primitive": "box", "size": [0.02, 0.004, 0.004],
             "material": {"texture": "flat", "color": [0.5, 0.5, 0.5]},
             "placement": {"mode": "camera", "x": x, "y": y, "z": z}, "motion": {"name": "follow_camera"}}
    scene, traj = _layout(_spec([group]))
    assert len(scene.objects) == int(kept)
    assert scene.params.get("dropped", {}) == ({} if kept else {"probe": 1})


# -- shapes ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_parts_stay_inside_the_object_box_at_every_phase(kind):
    spec = _spec([instrument_group(kind)])
    scene, _ = _layout(spec)
    half, parts = scene.objects.half_size[0], scene.objects.parts[0]
    time = np.linspace(0, 4, 200)
    motion = part_motion([p.swing for p in parts], np.zeros_like(time), time)
    worst = max(float((part_reach(part.primitive, motion[k, j] @ part.offset, part.half_size) - half).max())
                for j, part in enumerate(parts) for k in range(len(time)))
    assert worst <= 1e-6, worst
    assert 0.02 <= 2 * half[0] <= 0.04 and 2 * half[1:].min() >= 0.0023  # metric: 2–4 cm long, a 2.3+ mm sheath


def test_instruments_stay_in_the_lumen():
    """Sampled clips only (no rendering): 40 clips per instrument with a moving, rolling, wobbling scope in
    a 3 cm tube, every part corner > 15 mm from the wall; 20 in a bent lumen with folds, > 8 mm."""
    for kind in KINDS:
        for lumen, clips, floor in ((None, 40, 0.015), (LUMEN, 20, 0.008)):
            spec = _spec([instrument_group(kind)], T=24, fps=12.0, lumen=lumen)
            worst = min(float(np.nanmin(wall_clearance(*_layout(spec, seed)))) for seed in range(clips))
            assert worst > floor, (kind, lumen, worst)
    astray = instrument_group("forceps", channel={**CHANNEL, "yaw_deg": -80.0}, insertion=0.025)  # the check has teeth
    assert np.nanmin(wall_clearance(*_layout(_spec([astray], T=24, fps=12.0)), radius=0.02)) < 0


# -- labels ----------------------------------------------------------------------------------------------
def _nearest_px(mask: np.ndarray, x: float, y: float) -> float:
    ys, xs = np.nonzero(mask)
    return float(np.hypot(xs + 0.5 - x, ys + 0.5 - y).min()) if len(xs) else np.inf


@pytest.mark.parametrize("kind, lumen", [(k, None) for k in KINDS] + [("forceps", LUMEN)],
                         ids=[*KINDS, "forceps-bent-lumen"])
def test_tip_keypoint_lies_on_the_mask_at_its_far_end(kind, lumen):
    """Under the fisheye and the moving scope, in every frame the ``tip`` keypoint is in view and on the
    instrument's mask (within 1.5 px, its surface end), near the mask's farthest pixel (greatest depth).
    The forceps' tip is where the closed jaws meet: when they open it lies between them, within half
    the jaws' spread of the mask."""
    g = instrument_group(kind, start=0.006, extend=0.5)
    c = make_tiny_clip(_spec([g], W=128, H=128, T=6, lumen=lumen), seed=1)
    inst, depth = c.frames.instance.numpy(), c.frames.depth.numpy()
    kp = c.labels.labels["keypoints"].reshape(6, 1, -1, 3)[:, 0]
    names = c.scene.skeletons[kind].names
    for t in range(6):
        x, y, v = kp[t, names.index("tip")]
        assert v > 0, t
        mask = inst[t] == 1
        slack = 0.0
        if kind == "forceps":
            slack = 0.5 * float(np.hypot(*(kp[t, names.index("jaw_left"), :2] - kp[t, names.index("jaw_right"), :2])))
        assert _nearest_px(mask, x, y) <= 1.5 + slack, (t, _nearest_px(mask, x, y))
        far = np.unravel_index(np.where(mask, depth[t], -np.inf).argmax(), mask.shape)
        assert np.hypot(far[1] + 0.5 - x, far[0] + 0.5 - y) <= 4.0 + slack, t
    assert c.labels.visible_pixels.min() > 50


def test_jaw_keypoints_open_and_close_with_the_swing():
    """With a static scope, the jaw tips' 3D spread follows 2·L·sin(θ), θ = A + A·sin(2π(t/P + ¾)) (closed
    at the clip's start, open at half a period), and their keypoints' pixel spread rises and falls with it."""
    f = Forceps()
    g = instrument_group("forceps", start=0.012, insertion=0.012)
    spec = _spec([g], motion="static", W=128, H=128, T=9, fps=5.0)
    c = make_tiny_clip(spec, seed=0)
    scene, traj = c.scene, c.traj
    sk = scene.skeletons["forceps"]
    pp = part_poses(scene, traj)
    m = pp.motion(traj.num_frames)  # (T,P,4,4)
    half = scene.objects.half_size[0]
    jl, jr = (np.append(sk.points[sk.names.index(n)] * half, 1) for n in ("jaw_left", "jaw_right"))
    spread = np.linalg.norm((m[:, 2] @ jl)[:, :3] - (m[:, 3] @ jr)[:, :3], axis=-1)
    t = np.arange(traj.num_frames) / spec.clip.fps
    amp = np.radians(f.open_deg / 2)
    theta = amp + amp * np.sin(2 * np.pi * (t / f.period + 0.75))
    np.testing.assert_allclose(spread, 2 * f.jaw_length * np.sin(theta), atol=1e-5)
    assert spread[0] < 1e-5 and spread.max() > 0.003
    kp = c.labels.labels["keypoints"].reshape(traj.num_frames, 1, -1, 3)[:, 0]
    px = np.hypot(*(kp[:, sk.names.index("jaw_left"), :2] - kp[:, sk.names.index("jaw_right"), :2]).T)
    assert (kp[:, [2, 3], 2] > 0).all()
    assert px[0] < 0.5 and px.max() > 5
    assert np.corrcoef(px, spread)[0, 1] > 0.99
    # the rendered head (jaws) really opens: more instrument pixels when open than when closed
    inst = c.frames.instance.numpy()
    assert (inst[int(spread.argmax())] == 1).sum() > (inst[0] == 1).sum()


@pytest.mark.system
def test_classes_masks_and_skeletons_are_exported(tmp_path):
    """A two-clip dataset with all three instruments (three channels, to see them together): the
    objects table names the classes, carries non-empty masks and keypoints, and the skeletons travel
    in the table's metadata."""
    channels = [{**CHANNEL, "x": x, "y": y} for x, y in ((0.003, 0.0028), (-0.003, 0.0028), (0.0, -0.0035))]
    groups = [instrument_group(k, channel=ch, start=0.006, extend=0.3) for k, ch in zip(KINDS, channels)]
    path = tmp_path / "instruments.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps(_data(groups, W=64, H=64, T=4)))))
    out = tmp_path / "ds"
    synthdata.generate(str(path), clips=2, out=out, compute=SYNC2, progress=False)
    table = pq.read_table(sorted((out / "objects").glob("*.parquet"))[0])
    objs = table.to_pandas()
    assert set(objs.class_name) == set(KINDS)
    shown = objs[objs.visible_fraction > 0]
    assert set(shown.class_name) == set(KINDS) and (shown.mask_rle.str.len() > 0).all()
    meta = json.loads(table.schema.metadata[b"synthdata.skeletons"])
    assert meta["forceps"]["keypoints"] == ["tip", "hinge", "jaw_left", "jaw_right"]
    assert "tip" in meta["snare"]["keypoints"] and "tip" in meta["injection_needle"]["keypoints"]
    assert all(len(k) == len(meta[c]["keypoints"]) for k, c in zip(objs.keypoints, objs.class_name))


# -- bad input -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("override, field", [
    ("objects.0.motion.params.insertion=-0.01", "objects.0.motion.params"),
    ("objects.0.motion.params.extend=0", "objects.0.motion.params"),
    ("objects.0.motion.params.reach=1", "objects.0.motion.params.reach"),
    ("objects.0.placement.mode=channel", "objects.0.placement.mode"),
    ("objects.0.parts.2.swing.drive=clock", "objects.0.parts.2.swing.drive"),
])
def test_bad_instrument_params_are_one_line_exit_2(tmp_path, override, field):
    path = tmp_path / "instruments.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps(_data([instrument_group("forceps")], W=32, H=32, T=2)))))
    with pytest.raises(RecipeError, match=field.replace(".", r"\.")):
        check_recipe(synthdata.load_recipe(str(path), [override]))
    if override.startswith("objects.0.motion.params.insertion"):  # the CLI, once: one line, exit 2, nothing written
        out = tmp_path / "never"
        r = run_cli("generate", f"recipe={path}", "clips=1", f"out={out}", override)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"error: {field}"), r.stderr
        assert not out.exists()


def test_every_registered_instrument_builds_a_valid_group():
    for kind in INSTRUMENTS:
        g = instrument_group(kind)
        assert g["class_name"] == kind and g["placement"]["mode"] == "camera"
        assert g["keypoints"]["names"][0] == "tip"
    with pytest.raises(Exception, match="instrument"):
        instrument_group("stapler")


def test_jaws_swing_about_the_hinge_by_the_clock_not_the_distance():
    """A time-driven swing ignores the distance travelled (a moving scope does not work the jaws)."""
    f = Forceps()
    scene, traj = _layout(_spec([instrument_group("forceps")], motion="endoscope"))
    parts = scene.objects.parts[0]
    time = np.array([0.0, 0.4, 0.8])
    a = part_motion([p.swing for p in parts], np.zeros(3), time)
    b = part_motion([p.swing for p in parts], np.array([0.0, 5.0, 9.0]), time)
    np.testing.assert_array_equal(a, b)
    hinge = np.append(parts[2].swing.pivot, 1)
    np.testing.assert_allclose(a[:, 2] @ hinge, np.broadcast_to(hinge, (3, 4)), atol=1e-15)
    assert np.abs(a[1, 2] - a[0, 2]).max() > 0.01 and parts[2].swing.stride == f.period
    # the left jaw turns about +z (towards +y, opening) rolled about the shaft, by A·sin(2π(t/P + ¾))
    # from its half-open rest
    angle = np.radians(f.open_deg / 2) * np.sin(2 * np.pi * (0.8 / f.period + 0.75))
    roll = rot_x(np.radians(f.roll_deg))
    np.testing.assert_allclose(a[2, 2, :3, :3], roll @ rot_z(angle) @ roll.T, atol=1e-12)


def test_the_docs_snippet_is_what_the_code_builds():
    """docs/endoscopy.md shows the needle's group: it must be exactly what instrument_group builds."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "endoscopy.md").read_text()
    block = text.split("The needle, for instance:")[1].split("```yaml")[1].split("```")[0]
    assert yaml.safe_load(block) == [json.loads(json.dumps(instrument_group("injection_needle")))]


def test_new_fields_at_their_default_keep_existing_hashes():
    """``placement.pitch_deg`` and ``swing.drive`` at their defaults leave the layout and content hashes
    (clip seeds, resumable runs) of existing recipes as they were; used, they change them."""
    base = synthdata.load_recipe("pedestrians")
    same = synthdata.load_recipe("pedestrians", ["objects.0.placement.pitch_deg=0", "objects.0.parts.3.swing.drive=distance"])
    assert (same.layout_hash(), same.content_hash()) == (base.layout_hash(), base.content_hash())
    for change in ("objects.0.placement.pitch_deg=1", "objects.0.parts.3.swing.drive=time"):
        other = synthdata.load_recipe("pedestrians", [change])
        assert other.layout_hash() != base.layout_hash() and other.content_hash() != base.content_hash(), change


def test_follow_camera_keeps_the_channel_pose_under_every_camera_motion():
    """The rider's relation to the camera holds for any camera trajectory: every registered camera motion
    and the colonoscope's (taken from the endoscopy world directly), at its default parameters: in the
    camera's frame the instrument keeps its start orientation and moves only along its own shaft."""
    from dataclasses import replace

    from synthdata.motion import CAMERA_MOTIONS, OBJECT_MOTIONS, MotionContext
    from synthdata.worlds.endoscopy import scope

    scene, _ = _layout(_spec([instrument_group("injection_needle", start=0.004)], motion="static"))
    cam0, target = scene.camera.pose0, scene.camera.target
    motions = {n: CAMERA_MOTIONS.get(n) for n in CAMERA_MOTIONS.names() if n != "ego_traffic"}  # needs traffic
    motions["colonoscope"] = scope.COLONOSCOPE
    rider = OBJECT_MOTIONS.get("follow_camera")
    params = {k: np.array([v], float) for k, v in rider.params(**scene.objects.motion[0][1]).model_dump().items()}
    start = np.linalg.inv(cam0) @ scene.objects.pose0[0]  # the channel pose, camera frame
    for name, m in motions.items():
        ctx = MotionContext(times=np.arange(14) / 6.0, rng=np.random.default_rng(1), tube_radius=0.03, camera_pose0=cam0)
        cams = m.fn(cam0, target, m.params(), ctx)
        assert np.ptp(cams[:, :3, 3], axis=0).max() > 0 or name == "static", name
        out = rider.fn(scene.objects.pose0, scene.objects.half_size, params, replace(ctx, camera_poses=cams))[:, 0]
        rel = np.linalg.inv(cams) @ out
        np.testing.assert_allclose(rel[:, :3, :3], np.broadcast_to(start[:3, :3], (14, 3, 3)), atol=1e-9, err_msg=name)
        d = rel[:, :3, 3] - start[:3, 3]
        np.testing.assert_allclose(d, np.outer(d @ start[:3, 0], start[:3, 0]), atol=1e-9, err_msg=name)
        assert (d @ start[:3, 0]).max() > 0.01, name  # and it did slide out


def test_surgery_tools_labels_instruments_only():
    """Found by an endoscopy review: a water jet was an opaque white rod with its own class, mask and
    two keypoints on its side (a capsule's default skeleton along z, the jet along x); instrument
    datasets (EndoVis, ROBUST-MIS, Kvasir-Instrument) label no water jet, and the ray-caster draws no
    transparent stream."""
    import synthdata

    spec = synthdata.load_recipe("surgery_tools", [])
    assert spec.class_names == ["polyp", "forceps", "snare", "injection_needle"]
