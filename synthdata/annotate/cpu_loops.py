"""Annotation passes as compiled loops (numba) over a clip's pixels, for the CPU (:mod:`synthdata.jit`
says when): each reads every pixel once where the torch passes make clip-size temporaries. Same
results as the torch passes, bit for bit (each pass's tests compare the two).

- :func:`flow_validity` (:mod:`.flow_valid`): ~20 temporaries (landing coordinates, indices, gathered
  back flows) → one read of each pixel's flow and its landing pixel (shapes 256²×24: 54 → 12 ms);
- :func:`instance_stats` (:mod:`.masks`): two bincounts over (frame, column/row, id) keys → one pass
  keeping each object's count and extent.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["flow_validity", "instance_stats"]

_HALF = np.float32(0.5)


@njit(cache=True, nogil=True, error_model="numpy")
def flow_validity(fwd, bwd, owner, tol2, out):
    """Bit 0: forward flow valid, bit 1: backward flow valid. ``tol2``: the tolerance squared (float32).
    Shape: fwd, bwd (T,H,W,2) float32, owner (T,H,W) → out (T,H,W) uint8.

    Written out in one body: a helper per direction, even inlined, made the loop five times slower."""
    T, H, W = owner.shape
    Wf, Hf = np.float32(W), np.float32(H)  # compared in float32, as the torch passes compare
    for t in range(T):
        for y in range(H):
            for x in range(W):
                bits = 0
                for bit in (1, 2):
                    flow, back, to = (fwd, bwd, t + 1) if bit == 1 else (bwd, fwd, t - 1)
                    fx, fy = flow[t, y, x, 0], flow[t, y, x, 1]
                    tx, ty = np.float32(x) + _HALF + fx, np.float32(y) + _HALF + fy
                    if not (tx >= 0 and tx < Wf and ty >= 0 and ty < Hf):  # also where the flow is not finite
                        continue
                    if to < 0 or to >= T:  # the other frame is not rendered: no consistency test
                        bits |= bit
                        continue
                    qx, qy = int(tx), int(ty)
                    ex, ey = fx + back[to, qy, qx, 0], fy + back[to, qy, qx, 1]
                    if ex * ex + ey * ey <= tol2 and owner[to, qy, qx] == owner[t, y, x]:
                        bits |= bit
                out[t, y, x] = bits


@njit(cache=True, nogil=True, error_model="numpy")
def instance_stats(instance, K, pixels, extent):
    """Per frame and id 1 … K-1 of ``instance`` (T,H,W) (0: background; others ignored): the pixel count
    → ``pixels`` (T,K) int64, zeroed; and the first and one-past-last column and row holding it →
    ``extent`` (T,K,4) int64 x0, y0, x1, y1, filled with (W, H, 0, 0)."""
    T, H, W = instance.shape
    for t in range(T):
        for y in range(H):
            for x in range(W):
                k = instance[t, y, x]
                if k <= 0 or k >= K:
                    continue
                pixels[t, k] += 1
                e = extent[t, k]
                e[0], e[1] = min(e[0], x), min(e[1], y)
                e[2], e[3] = max(e[2], x + 1), max(e[3], y + 1)
