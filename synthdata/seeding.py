"""Seed derivation: every random draw flows from (recipe layout hash, root seed, clip index)."""

from __future__ import annotations

import numpy as np

__all__ = ["clip_seed", "clip_rng"]


def clip_seed(layout_hash: str, seed: int, clip_index: int) -> int:
    """A 63-bit seed for one clip, independent of how clips are sharded or scheduled."""
    words = [int(layout_hash[i : i + 8], 16) for i in range(0, 32, 8)]
    ss = np.random.SeedSequence([int(seed), *words, int(clip_index)])
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def clip_rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))
