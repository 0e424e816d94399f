"""The training stream of one run: which clip of which source each sample is, fixed by the seed.

Every arm draws ``steps × batch`` samples (equal compute); a sample's source is drawn with
probability proportional to its mixing weight, and each source is walked through in a seeded
permutation (reshuffled every pass), so a source with few clips is repeated evenly rather than at
random. The plan is a pure function of (weights, sizes, budget, seed): two arms with one seed draw
the same real clips in the same order when their real weights agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SamplePlan", "plan_samples"]


@dataclass(frozen=True)
class SamplePlan:
    """Shape: ``source`` (steps, batch) index into ``names``; ``index`` (steps, batch) clip index
    within that source."""

    names: tuple[str, ...]
    source: np.ndarray
    index: np.ndarray

    def seen(self) -> dict[str, int]:
        """Samples drawn per source (reported beside the metrics)."""
        return {n: int((self.source == i).sum()) for i, n in enumerate(self.names)}


def plan_samples(weights: dict[str, float], sizes: dict[str, int], steps: int, batch: int, seed: int) -> SamplePlan:
    names = tuple(weights)
    p = np.array([weights[n] for n in names], dtype=np.float64)
    p /= p.sum()
    rng = np.random.default_rng([seed, 0x5A4D])  # the source draw: independent of the clip order below
    source = rng.choice(len(names), size=(steps, batch), p=p)
    index = np.empty_like(source)
    for i, name in enumerate(names):
        n = sizes[name]
        where = np.flatnonzero(source.ravel() == i)
        # each source gets its own stream, keyed by its name, so adding a source leaves the others' order alone
        order = np.random.default_rng([seed, *name.encode()])
        passes = -(-len(where) // n) if n else 0
        seq = np.concatenate([order.permutation(n) for _ in range(passes)]) if passes else np.empty(0, int)
        index.ravel()[where] = seq[:len(where)]
    return SamplePlan(names, source, index)
