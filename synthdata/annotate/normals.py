"""Surface normals per pixel (label kind ``normals``, a map of the frames table; off by default)."""

from __future__ import annotations

from .kinds import LABEL_KINDS, LabelKind

__all__: list[str] = []

LABEL_KINDS.register("normals", LabelKind(
    name="normals", table="frames", reads=frozenset({"normals"}), map_dtype="float16", core=True, context=0,
    compute=lambda frames, scene, traj: frames.normals.cpu().numpy(),
    doc="(H,W,3) world-frame unit normals, 0 for sky"))
