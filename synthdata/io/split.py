"""Which split (train/val/test) a clip belongs to: a fixed function of the run's seed and the clip's
index, so the same clip lands in the same split whatever the run's size, on every machine."""

from __future__ import annotations

import hashlib

__all__ = ["SPLITS", "split_of"]

SPLITS = ("train", "val", "test")


def split_of(seed: int, clip_index: int, fractions: dict[str, float]) -> str:
    """The split of clip ``clip_index`` of a run with root ``seed``: a uniform number from a hash of
    both, cut at the cumulative ``fractions`` (train, then val, then test)."""
    digest = hashlib.sha256(f"synthdata-split:{seed}:{clip_index}".encode()).digest()
    u = int.from_bytes(digest[:8], "little") / 2.0**64
    edge = 0.0
    for name in SPLITS:
        edge += fractions.get(name, 0.0)
        if u < edge:
            return name
    return next((n for n in reversed(SPLITS) if fractions.get(n, 0.0) > 0), "train")  # rounding at the top edge
