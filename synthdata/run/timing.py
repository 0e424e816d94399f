"""Per-stage wall-clock accounting (sample, rollout, render, annotate, encode, write)."""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Iterator

from ..lazy import torch

__all__ = ["StageTimer"]


class StageTimer:
    """``with timer("render"): ...`` adds the block's seconds to that stage. ``sync`` waits for CUDA so
    GPU time lands in the right stage (off by default: it costs overlap)."""

    def __init__(self, sync: bool = False):
        self.seconds: dict[str, float] = defaultdict(float)
        self.sync = sync and torch.cuda.is_available()

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            if self.sync:
                torch.cuda.synchronize()
            self.seconds[stage] += time.perf_counter() - t0

    def ms(self, per: int = 1) -> dict[str, float]:
        return {k: round(1000 * v / max(per, 1), 3) for k, v in self.seconds.items()}
