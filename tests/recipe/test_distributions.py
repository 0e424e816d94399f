import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from synthdata.recipe.distributions import Num, draw, support

NUM = TypeAdapter(Num)


@pytest.mark.parametrize("raw, lo, hi", [
    ({"uniform": [2, 3]}, 2, 3),
    ({"randint": [1, 4]}, 1, 4),
    ({"choice": [5, 7, 9]}, 5, 9),
    ({"bernoulli": 0.5}, 0, 1),
    ({"loguniform": [0.1, 10]}, 0.1, 10),
])
def test_draws_stay_in_support(raw, lo, hi):
    value = NUM.validate_python(raw)
    rng = np.random.default_rng(0)
    xs = [draw(value, rng) for _ in range(200)]
    assert min(xs) >= lo and max(xs) <= hi
    assert len(set(xs)) > 1  # actually random
    assert support(value) == (lo, hi)


def test_normal_and_poisson_moments():
    rng = np.random.default_rng(1)
    n = NUM.validate_python({"normal": [3, 0.5]})
    p = NUM.validate_python({"poisson": 4})
    assert abs(np.mean([draw(n, rng) for _ in range(4000)]) - 3) < 0.05
    assert abs(np.mean([draw(p, rng) for _ in range(4000)]) - 4) < 0.15


def test_weighted_choice_and_nested_vectors():
    rng = np.random.default_rng(2)
    c = NUM.validate_python({"choice": [1, 2], "weights": [0, 1]})
    assert {draw(c, rng) for _ in range(50)} == {2}
    assert draw([1.0, NUM.validate_python({"uniform": [4, 4]}), 2.0], rng) == [1.0, 4.0, 2.0]


@pytest.mark.parametrize("raw", [{"uniform": [0, 1]}, {"normal": [0, 1]}, {"loguniform": [0.1, 10]},
                                 {"randint": [0, 1000]}, {"choice": [1, 2, 3, 4, 5, 6, 7, 8]}, {"poisson": 20}])
def test_same_seed_same_values_other_seed_other_values(raw):
    """Determinism, and not the trivial kind: a constant sampler (or one ignoring the rng) fails."""
    v = NUM.validate_python(raw)
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    a = [draw(v, rng_a) for _ in range(20)]
    assert a == [draw(v, rng_b) for _ in range(20)]
    assert len(set(a)) > 3  # successive draws of one stream differ
    rng_c = np.random.default_rng(8)
    other = [draw(v, rng_c) for _ in range(20)]
    assert other != a


@pytest.mark.parametrize("raw", [{"uniform": [3, 2]}, {"normal": [0, -1]}, {"poisson": -1}, {"bernoulli": 2},
                                 {"choice": []}, {"uniform": [1, 2], "normal": [0, 1]}, {"gauss": [0, 1]}])
def test_bad_distributions_rejected(raw):
    with pytest.raises(ValidationError):
        NUM.validate_python(raw)
