"""Distances between two sets of videos, measured with a :class:`VideoEncoder` trained here.

- **FVD** (Fréchet video distance): the Fréchet distance between Gaussian fits of the two sets'
  embeddings, ``|μa − μb|² + tr(Σa + Σb − 2 (Σa^½ Σb Σa^½)^½)``. The matrix square root is taken
  through symmetric eigendecompositions (numpy ``eigh``) rather than ``scipy.linalg.sqrtm`` of the
  non-symmetric product Σa·Σb: for PSD covariances this is exact, always real, and stays stable when
  Σ is singular (fewer clips than dimensions) — the case where ``sqrtm`` returns complex noise. It also
  keeps scipy, which synthdata does not depend on, out of the picture.
- **KID-style kernel distance**: the unbiased MMD² with the cubic polynomial kernel
  ``k(x, y) = (xᵀy / d + 1)³`` (Bińkowski et al., "Demystifying MMD GANs", 2018), averaged over random
  subsets, with its standard deviation. Unbiased means it can be slightly negative when the sets match.

Both are only comparable between results that used the SAME encoder (``VideoDistances.encoder`` holds
its fingerprint): the encoder is trained on the user's clips because no pretrained video network can be
downloaded, so a different training set or seed is a different ruler. Compare several candidates
against one target with :func:`train_and_compare` (one encoder for all of them), or save an encoder
(``save_pretrained``) and reuse it across runs.

Embeddings: (N, D) float64 arrays, one row per clip.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Sequence, Union

import numpy as np
import torch

from ..errors import UserError
from .video_encoder import EncoderConfig, VideoEncoder, train_video_encoder

__all__ = ["VideoDistances", "Comparison", "frechet_distance", "frechet_distance_gaussian", "gaussian_fit",
           "kernel_distance", "mmd2_unbiased", "polynomial_kernel", "embed_dataset", "distances_from_features",
           "video_distances", "train_and_compare"]

DatasetLike = Union[str, Path, Any]  # a path or a SynthDataset


@dataclass(frozen=True)
class VideoDistances:
    """Distances of set ``b`` from set ``a`` (``fvd`` and ``kid`` are symmetric in a and b).

    ``kid``/``kid_std``: mean and standard deviation of the unbiased MMD² over ``kid_subsets`` subsets
    of ``kid_subset_size`` clips per side. ``encoder``: fingerprint of the encoder that measured them —
    compare only numbers with the same fingerprint.
    """

    fvd: float
    kid: float
    kid_std: float
    n_a: int
    n_b: int
    kid_subsets: int
    kid_subset_size: int
    encoder: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Comparison:
    """What :func:`train_and_compare` returns: one :class:`VideoDistances` per candidate (target → candidate,
    in the candidates' order) and the encoder that measured all of them."""

    distances: list[VideoDistances]
    encoder: VideoEncoder
    train_on: str


# --------------------------------------------------------------------------------------------- Fréchet

def gaussian_fit(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D) of features (N, D), float64; needs N ≥ 2."""
    x = _features(features, "features")
    if len(x) < 2:
        raise ValueError(f"need at least 2 embeddings for a covariance, got {len(x)}")
    return x.mean(0), np.atleast_2d(np.cov(x, rowvar=False))


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """Square root of a symmetric PSD matrix (negative rounding-noise eigenvalues clipped to 0)."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance_gaussian(mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray) -> float:
    """Fréchet (2-Wasserstein²) distance between N(μa, Σa) and N(μb, Σb):
    ``|μa − μb|² + tr Σa + tr Σb − 2 tr (Σa^½ Σb Σa^½)^½``, clipped at 0 against rounding."""
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    cov_a, cov_b = np.atleast_2d(np.asarray(cov_a, np.float64)), np.atleast_2d(np.asarray(cov_b, np.float64))
    if mu_a.shape != mu_b.shape or cov_a.shape != cov_b.shape or cov_a.shape != (len(mu_a), len(mu_a)):
        raise ValueError(f"shapes disagree: μa {mu_a.shape}, Σa {cov_a.shape}, μb {mu_b.shape}, Σb {cov_b.shape}")
    ra = _psd_sqrt(cov_a)
    cross = np.linalg.eigvalsh(ra @ cov_b @ ra)  # symmetric PSD: its eigenvalues are those of Σa·Σb
    tr_sqrt = np.sqrt(np.clip(cross, 0, None)).sum()
    d = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * tr_sqrt)
    return max(d, 0.0)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussian fits of two embedding sets (N, D) and (M, D)."""
    return frechet_distance_gaussian(*gaussian_fit(a), *gaussian_fit(b))


# ---------------------------------------------------------------------------------------------- kernel

def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, gamma: float | None = None,
                      coef0: float = 1.0) -> np.ndarray:
    """``(γ xᵀy + c)^degree`` with γ = 1/D by default (KID's kernel). (N, D), (M, D) → (N, M)."""
    g = 1.0 / x.shape[1] if gamma is None else gamma
    return (g * (x @ y.T) + coef0) ** degree


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, degree: int = 3) -> float:
    """Unbiased MMD² between samples (N, D) and (M, D), N, M ≥ 2: kernel means over distinct pairs
    within each sample, minus twice the cross mean. Its expectation is 0 when both come from one
    distribution (so single estimates scatter around 0, negative ones included)."""
    n, m = len(x), len(y)
    if n < 2 or m < 2:
        raise ValueError(f"need at least 2 samples per side, got {n} and {m}")
    kxx, kyy, kxy = polynomial_kernel(x, x, degree), polynomial_kernel(y, y, degree), polynomial_kernel(x, y, degree)
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * kxy.mean())


def kernel_distance(a: np.ndarray, b: np.ndarray, subsets: int = 100, subset_size: int = 1000, degree: int = 3,
                    seed: int = 0) -> tuple[float, float, int]:
    """KID: unbiased polynomial-kernel MMD² on ``subsets`` random subsets (without replacement, seeded)
    of ``min(subset_size, N, M)`` rows per side. Returns (mean, std, subset size used). When both sets
    are no larger than the subset size every subset is the whole set, so std is 0."""
    a, b = _features(a, "a"), _features(b, "b")
    k = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    vals = [mmd2_unbiased(a[rng.choice(len(a), k, replace=False)], b[rng.choice(len(b), k, replace=False)], degree)
            for _ in range(subsets)]
    return float(np.mean(vals)), float(np.std(vals)), k


def _features(x: Any, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ValueError(f"{name}: expected finite embeddings (N, D), got shape {x.shape}")
    return x


def distances_from_features(a: np.ndarray, b: np.ndarray, encoder: str = "", subsets: int = 100,
                            subset_size: int = 1000, seed: int = 0) -> VideoDistances:
    """FVD and KID of two embedding sets (N, D), (M, D); ``encoder`` is recorded as the fingerprint."""
    a, b = _features(a, "a"), _features(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"embedding sizes disagree: {a.shape[1]} vs {b.shape[1]} (different encoders?)")
    kid, kid_std, k = kernel_distance(a, b, subsets, subset_size, seed=seed)
    return VideoDistances(fvd=frechet_distance(a, b), kid=kid, kid_std=kid_std, n_a=len(a), n_b=len(b),
                          kid_subsets=subsets, kid_subset_size=k, encoder=encoder)


# ---------------------------------------------------------------------------------------------- datasets

def _open(ds: DatasetLike, field: str):
    from ..io.reader import SynthDataset, open_dataset

    if isinstance(ds, SynthDataset):
        return ds
    return open_dataset(ds, field=field)


def embed_dataset(ds: DatasetLike, encoder: VideoEncoder, device: str | torch.device | None = None,
                  batch: int = 64) -> np.ndarray:
    """One embedding per clip of a dataset (N, embed_dim) float64, in clip order."""
    ds = _open(ds, "dataset")
    if device is not None:
        encoder = encoder.to(device)
    return encoder.embed((c.video() for c in ds), batch=batch)


def video_distances(a: DatasetLike, b: DatasetLike, encoder: VideoEncoder, device: str | torch.device | None = None,
                    *, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> VideoDistances:
    """Embed every clip of datasets ``a`` and ``b`` with ``encoder`` and measure FVD and KID between them.
    Each side needs at least 2 clips (a covariance; distinct kernel pairs)."""
    fa = embed_dataset(_open(a, "a"), encoder, device)
    fb = embed_dataset(_open(b, "b"), encoder, device)
    for name, f in (("a", fa), ("b", fb)):
        if len(f) < 2:
            raise UserError(name, f"need at least 2 clips to measure a video distance, got {len(f)}")
    return distances_from_features(fa, fb, encoder.fingerprint(), subsets, subset_size, seed)


def train_and_compare(target: DatasetLike, candidates: DatasetLike | Sequence[DatasetLike], *,
                      train_on: Literal["union", "target"] = "union", config: EncoderConfig | str = "tiny",
                      steps: int = 200, batch: int = 32, seed: int = 0, device: str | torch.device = "cpu",
                      subsets: int = 100, subset_size: int = 1000) -> Comparison:
    """Train one encoder and measure every candidate's distance from ``target`` with it.

    ``train_on="union"`` (default): the encoder sees the target and ALL candidates, so every set it
    scores is in its training distribution, and all candidates of this call share one ruler (their
    distances rank them). Numbers from another call are not comparable (the union differs).
    ``train_on="target"``: the encoder sees only the target; it does not depend on the candidates, so
    saving it (``comparison.encoder.save_pretrained``) and reusing it keeps later candidates comparable
    — at the cost of embedding candidates from a domain it never saw.
    """
    if train_on not in ("union", "target"):
        raise UserError("train_on", f"expected 'union' or 'target', got {train_on!r}")
    from ..io.reader import SynthDataset

    single = isinstance(candidates, (str, Path, SynthDataset))
    cands = [_open(c, f"candidates[{i}]") for i, c in enumerate([candidates] if single else candidates)]
    if not cands:
        raise UserError("candidates", "expected at least one dataset to compare with the target")
    tgt = _open(target, "target")
    for name, ds in (("target", tgt), *((f"candidates[{i}]", c) for i, c in enumerate(cands))):
        if len(ds) < 2:  # checked before training, not after
            raise UserError(name, f"need at least 2 clips to measure a video distance, got {len(ds)}")
    enc = train_video_encoder([tgt, *cands] if train_on == "union" else [tgt], config, steps=steps, batch=batch,
                              seed=seed, device=device)
    enc.provenance["train_on"] = train_on
    ft = embed_dataset(tgt, enc)
    fp = enc.fingerprint()
    out = []
    for c in cands:
        fc = embed_dataset(c, enc)
        out.append(distances_from_features(ft, fc, fp, subsets, subset_size, seed))
    return Comparison(out, enc, train_on)
