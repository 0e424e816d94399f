"""The shadow pass's exact tests, batched over objects per primitive kind (raycast/backend.py)."""

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
    monkeypatch.setattr(rb, "SHADOW_PAIRS", pairs)
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
