"""Distributions a recipe may use wherever it takes a number, a name or a vector.

YAML form is a one-key mapping: ``{uniform: [a, b]}``, ``{normal: [mu, sigma]}``, ``{choice: [...]}``,
``{randint: [a, b]}`` (inclusive), ``{poisson: lam}`` (``max: n`` clips the draw), ``{bernoulli: p}``,
``{loguniform: [a, b]}``. A plain constant is always allowed. :func:`draw` resolves a value with an
explicit numpy ``Generator``.

Every number is finite and within ±:data:`MAX_ABS` (NaN, inf and 1e300 pass a schema check but break
the numpy draws and the renderer later), and a ``choice`` holds options of the field's kind (numbers
for a number, names for a name, vectors for a vector), so a bad option is refused at validation,
not in the middle of a run.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Uniform", "Normal", "Choice", "NumChoice", "IntChoice", "NameChoice", "VecChoice", "RandInt", "Poisson",
    "Bernoulli", "LogUniform", "Distribution", "DIST_KEYS", "MAX_ABS", "Real", "Int", "Num", "Count", "Name",
    "Vec3", "draw", "support",
]

#: Largest magnitude of any number in a recipe (metres, seconds, degrees, counts …); the seed is exempt.
MAX_ABS = 1e6
#: A finite number within ±MAX_ABS.
Real = Annotated[float, Field(ge=-MAX_ABS, le=MAX_ABS, allow_inf_nan=False)]
Int = Annotated[int, Field(ge=-MAX_ABS, le=MAX_ABS)]
#: The one key that makes a mapping a distribution (the loader replaces, never merges, such mappings).
DIST_KEYS = ("uniform", "normal", "choice", "randint", "poisson", "bernoulli", "loguniform")


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Uniform(_Dist):
    uniform: tuple[Real, Real]

    @field_validator("uniform")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] > v[1]:
            raise ValueError(f"uniform needs [low, high] with low <= high, got {list(v)}")
        return v

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(*self.uniform))


class LogUniform(_Dist):
    loguniform: tuple[Real, Real]

    @field_validator("loguniform")
    @classmethod
    def _positive(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] <= v[1]:
            raise ValueError(f"loguniform needs [low, high] with 0 < low <= high, got {list(v)}")
        return v

    def sample(self, rng: np.random.Generator) -> float:
        lo, hi = np.log(self.loguniform)
        return float(np.exp(rng.uniform(lo, hi)))


class Normal(_Dist):
    normal: tuple[Real, Real]

    @field_validator("normal")
    @classmethod
    def _sigma(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[1] < 0:
            raise ValueError(f"normal needs [mu, sigma] with sigma >= 0, got {list(v)}")
        return v

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.normal(*self.normal))


class RandInt(_Dist):
    randint: tuple[Int, Int]

    @field_validator("randint")
    @classmethod
    def _ordered(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] > v[1]:
            raise ValueError(f"randint needs [low, high] with low <= high, got {list(v)}")
        return v

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.randint[0], self.randint[1] + 1))


class Poisson(_Dist):
    """A Poisson count; ``max`` clips the draw (a count field fills in its own limit when absent)."""

    poisson: Real
    max: Optional[Annotated[int, Field(ge=0, le=MAX_ABS)]] = None

    @field_validator("poisson")
    @classmethod
    def _lam(cls, v: float) -> float:
        if v < 0:
            raise ValueError(f"poisson needs lam >= 0, got {v}")
        return v

    def sample(self, rng: np.random.Generator) -> int:
        n = int(rng.poisson(self.poisson))
        return n if self.max is None else min(n, self.max)


class Bernoulli(_Dist):
    bernoulli: Real

    @field_validator("bernoulli")
    @classmethod
    def _p(cls, v: float) -> float:
        if not 0 <= v <= 1:
            raise ValueError(f"bernoulli needs 0 <= p <= 1, got {v}")
        return v

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.random() < self.bernoulli)


class Choice(_Dist):
    """Base of the typed choices below; fields use the one of their kind."""

    choice: list[Any]
    weights: list[Real] | None = None

    @model_validator(mode="after")
    def _check(self) -> "Choice":
        if not self.choice:
            raise ValueError("choice needs at least one option")
        if self.weights is not None:
            if len(self.weights) != len(self.choice) or min(self.weights) < 0 or sum(self.weights) <= 0:
                raise ValueError("choice weights must be non-negative, one per option, not all zero")
        return self

    def sample(self, rng: np.random.Generator) -> Any:
        p = None if self.weights is None else np.asarray(self.weights) / np.sum(self.weights)
        return self.choice[int(rng.choice(len(self.choice), p=p))]


class NumChoice(Choice):
    choice: list[Num]  # numbers, or distributions of numbers


class IntChoice(Choice):
    choice: list[Int]


class NameChoice(Choice):
    choice: list[str]


class VecChoice(Choice):
    choice: list[tuple[Num, Num, Num]]


Distribution = Union[Uniform, Normal, Choice, RandInt, Poisson, Bernoulli, LogUniform]
Num = Union[Real, Uniform, Normal, NumChoice, RandInt, Poisson, Bernoulli, LogUniform]
Count = Union[Int, RandInt, Poisson, IntChoice]
Name = Union[str, NameChoice]
Vec3 = Union[tuple[Num, Num, Num], VecChoice]
NumChoice.model_rebuild()
VecChoice.model_rebuild()


def draw(value: Any, rng: np.random.Generator) -> Any:
    """Resolve a constant, a distribution, or a tuple/list of them, to plain Python values."""
    if isinstance(value, _Dist):
        return draw(value.sample(rng), rng)
    if isinstance(value, (tuple, list)):
        return [draw(v, rng) for v in value]
    return value


#: a normal's range checks cover mu ± this many sigma (draws beyond, 0.27% of them, are clipped by fields that clip)
NORMAL_SIGMAS = 3.0


def checked_range(value: Any) -> tuple[float, float] | None:
    """What a field's range check compares with its limits: :func:`support`, and for a normal (unbounded)
    its mu ± 3 sigma — a {normal: [50, 1000]} on a field of [1, 170] was accepted, then nearly every draw
    clipped to a limit without a word."""
    if isinstance(value, Normal):
        mu, sigma = value.normal
        return mu - NORMAL_SIGMAS * sigma, mu + NORMAL_SIGMAS * sigma
    if isinstance(value, Choice):
        bounds = [checked_range(c) for c in value.choice]
        if bounds and all(b is not None for b in bounds):
            return min(b[0] for b in bounds), max(b[1] for b in bounds)  # type: ignore[index]
        return None
    return support(value)


def support(value: Any) -> tuple[float, float] | None:
    """Bounds a numeric value can take (None when unbounded or not numeric); used for range checks."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value), float(value)
    if isinstance(value, Uniform):
        return value.uniform
    if isinstance(value, LogUniform):
        return value.loguniform
    if isinstance(value, RandInt):
        return float(value.randint[0]), float(value.randint[1])
    if isinstance(value, Bernoulli):
        return 0.0, 1.0
    if isinstance(value, Poisson):
        return 0.0, float("inf") if value.max is None else float(value.max)
    if isinstance(value, Choice):
        bounds = [support(c) for c in value.choice]
        if bounds and all(b is not None for b in bounds):
            return min(b[0] for b in bounds), max(b[1] for b in bounds)  # type: ignore[index]
    return None
