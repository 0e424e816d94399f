"""The shadow pass and the re-traced rays test (ray, primitive) pairs batched over objects, one call per
primitive kind (raycast/backend.py): the same answers as one call per object."""

from types import SimpleNamespace

import pytest
import torch

from synthdata.render.raycast import backend as rb

pytestmark = pytest.mark.unit


def _boxes():
    """Two unit boxes 2 m up, at x = 0 and x = 5, one frame; the sun straight overhead."""
    st = SimpleNamespace(obj_R=torch.eye(3).expand(1, 2, 3, 3).clone(),
                         obj_c=torch.tensor([[[0.0, 0.0, 2.0], [5.0, 0.0, 2.0]]]), half=torch.ones(2, 3))
    q = torch.tensor([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    return st, torch.tensor([0]), q, torch.tensor([0.0, 0.0, 1.0])


@pytest.mark.parametrize("pairs", [1, 1 << 18], ids=["one-call-per-object", "batched"])
def test_a_point_under_one_object_stays_shadowed_whatever_else_it_is_tested_against(monkeypatch, pairs):
    """Every point is a candidate of both boxes (one kind: one call). A point under the first box and
    missed by the second stays shadowed: the second pair's miss must not overwrite the first's hit."""
    monkeypatch.setattr(rb, "PAIRS_PER_CALL", pairs)
    st, ks, q, L = _boxes()
    out = torch.zeros(4, dtype=torch.bool)
    tests = rb._ShadowTests(st, ks, q, L, ["box", "box"], out)
    every = torch.arange(4)
    tests.add(0, every, torch.zeros(4, dtype=torch.long))
    tests.add(1, every, torch.zeros(4, dtype=torch.long))
    assert tests.flush().tolist() == [True, True, False, True]


def test_kinds_are_tested_with_their_own_primitive():
    """A sphere of radius 1 at x = 0 misses the point at (0.9, 0.9) that the unit box above it covers."""
    st, ks, q, L = _boxes()
    q = torch.tensor([[0.9, 0.9, 0.0], [5.9, 0.9, 0.0]])
    out = rb._ShadowTests(st, ks, q, L, ["sphere", "box"], torch.zeros(2, dtype=torch.bool))
    out.add(0, torch.tensor([0]), torch.tensor([0]))
    out.add(1, torch.tensor([1]), torch.tensor([0]))
    assert out.flush().tolist() == [False, True]


@pytest.mark.parametrize("pairs", [1, 1 << 18], ids=["one-call-per-object", "batched"])
def test_the_nearest_hit_wins_and_a_tie_goes_to_the_lower_index(monkeypatch, pairs):
    """Re-traced rays from the origin up +z: object 0 (a box) and object 1 (a sphere) both 5 m up, met
    at exactly t = 4 by ray 0 (the box's index wins, across kinds); object 2, a box 3 m up and added
    last, is nearer for ray 1; ray 2 pairs with nothing. As the object-by-object loop decided."""
    monkeypatch.setattr(rb, "PAIRS_PER_CALL", pairs)
    st = SimpleNamespace(obj_R=torch.eye(3).expand(1, 3, 3, 3).clone(),
                         obj_c=torch.tensor([[[0.0, 0.0, 5.0], [0.0, 0.0, 5.0], [0.0, 0.0, 3.0]]]), half=torch.ones(3, 3))
    d = torch.tensor([[0.0, 0.0, 1.0]] * 3)
    t_near, near = torch.full((3,), float("inf")), torch.zeros(3, dtype=torch.long)
    hits = rb._NearestHits(st, torch.tensor([0]), torch.zeros(1, 3), d, ["box", "sphere", "box"], t_near, near)
    both, zero = torch.tensor([0, 1]), torch.zeros(2, dtype=torch.long)
    hits.add(0, both, zero)
    hits.add(1, both, zero)
    hits.add(2, torch.tensor([1]), torch.tensor([0]))
    t, i = hits.flush()
    assert t.tolist() == [4.0, 2.0, float("inf")] and i.tolist() == [0, 2, 0]
