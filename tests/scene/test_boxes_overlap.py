"""The oriented-box test scene sampling and the plausibility checks rely on (geometry.boxes_overlap)."""

import numpy as np
import pytest

from synthdata.geometry import boxes_overlap, pose, rot_x, rot_z

pytestmark = pytest.mark.unit


def _textbook(c1, r1, h1, c2, r2, h2):
    """The separating-axis test written out axis by axis, one pair of boxes at a time."""
    d = c2 - c1
    axes = [r1[:, i] for i in range(3)] + [r2[:, i] for i in range(3)]
    axes += [np.cross(r1[:, i], r2[:, j]) for i in range(3) for j in range(3)]
    for a in axes:
        n = np.linalg.norm(a)
        if n <= 1e-9:
            continue
        a = a / n
        reach = sum(h1[i] * abs(a @ r1[:, i]) for i in range(3)) + sum(h2[i] * abs(a @ r2[:, i]) for i in range(3))
        if abs(a @ d) >= reach:
            return False
    return True


def _random_boxes(rng, n, upright):
    c = rng.normal(size=(n, 3))
    r = np.stack([rot_z(a) if upright else rot_z(a) @ rot_x(b) @ rot_z(g)
                  for a, b, g in rng.uniform(0, 2 * np.pi, (n, 3))])
    return c, r, rng.uniform(0.1, 1.5, (n, 3))


@pytest.mark.parametrize("upright", [True, False], ids=["upright", "tumbled"])
def test_agrees_with_the_textbook_test_pair_by_pair(upright):
    """Random boxes, in both call shapes the library uses: one box against many (a placement against
    those placed) and (T, K) pairs (every pair at every frame)."""
    rng = np.random.default_rng(7)
    c1, r1, h1 = _random_boxes(rng, 400, upright)
    c2, r2, h2 = _random_boxes(rng, 400, upright)
    want = np.array([_textbook(c1[k], r1[k], h1[k] + 0.05, c2[k], r2[k], h2[k] + 0.05) for k in range(400)])
    assert 0.2 < want.mean() < 0.8  # both answers are exercised
    got = boxes_overlap(c1.reshape(20, 20, 3), r1.reshape(20, 20, 3, 3), h1.reshape(20, 20, 3),
                        c2.reshape(20, 20, 3), r2.reshape(20, 20, 3, 3), h2.reshape(20, 20, 3), margin=0.05)
    assert got.shape == (20, 20) and (got.reshape(-1) == want).all()
    one = boxes_overlap(c1[0], r1[0], h1[0], c2, r2, h2)
    assert (one == [_textbook(c1[0], r1[0], h1[0], c2[k], r2[k], h2[k]) for k in range(400)]).all()


def test_touching_boxes_and_a_corner_past_an_edge():
    """Faces that touch do not overlap; a 45°-turned box whose corner reaches past the other's face
    does, and one whose corner stops short does not (only the edge-cross axes separate them)."""
    eye, h = np.eye(3), np.ones(3)
    assert not boxes_overlap(np.zeros(3), eye, h, np.array([2.0, 0, 0]), eye, h)
    assert boxes_overlap(np.zeros(3), eye, h, np.array([1.999, 0, 0]), eye, h)
    turned = pose(rot_z(np.pi / 4), np.zeros(3))[:3, :3]
    corner = 1 + np.sqrt(2)  # centre distance at which the turned box's edge touches the face
    assert boxes_overlap(np.zeros(3), eye, h, np.array([corner - 0.01, 0, 0]), turned, h)
    assert not boxes_overlap(np.zeros(3), eye, h, np.array([corner + 0.01, 0, 0]), turned, h)
    tilted = rot_x(np.pi / 4) @ rot_z(np.pi / 4)  # edge against edge: a cross-product axis separates
    gap = np.array([1.2, 1.2, 1.2])
    assert boxes_overlap(np.zeros(3), eye, h, gap, tilted, h) == _textbook(np.zeros(3), eye, h, gap, tilted, h)
