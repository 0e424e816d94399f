"""Label tests that catch real bugs: each checks labels against an independent computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from synthdata.annotate import annotate

from ..conftest import STAGE, make_tiny_clip, spec_from_yaml


def _decode(rle: str, H: int, W: int) -> np.ndarray:
    return mask_utils.decode({"counts": rle.encode(), "size": [H, W]}).astype(bool)


def test_rle_equals_pycocotools_encoding_of_the_visible_mask(shapes_clip):
    fr, lab = shapes_clip.frames, shapes_clip.labels
    N = len(shapes_clip.scene.objects)
    for r in range(lab.num_rows):
        m = (fr.instance[r // N] == r % N + 1).numpy()
        ref = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))["counts"].decode()
        assert lab.mask_rle[r] == ref, r


def test_rle_area_equals_visible_pixels_and_box_equals_rle_bbox(shapes_clip):
    lab = shapes_clip.labels
    H, W = shapes_clip.frames.size
    visible = 0
    for r in range(lab.num_rows):
        rle = {"counts": lab.mask_rle[r].encode(), "size": [H, W]}
        assert int(mask_utils.area(rle)) == lab.visible_pixels[r]
        if lab.visible_pixels[r]:
            visible += 1
            x, y, w, h = mask_utils.toBbox(rle)
            np.testing.assert_array_equal(lab.bbox_visible[r], [x, y, x + w, y + h])
        else:
            assert np.isnan(lab.bbox_visible[r]).all()
    assert visible > 10


def test_amodal_box_contains_visible_box_and_fraction_is_consistent(shapes_clip):
    lab = shapes_clip.labels
    vis = lab.visible_pixels > 0
    v, a = lab.bbox_visible[vis], lab.bbox_amodal[vis]
    assert (a[:, :2] <= v[:, :2]).all() and (a[:, 2:] >= v[:, 2:]).all()
    np.testing.assert_allclose(lab.visible_fraction[vis], lab.visible_pixels[vis] / lab.amodal_pixels[vis], rtol=1e-6)
    assert (lab.occluded == (lab.in_view & (lab.visible_pixels < lab.amodal_pixels))).all()
    assert lab.occluded.any()  # shapes has occlusions


def test_semantic_map_is_the_class_of_the_visible_instance(shapes_clip):
    fr, lab, scene = shapes_clip.frames, shapes_clip.labels, shapes_clip.scene
    table = np.concatenate([[0], scene.objects.class_id])
    np.testing.assert_array_equal(lab.semantic, table[fr.instance.numpy()])


OCCLUSION = STAGE + """
objects:
  - {class_name: wall, primitive: box, size: [3, 0.5, 3], placement: {mode: free, x: 0, y: -5, z: 1}}
  - {class_name: ball, primitive: sphere, size: [0.6, 0.6, 0.6], placement: {mode: free, x: 0, y: 0, z: 1}}
  - {class_name: edge, primitive: box, size: [2, 2, 2], placement: {mode: free, x: 5.8, y: 0, z: 1}}
  - {class_name: behind, primitive: sphere, size: [1, 1, 1], placement: {mode: free, x: 0, y: -14, z: 1}}
"""


@pytest.fixture(scope="module")
def occlusion_clip(tmp_path_factory):
    return make_tiny_clip(spec_from_yaml(tmp_path_factory.mktemp("occ"), OCCLUSION, "clip.width=64", "clip.height=64"))


def test_a_fully_hidden_object_is_in_view_with_visible_fraction_zero(occlusion_clip):
    lab = occlusion_clip.labels
    ball = lab.class_id == 2
    assert lab.in_view[ball].all() and (lab.amodal_pixels[ball] > 5).all()
    assert (lab.visible_fraction[ball] == 0).all() and (lab.visible_pixels[ball] == 0).all()
    assert lab.occluded[ball].all() and np.isnan(lab.bbox_visible[ball]).all()
    assert lab.mask_rle[int(np.flatnonzero(ball)[0])] == mask_utils.encode(np.zeros((64, 64, 1), np.uint8, order="F"))[0]["counts"].decode()
    wall = lab.class_id == 1
    a, w = lab.bbox_amodal[ball], lab.bbox_visible[wall]
    assert (a[:, :2] >= w[:, :2]).all() and (a[:, 2:] <= w[:, 2:]).all()  # hidden behind the wall's box


def test_objects_cut_by_the_frame_are_truncated_and_objects_behind_are_out_of_view(occlusion_clip):
    lab = occlusion_clip.labels
    edge, behind, wall = lab.class_id == 3, lab.class_id == 4, lab.class_id == 1
    assert lab.truncated[edge].all() and lab.in_view[edge].all() and (lab.bbox_visible[edge][:, 2] == 64).all()
    assert not lab.truncated[wall].any()
    assert not lab.in_view[behind].any() and (lab.amodal_pixels[behind] == 0).all()
    assert np.isnan(lab.bbox_amodal[behind]).all()
    assert lab.num_rows == 4 * 4  # never silently dropped: every object, every frame


def test_objects_cut_by_the_top_and_bottom_edges_are_truncated(tmp_path):
    yaml = STAGE + """
objects:
  - {class_name: top, primitive: box, size: [2, 2, 2], placement: {mode: free, x: 0, y: 0, z: 6.8}}
  - {class_name: bottom, primitive: box, size: [2, 2, 2], placement: {mode: free, x: 0, y: 0, z: -4.8}}
  - {class_name: inside, primitive: sphere, size: [1, 1, 1], placement: {mode: free, x: 0, y: 0, z: 1}}
"""
    lab = make_tiny_clip(spec_from_yaml(tmp_path, yaml, "clip.width=64", "clip.height=64")).labels
    top, bottom, inside = (lab.class_id == c for c in (1, 2, 3))
    assert lab.truncated[top].all() and (lab.bbox_visible[top][:, 1] == 0).all()
    assert lab.truncated[bottom].all() and (lab.bbox_visible[bottom][:, 3] == 64).all()
    assert not lab.truncated[inside].any() and lab.in_view[top | bottom | inside].all()
    # the amodal box is cut at the frame too: truncation is what tells the object goes on beyond it
    assert (lab.bbox_amodal[top][:, 1] == 0).all() and (lab.bbox_amodal[bottom][:, 3] == 64).all()


def test_box3d_is_in_camera_frame(occlusion_clip):
    lab = occlusion_clip.labels
    K = occlusion_clip.traj.K
    ball = int(np.flatnonzero(lab.class_id == 2)[0])
    box3d = lab.labels["box3d"]
    centre, size, q = box3d[ball, :3], box3d[ball, 3:6], box3d[ball, 6:]
    np.testing.assert_allclose(centre, [0, 0, 10], atol=1e-5)  # 10 m straight ahead
    np.testing.assert_allclose(size, [0.6, 0.6, 0.6], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(q), 1, atol=1e-6)
    # object → camera rotation for an unrotated object seen by a camera looking along +y:
    # camera x = world x, camera y = −world z, camera z = world y → a 90° turn about x
    np.testing.assert_allclose(np.abs(q), [np.sqrt(0.5), 0, 0, np.sqrt(0.5)], atol=1e-6)
    u = K @ centre
    assert np.allclose(u[:2] / u[2], [32, 32])


def test_masks_off_leaves_rle_empty(shapes_clip):
    spec = shapes_clip.spec.annotations.model_copy(update={"masks": False})
    lab = annotate(shapes_clip.frames, shapes_clip.scene, shapes_clip.traj, spec)
    assert set(lab.mask_rle) == {""} and (lab.visible_pixels == shapes_clip.labels.visible_pixels).all()
