"""Statistics for ablations, as rliable reports them (Agarwal et al., NeurIPS 2021): interquartile mean,
stratified bootstrap confidence intervals, probability of improvement.

An arm's result is a score matrix ``(S, C)``: S training seeds × C evaluation clips (the task's primary
metric per clip). Arms are compared *paired*: seed s of every arm shares its data order and init seed,
and every arm is scored on the same clips, so the bootstrap resamples the same (seed, clip) indices for
both arms. Clips are resampled within their stratum (e.g. their source or dominant class) so each
resample keeps the evaluation set's composition; seeds are resampled as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["Comparison", "iqm", "compare_arms", "probability_of_improvement", "verdict"]


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean: the mean of the middle 50% of the values (robust to an outlying seed)."""
    x = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    n = len(x)
    if n == 0:
        return float("nan")
    lo, hi = n / 4, 3 * n / 4  # fractional trimming, as scipy.stats.trim_mean with weights at the cut
    idx = np.arange(n)
    w = np.clip(np.minimum(idx + 1, hi) - np.maximum(idx, lo), 0, 1)
    return float((w * x).sum() / w.sum())


def probability_of_improvement(arm: np.ndarray, base: np.ndarray) -> float:
    """P(a run of ``arm`` beats a run of ``base``): Mann–Whitney U / (n·m) over per-seed means, ties ½."""
    a, b = np.asarray(arm, float).reshape(-1, 1), np.asarray(base, float).reshape(1, -1)
    return float(((a > b) + 0.5 * (a == b)).mean())


@dataclass(frozen=True)
class Comparison:
    """``arm`` − ``baseline`` on one metric, with a bootstrap interval (``level``, percentile method)."""

    arm: str
    baseline: str
    metric: str
    delta: float
    low: float
    high: float
    p_improve: float
    p_improve_low: float
    p_improve_high: float
    iqm_arm: float
    iqm_baseline: float
    resamples: int
    level: float = 0.95

    @property
    def significant(self) -> bool:
        """The interval excludes zero."""
        return self.low > 0 or self.high < 0


def compare_arms(arm: np.ndarray, base: np.ndarray, *, arm_name: str = "arm", base_name: str = "baseline",
                 metric: str = "score", strata: Sequence[object] | None = None, resamples: int = 2000,
                 level: float = 0.95, seed: int = 0) -> Comparison:
    """Paired stratified bootstrap of mean(arm − base) over (seed, clip).

    Shape: ``arm``, ``base`` (S, C) with the same seeds and clips in the same order; ``strata`` (C,)
    labels for the clips (default: one stratum).
    """
    a, b = np.asarray(arm, np.float64), np.asarray(base, np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"score matrices must be (seeds, clips) of one shape, got {a.shape} and {b.shape}")
    S, C = a.shape
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(np.asarray(strata, dtype=object) == s) for s in dict.fromkeys(strata)] \
        if strata is not None else [np.arange(C)]
    diff = a - b
    deltas, pis = np.empty(resamples), np.empty(resamples)
    for r in range(resamples):
        seeds = rng.integers(0, S, S)
        clips = np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups])
        deltas[r] = diff[np.ix_(seeds, clips)].mean()
        pis[r] = probability_of_improvement(a[np.ix_(seeds, clips)].mean(1), b[np.ix_(seeds, clips)].mean(1))
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    low, high = np.percentile(deltas, q)
    pl, ph = np.percentile(pis, q)
    return Comparison(arm_name, base_name, metric, float(diff.mean()), float(low), float(high),
                      probability_of_improvement(a.mean(1), b.mean(1)), float(pl), float(ph),
                      iqm(a.mean(1)), iqm(b.mean(1)), resamples, level)


def verdict(c: Comparison, scale: float = 1.0, unit: str = "") -> str:
    """One plain line per arm: ``+2.1 mIoU [0.8, 3.4], P(improve)=0.97`` or ``no detectable difference``.
    ``scale`` converts the metric for display (100 for percentages)."""
    name = unit or c.metric
    d, lo, hi = c.delta * scale, c.low * scale, c.high * scale
    interval = f"{d:+.1f} {name} [{lo:+.1f}, {hi:+.1f}], P(improve)={c.p_improve:.2f}"
    if not c.significant:
        return f"{c.arm} vs {c.baseline}: no detectable difference ({interval})"
    return f"{c.arm} vs {c.baseline}: {interval}"
