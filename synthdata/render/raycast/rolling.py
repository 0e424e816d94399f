"""Rolling shutter for the ray-caster (``backend.rolling_shutter``): rows are read out top to bottom
over a fraction ``rs`` of the frame interval, row r exposed at frame time + ((r + 0.5)/H − 0.5)·rs
frames (the centre row at the frame time).

The image is rendered in horizontal bands of rows, each band wholly from the trajectories at its own
instant (the mean of its rows' times, :func:`band_rows`), so RGB and the whole G-buffer of a band come
from the same rays: instance, depth, normals, surface and amodal agree with RGB exactly, and flow is
defined between band instants (a pixel's surface point moved to the *same band's* instant of frame
k ± 1). A band is a small image whose principal point is moved up by its first row (cy − r0), so the
renderer's ray, culling, flow and particle code runs on it unchanged; the cost stays ~1× plus a
per-band overhead. :attr:`Frames.row_time` hands the quantised row instants to the labels that
project 3D points (:mod:`synthdata.annotate.rolling`), so they use exactly the rendered times.

Shapes: H×W image; nb bands; B frames per batch.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from ...lazy import torch

from ...motion.shift import shifted
from ...motion.types import Trajectories
from ...scene.types import Scene

__all__ = ["ROWS_PER_BAND", "band_rows", "rolling_bands", "row_times", "trace_rolling"]

#: default band height (rows): quantisation error of a row's time ≤ 4/H·rs frames (docs/backends.md)
ROWS_PER_BAND = 8


def band_rows(H: int, bands: int | None) -> list[tuple[int, int]]:
    """[r0, r1) of each band, top to bottom; ``bands`` None: one per ``ROWS_PER_BAND`` rows."""
    nb = min(H, bands or math.ceil(H / ROWS_PER_BAND))
    edges = np.round(np.linspace(0, H, nb + 1)).astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def _band_delta(r0: int, r1: int, H: int, rs: float) -> float:
    """A band's instant, frames after the frame time: the mean of its rows' times."""
    return ((r0 + r1) / 2 / H - 0.5) * rs


def row_times(H: int, rs: float, bands: int | None) -> np.ndarray:
    """(H,) float64 exposure instant of each row as rendered (its band's), frames after the frame time."""
    return np.concatenate([np.full(r1 - r0, _band_delta(r0, r1, H, rs)) for r0, r1 in band_rows(H, bands)])


def rolling_bands(backend: Any, scene: Scene, traj: Trajectories, st: Any) -> list[tuple[int, Any, list | None]]:
    """The clip's bands, top to bottom: (rows, the band's scene tensors at its instant, those at each
    motion-blur instant or None). A band is an image of its own (principal point moved up by its first
    row); its tensors hold the whole clip's frames, so any batch of frames traces in them. ``st`` is the
    frame-time scene tensors (its type builds the bands')."""
    s = backend.settings
    H, n = scene.camera.height, s.instants
    build = type(st).build
    bands = []
    for r0, r1 in band_rows(H, s.rolling_bands):
        K = scene.camera.K.copy()
        K[1, 2] -= r0  # the band as an image of its own

        def at(delta: float, K=K):
            return dataclasses.replace(build(scene, shifted(traj, delta), backend.device), K=K)

        d = _band_delta(r0, r1, H, s.rolling_shutter)
        blurred = [at(d + s.shutter * ((j + 0.5) / n - 0.5)) for j in range(n)] if n > 1 else None
        bands.append((r1 - r0, at(d), blurred))
    return bands


def trace_rolling(backend: Any, scene: Scene, bands: list, ks: torch.Tensor) -> dict[str, torch.Tensor]:
    """Linear RGB and G-buffer of frames ``ks`` (one trace batch), band by band (module docstring), as
    ``render`` traces a batch: (B,H,W,…) maps, amodal (B,N,H,W). Rendering stays local to the batch (a
    band's instant is its own frame's time plus a fraction of the interval, from the whole clip's
    trajectories), so a clip may be made in windows of whole batches. ``bands``: :func:`rolling_bands`."""
    W = scene.camera.width
    outs = [backend._trace_batch(scene, sb, blurred or [sb], ks, h, W) for h, sb, blurred in bands]  # as render
    return {k: torch.cat([o[k] for o in outs], 2 if k == "amodal" else 1) for k in outs[0]}
