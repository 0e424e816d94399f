"""Scope optics, surface and blur: bump-mapped wet highlights (``material.bump``/``material.wet``), thin-lens
defocus (``backend.defocus``) and motion blur along the flow (``backend.motion_blur: flow``). Every one
changes RGB only; the labels are those of the smooth, sharp scene."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from synthdata.recipe.schema import LIMITS  # noqa: F401  (the schema module must import cleanly)
from synthdata.render import make_backend
from synthdata.render.blur import Defocus, GBuffer, coc_px, defocus, flow_motion_blur
from synthdata.errors import RecipeError

from ..conftest import make_tiny_clip, tiny_spec, TUBE_POLYPS

LABELS = ("instance", "amodal", "depth", "normals", "flow_fwd", "flow_bwd", "surface")

#: a 3 cm tube seen obliquely from its axis, flat pink wall, only the headlight: one specular band
TUBE = ["clip.width=96", "clip.height=72", "clip.frames=1", "environment.tube_radius=0.03",
        "camera.position=[0,0,0]", "camera.look_at=[0.01,0.03,0]", "camera.fov_deg=100", "camera.motion.name=static",
        "objects.0.count=0", "environment.ground.texture=flat", "environment.headlight.falloff=100",
        "environment.headlight.intensity=0.5", "environment.ground.specular=0.0",
        "+environment.ground.wet={specular: 1.0, shininess: 300}"]
BUMPS = "+environment.ground.bump={amplitude: 1e-3, scale: 250}"  # 4 mm bumps, 1 mm high (pixels here are ~1 mm)


def _render(spec, clip):
    return make_backend(spec.backend, "cpu").render(clip.scene, clip.traj)


def _same_labels(a, b):
    for k in LABELS:
        assert torch.equal(getattr(a, k).nan_to_num(), getattr(b, k).nan_to_num()), k


def _highlights(rgb: torch.Tensor) -> int:
    """Connected bright spots: the lit pink wall's green channel stays below 150; highlights are whitish."""
    return int(ndimage.label(rgb[..., 1].numpy() > 150)[1])


@pytest.fixture(scope="module")
def wet_tube():
    smooth = make_tiny_clip(tiny_spec(TUBE_POLYPS, *TUBE), seed=1)
    return smooth


def test_wet_bumps_break_the_highlight_into_spots_and_leave_labels_alone(wet_tube):
    bumped_clip = make_tiny_clip(tiny_spec(TUBE_POLYPS, *TUBE, BUMPS), seed=1)  # bumps draw nothing: same scene
    bumped = bumped_clip.frames
    assert _highlights(wet_tube.frames.rgb[0]) == 1  # the smooth wet wall: one band-shaped lobe
    assert _highlights(bumped.rgb[0]) > 10  # bumps: many small separate spots
    _same_labels(wet_tube.frames, bumped)  # the normals label stays the smooth surface's
    again = _render(bumped_clip.spec, bumped_clip)
    assert torch.equal(again.rgb, bumped.rgb)  # deterministic


def test_bumps_far_below_a_pixel_fade_to_the_smooth_surface(wet_tube):
    fine = make_tiny_clip(tiny_spec(TUBE_POLYPS, *TUBE, "+environment.ground.bump={amplitude: 3e-5, scale: 8000}"),
                          seed=1).frames
    assert (fine.rgb.int() - wet_tube.frames.rgb.int()).abs().max() <= 1  # no sparkle from 0.1 mm bumps
    assert _highlights(fine.rgb[0]) == 1


def test_bumps_on_objects_move_with_them_and_keep_labels():
    base = ["clip.width=96", "clip.height=72", "clip.frames=2", "environment.tube_radius=0.03", "camera.fov_deg=60",
            "camera.position=[0,0,0]", "camera.look_at=[0.03,0,-0.03]", "camera.motion.name=static",
            "objects.0.size=[0.012,0.012,0.012]", "objects.0.placement.x=0.03", "objects.0.placement.angle_deg=270",
            "objects.0.count=1", "objects.0.motion.name=static"]
    a = make_tiny_clip(tiny_spec(TUBE_POLYPS, *base), seed=4)
    b = make_tiny_clip(tiny_spec(TUBE_POLYPS, *base, "+objects.0.material.bump={amplitude: 5e-4, scale: 400}",
                                 "+objects.0.material.wet={specular: 2.0}"), seed=4).frames
    _same_labels(a.frames, b)
    on = a.frames.instance > 0
    assert on.any() and (a.frames.rgb.int() - b.rgb.int()).abs().sum(-1)[on].float().mean() > 2
    away = ~torch.as_tensor(ndimage.binary_dilation(on.numpy(), iterations=2))  # beyond anti-aliased edges
    assert torch.equal(a.frames.rgb[away], b.rgb[away])  # only the bumped objects change


def test_off_by_default_and_bad_input_names_the_field():
    spec = tiny_spec(TUBE_POLYPS)
    assert spec.environment.ground.bump is None and spec.environment.ground.wet is None
    assert "defocus" not in spec.backend.settings and spec.backend.settings["motion_blur"] == 1
    wet = tiny_spec(TUBE_POLYPS, BUMPS, "+environment.ground.wet={specular: 1.0}")
    assert wet.layout_hash() == spec.layout_hash()  # appearance only: the same clips, seeds and labels
    assert wet.content_hash() != spec.content_hash()
    with pytest.raises(RecipeError, match="bump.scale"):
        tiny_spec(TUBE_POLYPS, "+environment.ground.bump={scale: -1}")
    with pytest.raises(RecipeError, match="backend.defocus.focus_m"):
        tiny_spec(TUBE_POLYPS, "+backend.defocus={focus_m: 0, aperture_mm: 0.2}")
    with pytest.raises(RecipeError, match="backend.motion_blur"):
        tiny_spec(TUBE_POLYPS, "backend.motion_blur=smear")


def _lsf_width(profile: torch.Tensor, box: bool, floor: float = 0.0) -> float:
    """The blur width of a blurred step from its line-spread function's spread: a disk of diameter D
    (defocus) has std D/4, a box of width L (motion) std L/√12. Steps below ``floor`` × the largest
    (smooth shading) are left out."""
    d = (profile[1:] - profile[:-1]).double().abs()
    d = torch.where(d < floor * d.max(), torch.zeros_like(d), d)
    d = d / d.sum()
    x = torch.arange(len(d), dtype=torch.float64)
    std = float(((d * (x - (d * x).sum()) ** 2).sum()).sqrt())
    return std * (12 ** 0.5 if box else 4.0)


K = np.array([[100.0, 0, 32], [0, 100.0, 8], [0, 0, 1]])
STEP = torch.zeros(1, 16, 64, 3)
STEP[:, :, 32:] = 1.0


@pytest.mark.parametrize("depth_m", [0.01, 0.005, 0.003, 0.002])
def test_defocus_keeps_the_focus_sharp_and_blurs_a_step_by_its_circle_of_confusion(depth_m):
    lens = Defocus(focus_m=0.03, aperture_mm=0.2)
    at_focus = defocus(STEP, GBuffer(torch.full((1, 16, 64), 0.03), None, None, K), lens)
    assert torch.equal(at_focus, STEP)
    depth = torch.full((1, 16, 64), depth_m)
    c = float(coc_px(depth, lens, 100.0)[0, 0, 0])
    assert c == pytest.approx(0.2e-3 * 100 * (1 / depth_m - 1 / 0.03))  # thin lens: A·f_px·|1/z − 1/z_f|
    out = defocus(STEP, GBuffer(depth, None, None, K), lens)
    assert _lsf_width(out[0, 8, :, 0], box=False) == pytest.approx(c, abs=0.5 if c > 2 else 0.6)
    assert torch.allclose(out.mean(), STEP.mean(), atol=1e-3)  # energy kept (up to the borders)


def test_defocus_keeps_a_sharp_surface_in_front_of_a_blurred_one():
    lens = Defocus(focus_m=0.01, aperture_mm=0.5)
    depth = torch.full((1, 16, 64), 0.01)
    depth[:, :, 32:] = 1.0  # right half far (CoC ≈ 5 px), left half in focus, in front
    img = torch.zeros(1, 16, 64, 3)
    img[:, :, 32:] = 1.0
    img[:, :, 48:] = 0.5
    out = defocus(img, GBuffer(depth, None, None, K), lens)
    assert torch.equal(out[:, :, :32], img[:, :, :32])  # the blurred background never covers the sharp front
    assert (out[:, :, 44:52] - img[:, :, 44:52]).abs().max() > 0.1  # but blurs in itself


def test_defocus_in_a_render_blurs_the_near_wall_only_and_keeps_labels():
    lumen = ["clip.width=96", "clip.height=72", "clip.frames=1", "environment.tube_radius=0.03", "camera.fov_deg=100",
             "camera.position=[0,0.018,0]", "camera.look_at=[0.1,0,0]", "camera.motion.name=static", "objects.0.count=0",
             "environment.headlight.falloff=100", "environment.ground.texture=checker", "environment.ground.scale=150"]
    lens = Defocus(focus_m=0.05, aperture_mm=1.0)
    sharp = make_tiny_clip(tiny_spec(TUBE_POLYPS, *lumen), seed=1)
    blurred = _render(tiny_spec(TUBE_POLYPS, *lumen, "+backend.defocus={focus_m: 0.05, aperture_mm: 1.0}"), sharp)
    _same_labels(sharp.frames, blurred)
    c = coc_px(sharp.frames.depth, lens, float(sharp.scene.camera.K[0, 0]))[0, 1:, 1:]
    grad = lambda x: ((x[0, 1:, 1:].float() - x[0, 1:, :-1].float()) ** 2).sum(-1)  # noqa: E731  edge energy
    near, far = c > 2.5, c < 1.0
    assert near.sum() > 100 and far.sum() > 100
    g0, g1 = grad(sharp.frames.rgb), grad(blurred.rgb)
    assert g1[near].mean() < 0.5 * g0[near].mean()  # the close wall loses its detail
    assert g1[far].mean() > 0.75 * g0[far].mean()  # the wall in focus and beyond keeps it


@pytest.mark.parametrize("flow_px,shutter", [(3.0, 1.0), (10.0, 1.0), (16.0, 0.5), (6.0, 0.25)])
def test_flow_motion_blur_smears_a_step_over_shutter_times_flow(flow_px, shutter):
    f = torch.zeros(1, 16, 64, 2)
    f[..., 0] = flow_px
    out = flow_motion_blur(STEP, GBuffer(None, f, -f, K), shutter)
    L = shutter * flow_px
    assert _lsf_width(out[0, 8, :, 0], box=True) == pytest.approx(L, abs=0.4 if L > 2 else 0.6)
    assert torch.equal(flow_motion_blur(STEP, GBuffer(None, f * 0, f * 0, K), shutter), STEP)


GROUND = ["clip.width=64", "clip.height=48", "clip.frames=3", "camera.position=[0,0,5]", "camera.look_at=[0.05,0,0]",
          "camera.fov_deg=50", "objects.0.count=0", "objects.1.count=0", "objects.2.count=0",
          "environment.ground.scale=0.5", "backend.supersample=1"]


def test_flow_motion_blur_leaves_a_still_scene_bit_identical():
    groups = len(tiny_spec("shapes").objects)
    still = ["clip.width=48", "clip.height=48", "clip.frames=2", "camera.motion.name=static",
             *(f"objects.{i}.motion.name=static" for i in range(groups))]
    a = make_tiny_clip(tiny_spec("shapes", *still), seed=2)
    b = _render(tiny_spec("shapes", *still, "backend.motion_blur=flow", "backend.shutter=1.0"), a)
    assert torch.equal(a.frames.rgb, b.rgb)
    _same_labels(a.frames, b)


def test_flow_motion_blur_smears_a_moving_cameras_edges_by_shutter_times_flow():
    move = ["camera.motion.name=ego_forward", "+camera.motion.params={speed: 6.0, bob: 0.0, shake_deg: 0.0}"]
    sharp = make_tiny_clip(tiny_spec("shapes", *GROUND, *move), seed=0)
    shutter = 0.5
    blurred = _render(tiny_spec("shapes", *GROUND, *move, "backend.motion_blur=flow", f"backend.shutter={shutter}"), sharp)
    _same_labels(sharp.frames, blurred)
    fr = sharp.frames
    flow = fr.flow_fwd[1]
    assert flow[..., 1].abs().mean() > 5 * flow[..., 0].abs().mean()  # the ground slides down the image
    expected = shutter * float(flow[..., 1].abs().mean())
    widths = []
    for col in range(4, 60, 4):  # each checker edge crossing the column, ±6 rows around it
        s = fr.rgb[1, :, col, 1].float()
        for edge in (torch.diff(s).abs() > 30).nonzero().squeeze(1).tolist():
            if not 7 <= edge <= 40:
                continue
            clean = (s[edge - 6:edge + 1] - s[edge]).abs().max() < 10 and (s[edge + 1:edge + 8] - s[edge + 1]).abs().max() < 10
            if clean:  # a plain step (no checker corner or line in the window)
                widths.append(_lsf_width(blurred.rgb[1, edge - 6:edge + 8, col, 1].float(), box=True, floor=0.1))
                assert _lsf_width(s[edge - 6:edge + 8], box=True, floor=0.1) < 1.0  # sharp without blur
    assert len(widths) >= 8
    assert float(np.median(widths)) == pytest.approx(expected, abs=0.6)
