"""Motion blur: RGB averaged over instants inside the shutter; every label stays at the shutter centre."""

from __future__ import annotations

import numpy as np
import torch

from synthdata.render import make_backend

from ..conftest import make_tiny_clip, tiny_spec


def _clip(*extra):
    return make_tiny_clip(tiny_spec("highway", "clip.width=96", "clip.height=64", "clip.frames=3", *extra), seed=1)


def test_blur_changes_pixels_not_labels():
    sharp = _clip()
    spec = tiny_spec("highway", "clip.width=96", "clip.height=64", "clip.frames=3", "backend.motion_blur=4",
                     "backend.shutter=1.0")
    blurred = make_backend(spec.backend, "cpu").render(sharp.scene, sharp.traj)
    for k in ("instance", "depth", "flow_fwd", "surface", "amodal"):
        assert torch.equal(getattr(sharp.frames, k).nan_to_num(), getattr(blurred, k).nan_to_num()), k
    diff = (sharp.frames.rgb.int() - blurred.rgb.int()).abs().sum(-1)
    moving = sharp.frames.instance > 0  # vehicles move in the frame, and the ego camera moves
    assert diff.float().mean() > 1 and diff[moving].float().mean() > diff[~moving].float().mean() * 0.5


def test_a_still_scene_is_not_blurred_and_blur_is_smooth_along_motion():
    groups = len(tiny_spec("highway").objects)
    still = ["camera.motion.name=static", *(f"objects.{i}.motion.name=static" for i in range(groups))]
    a = _clip(*still)
    spec = tiny_spec("highway", "clip.width=96", "clip.height=64", "clip.frames=3", *still, "backend.motion_blur=4")
    b = make_backend(spec.backend, "cpu").render(a.scene, a.traj)
    assert (a.frames.rgb.int() - b.rgb.int()).abs().max() <= 1  # only rounding: nothing moved
    sharp = _clip()
    spec = tiny_spec("highway", "clip.width=96", "clip.height=64", "clip.frames=3", "backend.motion_blur=8",
                     "backend.shutter=1.0")
    blurred = make_backend(spec.backend, "cpu").render(sharp.scene, sharp.traj).rgb.float()
    # blur averages: its total variation along rows is lower than the sharp image's
    tv = lambda x: (x[:, :, 1:] - x[:, :, :-1]).abs().mean()  # noqa: E731
    assert tv(blurred) < tv(sharp.frames.rgb.float())


def test_flow_motion_blur_does_not_depend_on_the_frame_batch():
    """Each frame's blur takes its own number of samples along its own longest path, so a clip renders
    the same bytes whatever ``frame_batch`` (and ``batch_kilorays``) groups its frames by (it took the
    batch's longest path: a frame's picture depended on its neighbours in the batch)."""
    base = ["clip.width=96", "clip.height=64", "clip.frames=6", "backend.motion_blur=flow", "backend.shutter=1.0"]
    clip = make_tiny_clip(tiny_spec("highway", *base), seed=3)
    rgb = {fb: make_backend(tiny_spec("highway", *base, f"backend.frame_batch={fb}").backend, "cpu")
           .render(clip.scene, clip.traj).rgb for fb in (1, 4, 6)}
    assert not torch.equal(rgb[1], make_backend(tiny_spec("highway", *base[:3]).backend, "cpu")
                           .render(clip.scene, clip.traj).rgb)  # the blur is on
    assert torch.equal(rgb[1], rgb[4]) and torch.equal(rgb[1], rgb[6])
