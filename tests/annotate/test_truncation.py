"""``truncation`` (KITTI's): the fraction of an object's volume that projects outside the image."""

from __future__ import annotations

import numpy as np
import pytest

import synthdata
from synthdata.annotate.truncation import truncation
from synthdata.scene.lens import Lens
from synthdata.scene.volume import halton

K = np.array([[100.0, 0, 50], [0, 100.0, 50], [0, 0, 1]])  # 100×100 image, camera at the origin looking +z
CUBE = halton(4096) - 0.5  # a unit cube's volume, in its own frame


def _pose(x: float, y: float, z: float) -> np.ndarray:
    p = np.eye(4)
    p[:3, 3] = (x, y, z)
    return p


def _trunc(*centres, lens=None) -> np.ndarray:
    poses = np.stack([_pose(*c) for c in centres])[None]  # (1,N,4,4)
    return truncation(poses, np.eye(4)[None], [CUBE] * len(centres), K, 100, 100, lens)


def test_inside_half_out_wholly_out_and_behind():
    inside, half, out, behind = _trunc((0, 0, 10), (-5, 0, 10), (-20, 0, 10), (0, 0, -10))
    assert inside == 0.0 and out == 1.0 and behind == 1.0
    # centre on the left edge: the plane u = 0 (x = −z/2) halves the cube through its centre
    assert half == pytest.approx(0.5, abs=0.02)


def test_a_box_across_the_camera_plane_counts_what_projects_inside():
    """Found by a review: a visible bus crossing the camera plane had truncation 1.0 (its box, cut at a
    near plane, projected 10⁵ px wide) and its MOT visibility 0; and under a fisheye the points behind
    the camera were dropped (0.11 where a pinhole gave 0.93)."""
    (t,) = _trunc((0.0, 0, 0.3))  # z from −0.2 to 0.8: a fifth behind, most of the rest beside the view
    behind = (CUBE[:, 2] + 0.3 <= 0).mean()
    inside = ((CUBE[:, 2] + 0.3 > 0) & (np.abs(CUBE[:, 0]) < 0.5 * (CUBE[:, 2] + 0.3))
              & (np.abs(CUBE[:, 1]) < 0.5 * (CUBE[:, 2] + 0.3))).mean()
    assert t == pytest.approx(1 - inside, abs=1e-6) and behind <= t < 1
    (tf,) = _trunc((0.0, 0, 0.3), lens=Lens("fisheye", (("k1", 0.02), ("k2", 0.0), ("k3", 0.0), ("k4", 0.0))))
    assert behind <= tf < 1  # what lies behind the camera is outside through any lens


def test_the_label_agrees_with_the_rows_in_a_dataset(tiny_dataset):
    """A visible object is never wholly outside; an object the border does not cut is mostly inside."""
    o = synthdata.open_dataset(tiny_dataset).objects.to_pandas()
    seen = o[o.visible_pixels > 0]
    assert (seen.truncation < 1).all() and (seen.truncation.between(0, 1)).all()
    cut = seen[seen.truncated].truncation  # a sliver over the border may hold none of the sample points
    assert len(cut) and cut.max() > 0
    assert (seen[~seen.truncated].truncation <= 0.02).all()  # nothing of it outside (within a pixel's sliver)
