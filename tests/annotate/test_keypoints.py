"""Keypoints: class skeletons in object space, projected with COCO visibility decided by the same depth
test as point tracks; checked against the 3D boxes (an independent path) and the instance map."""

from __future__ import annotations

import numpy as np
import pytest

from synthdata.errors import RecipeError
from synthdata.recipe.loading import parse_spec
from synthdata.run.check import check_recipe
from synthdata.scene.skeletons import SKELETONS, class_skeletons

from ..conftest import make_tiny_clip, tiny_spec


@pytest.fixture(scope="module")
def clips():
    return [make_tiny_clip(tiny_spec(r, "clip.width=96", "clip.height=80", "clip.frames=6"), seed=s)
            for r in ("shapes", "highway", "colonoscopy:plain") for s in range(2)]


def _rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate (K,3) vectors by the unit quaternion q = (x, y, z, w)."""
    u, w = q[:3], q[3]
    return v + 2 * w * np.cross(u, v) + 2 * np.cross(u, np.cross(u, v))


def test_default_skeletons():
    box = SKELETONS.get("box")
    assert len(box.names) == 8 and len(box.edges) == 12 and "front_left_top" in box.names
    assert all(np.abs(box.points[i] - box.points[j]).sum() == 2 for i, j in box.edges)  # edges join adjacent corners
    assert SKELETONS.get("sphere").names == ("top", "bottom")
    spec = tiny_spec("shapes")
    assert set(class_skeletons(spec)) == {"sphere", "cube", "cylinder"}


def test_keypoints_are_the_projected_corners_of_the_3d_box(clips):
    """Box corners from the keypoints label equal the corners of the ``box3d`` label (camera frame,
    quaternion) projected with K: two code paths, one geometry."""
    checked = 0
    for c in clips:
        kp, b3 = c.labels.labels["keypoints"], c.labels.labels["box3d"]
        names = c.scene.class_names
        K = c.traj.K
        for r, cls in enumerate(c.labels.class_id):
            if c.scene.objects.primitive[r % len(c.scene.objects)] != "box":
                continue
            centre, size, quat = b3[r, :3], b3[r, 3:6], b3[r, 6:]
            unit = SKELETONS.get("box").points
            cam = centre + _rotate(quat.astype(np.float64), unit * size / 2)
            if (cam[:, 2] <= 0.05).any():
                continue
            uv = (cam @ K.T)[:, :2] / cam[:, 2:]
            np.testing.assert_allclose(kp[r, :8, :2], uv, atol=2e-2, err_msg=names[cls - 1])
            checked += 1
    assert checked > 50


def test_visibility_agrees_with_the_instance_map(clips):
    """v=2: the object shows within one pixel of the keypoint; v=1: in view, and it does not show there at
    the keypoint's depth; v=0: outside the image or behind the camera."""
    n = {0: 0, 1: 0, 2: 0}
    for c in clips:
        inst = c.frames.instance.numpy()
        T, H, W = inst.shape
        N = len(c.scene.objects)
        kp = c.labels.labels["keypoints"]
        for r in range(kp.shape[0]):
            t, obj = divmod(r, N)
            for x, y, v in kp[r]:
                if v < 0:
                    continue  # padding
                n[int(v)] += 1
                inside = np.isfinite(x) and 0 <= x < W and 0 <= y < H
                assert (v > 0) == inside
                if v == 2:
                    px, py = int(x), int(y)
                    patch = inst[t, max(py - 1, 0):py + 2, max(px - 1, 0):px + 2]
                    assert (patch == obj + 1).any()
        assert (kp[..., 2] >= 0).sum() > 0
    assert min(n.values()) > 20, n


def test_a_recipe_skeleton_and_conflicts():
    spec = tiny_spec("shapes")
    data = spec.model_dump(mode="json")
    data["objects"][0]["keypoints"] = {"names": ["north", "east"], "points": [[0, 0, 1], [1, 0, 0]], "edges": [[0, 1]]}
    custom = parse_spec(data)
    assert class_skeletons(custom)["sphere"].names == ("north", "east")
    assert custom.layout_hash() == spec.layout_hash()  # a skeleton is a label, not layout: same scenes
    clip = make_tiny_clip(custom, seed=1)
    sphere = [i for i, c in enumerate(clip.scene.objects.class_id) if c == 1]
    assert sphere and (clip.labels.labels["keypoints"][sphere[0], :, 2] >= 0).sum() == 2
    same_class = {**data["objects"][0], "keypoints": None, "primitive": "box"}
    data["objects"].append(same_class)  # a group without a skeleton takes its class's
    assert class_skeletons(check_recipe(parse_spec(data)))["sphere"].names == ("north", "east")
    data["objects"][-1] = {**same_class, "keypoints": {"names": ["a"], "points": [[0, 0, 1]]}}
    with pytest.raises(RecipeError, match="objects.3.keypoints: differs from objects.0.keypoints"):
        check_recipe(parse_spec(data))
    data["objects"][0]["keypoints"] = data["objects"][-1]["keypoints"] = None  # sphere + box defaults differ:
    assert "sphere" not in class_skeletons(check_recipe(parse_spec(data)))  # no keypoints, no refusal


@pytest.mark.parametrize("skeleton, field", [
    ({"names": ["a", "b"], "points": [[0, 0, 1]]}, "points"),
    ({"names": ["a", "a"], "points": [[0, 0, 1], [0, 0, -1]]}, "names"),
    ({"names": ["a", "b"], "points": [[0, 0, 1], [0, 0, -1]], "edges": [[0, 2]]}, "edges"),
])
def test_bad_skeletons_name_the_field(skeleton, field):
    data = tiny_spec("shapes").model_dump(mode="json")
    data["objects"][0]["keypoints"] = skeleton
    with pytest.raises(RecipeError, match=f"objects.0.keypoints"):
        parse_spec(data)
