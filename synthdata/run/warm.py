"""Warm-up task: what a shard task needs, imported on a worker as soon as it is up.

An embedded cluster's driver submits this to every worker right after start-up, so the imports
(torch, the ray-caster, the pipeline, the writers: a second or more) run in the workers' processes
while the driver is still loading the recipe, instead of in front of each worker's first shard.
"""

from __future__ import annotations

import os

__all__ = ["warm_up"]


def warm_up() -> int:
    """Import the shard stack in this process; returns its pid.

    Beyond our own modules, what the first clip would otherwise import lazily (measured: a second of
    a tiny first shard, ten times the second one): kornia (3D boxes), pyarrow's compute module and
    pandas (pyarrow imports it on the first array it builds). (The ray-caster no longer calls
    ``torch.broadcast_shapes``, which imported sympy: 0.3 s.) Not numba: the ray-caster's compiled CPU
    stages load it (~0.6 s) on a large clip's first render only (``cpu_kernels: auto``), so small runs
    start as fast as before."""
    import kornia.geometry.conversions  # noqa: F401
    import pyarrow
    import pyarrow.compute  # noqa: F401
    import torch  # noqa: F401  (the ray-caster imports it lazily)

    from ..io import sinks  # noqa: F401
    from ..render import raycast  # noqa: F401
    from . import pipeline, shard  # noqa: F401

    pyarrow.array(["warm"], pyarrow.string())  # pyarrow's pandas shim: pandas, on the first array
    return os.getpid()
