"""``truncation`` (KITTI's): the fraction of an object's projected 3D box outside the image."""

from __future__ import annotations

import numpy as np
import pytest

import synthdata
from synthdata.annotate.truncation import truncation

from ..conftest import SYNC2, TINY

K = np.array([[100.0, 0, 50], [0, 100.0, 50], [0, 0, 1]])  # 100×100 image, camera at the origin looking +z


def _pose(x: float, y: float, z: float) -> np.ndarray:
    p = np.eye(4)
    p[:3, 3] = (x, y, z)
    return p


def _trunc(*centres) -> np.ndarray:
    poses = np.stack([_pose(*c) for c in centres])[None]  # (1,N,4,4)
    return truncation(poses, np.eye(4)[None], np.full((len(centres), 3), 0.5), K, 100, 100)


def test_inside_half_out_wholly_out_and_behind():
    # at z = 10 a unit cube spans 10 px (nearer face 10.5 px); its centre at x = 0 is in the middle of the image
    inside, half, out, behind = _trunc((0, 0, 10), (-5, 0, 10), (-20, 0, 10), (0, 0, -10))
    assert inside == 0.0 and out == 1.0 and behind == 1.0
    # centre on the left edge: its box spans u from 100·(−5.5)/9.5 + 50 (near face) to 100·(−4.5)/10.5 + 50
    left, right = 100 * -5.5 / 9.5 + 50, 100 * -4.5 / 10.5 + 50
    assert half == pytest.approx(-left / (right - left), abs=1e-5)


def test_a_box_reaching_behind_the_camera_counts_as_mostly_outside():
    (t,) = _trunc((0, 0, 0.3))  # spans z from -0.2 to 0.8: cut at the near plane, projected far beyond the image
    assert 0.99 < t <= 1.0


def test_the_label_agrees_with_truncated_in_a_dataset(tiny_dataset):
    """Rows whose amodal mask stays off the border have 0 unless the box (larger than the silhouette)
    pokes out; rows the border cuts have some of their box outside; out-of-view rows off the image have 1."""
    o = synthdata.open_dataset(tiny_dataset).objects.to_pandas()
    iv = o[o.in_view]
    assert (iv[iv.truncated].truncation > 0).all() and (iv.truncation.between(0, 1)).all()
    assert (iv[~iv.truncated].truncation == 0).mean() > 0.8
