"""Warm-up task: what a shard task needs, imported on a worker as soon as it is up.

An embedded cluster's driver submits this to every worker right after start-up, so the imports
(torch, the ray-caster, the pipeline, the writers: a second or more) run in the workers' processes
while the driver is still loading the recipe, instead of in front of each worker's first shard.
"""

from __future__ import annotations

import os

__all__ = ["warm_up"]


def warm_up() -> int:
    """Import the shard stack in this process; returns its pid."""
    import torch  # noqa: F401  (most of the cost)

    from ..io import sinks  # noqa: F401
    from ..render import raycast  # noqa: F401
    from . import pipeline, shard  # noqa: F401

    return os.getpid()
