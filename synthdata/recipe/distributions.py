"""Distributions a recipe may use wherever it takes a number, a name or a vector.

YAML form is a one-key mapping: ``{uniform: [a, b]}``, ``{normal: [mu, sigma]}``, ``{choice: [...]}``,
``{randint: [a, b]}`` (inclusive), ``{poisson: lam}``, ``{bernoulli: p}``, ``{loguniform: [a, b]}``.
A plain constant is always allowed. :func:`draw` resolves a value with an explicit numpy ``Generator``.
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

__all__ = [
    "Uniform", "Normal", "Choice", "RandInt", "Poisson", "Bernoulli", "LogUniform",
    "Distribution", "Num", "Count", "Name", "Vec3", "draw", "support",
]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Uniform(_Dist):
    uniform: tuple[float, float]

    @field_validator("uniform")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] > v[1]:
            raise ValueError(f"uniform needs [low, high] with low <= high, got {list(v)}")
        return v

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(*self.uniform))


class LogUniform(_Dist):
    loguniform: tuple[float, float]

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
    normal: tuple[float, float]

    @field_validator("normal")
    @classmethod
    def _sigma(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[1] < 0:
            raise ValueError(f"normal needs [mu, sigma] with sigma >= 0, got {list(v)}")
        return v

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.normal(*self.normal))


class RandInt(_Dist):
    randint: tuple[int, int]

    @field_validator("randint")
    @classmethod
    def _ordered(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] > v[1]:
            raise ValueError(f"randint needs [low, high] with low <= high, got {list(v)}")
        return v

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.randint[0], self.randint[1] + 1))


class Poisson(_Dist):
    poisson: float

    @field_validator("poisson")
    @classmethod
    def _lam(cls, v: float) -> float:
        if v < 0:
            raise ValueError(f"poisson needs lam >= 0, got {v}")
        return v

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.poisson(self.poisson))


class Bernoulli(_Dist):
    bernoulli: float

    @field_validator("bernoulli")
    @classmethod
    def _p(cls, v: float) -> float:
        if not 0 <= v <= 1:
            raise ValueError(f"bernoulli needs 0 <= p <= 1, got {v}")
        return v

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.random() < self.bernoulli)


class Choice(_Dist):
    choice: list[Any]
    weights: list[float] | None = None

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


Distribution = Union[Uniform, Normal, Choice, RandInt, Poisson, Bernoulli, LogUniform]
Num = Union[float, Uniform, Normal, Choice, RandInt, Poisson, Bernoulli, LogUniform]
Count = Union[int, RandInt, Poisson, Choice]
Name = Union[str, Choice]
Vec3 = Union[tuple[Num, Num, Num], Choice]


def draw(value: Any, rng: np.random.Generator) -> Any:
    """Resolve a constant, a distribution, or a tuple/list of them, to plain Python values."""
    if isinstance(value, _Dist):
        return draw(value.sample(rng), rng)
    if isinstance(value, (tuple, list)):
        return [draw(v, rng) for v in value]
    return value


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
        return 0.0, float("inf")
    if isinstance(value, Choice) and all(isinstance(c, (int, float)) for c in value.choice):
        return float(min(value.choice)), float(max(value.choice))
    return None
