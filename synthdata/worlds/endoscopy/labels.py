"""Per-object endoscopy labels (objects table), read from what the shape builders recorded
(``ObjectSet.attributes``, :mod:`synthdata.scene.shapes`): ``paris_class`` (Ip, Is, IIa, IIb, IIc;
null for objects that are not polyps) and ``size_mm`` (a polyp's largest diameter, the head's for Ip;
null for others). Constant over a clip."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ...annotate.kinds import LabelKind

__all__ = ["attribute_rows", "PARIS_CLASS_KIND", "SIZE_MM_KIND"]


def attribute_rows(scene, traj, name: str) -> np.ndarray:
    """(T·N,) object rows, frame-major: each object's attribute ``name``, None where it has none."""
    n = len(scene.objects)
    attrs = scene.objects.attributes or [{}] * n
    return np.tile(np.array([a.get(name) for a in attrs], dtype=object), traj.num_frames)


PARIS_CLASS_KIND = LabelKind(
    name="paris_class", table="objects", reads=frozenset(), arrow_type=pa.string(), default=False, context=0,
    compute=lambda frames, scene, traj: attribute_rows(scene, traj, "paris_class"),
    to_arrow=lambda v: pa.array(list(v), pa.string()),
    doc="a polyp's Paris type (Ip, Is, IIa, IIb, IIc); null for other objects")

SIZE_MM_KIND = LabelKind(
    name="size_mm", table="objects", reads=frozenset(), arrow_type=pa.float32(), default=False, context=0,
    compute=lambda frames, scene, traj: attribute_rows(scene, traj, "size_mm"),
    to_arrow=lambda v: pa.array([None if x is None else float(x) for x in v], pa.float32()),
    doc="a polyp's largest diameter in millimetres (the head's for Ip); null for other objects")
