"""Traffic-light state as a label: ``signal_state`` (objects table), per object per frame, the state
its lamps show (``red``, ``amber``, ``green``), null for objects without signal lamps. The sampler
lights the lamp part whose ``signal`` matches the state the road layout gives the object's approach
(scene/sample.py), so picture and label come from one value."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ...annotate.kinds import LabelKind

__all__ = ["SIGNAL_STATE_KIND", "signal_states"]


def signal_states(scene, traj) -> np.ndarray:
    """(T·N,) object rows, frame-major: each object's state, None where it has none."""
    n, T = len(scene.objects), traj.num_frames
    states = scene.objects.state or [""] * n
    row = np.array([s or None for s in states], dtype=object)
    return np.tile(row, T)


SIGNAL_STATE_KIND = LabelKind(
    name="signal_state", table="objects", reads=frozenset(), arrow_type=pa.string(), default=False, context=0,
    compute=lambda frames, scene, traj: signal_states(scene, traj),
    to_arrow=lambda v: pa.array(list(v), pa.string()),
    doc="traffic-light state the object shows (red / amber / green); null for other objects")
