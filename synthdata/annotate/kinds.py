"""Label kinds: one registry entry per kind of label, so a new label is one module.

A :class:`LabelKind` says how the label is computed from a rendered clip (the G-buffer, the scene and
its trajectories), which table stores it (``objects``: one value per (frame, object) row, frame-major;
``frames``: one value per frame; or a table of its own, such as ``tracks``) and as what Arrow column(s). ``annotate`` computes every enabled kind;
the Parquet sink adds its column; the recipe switches it with ``annotations.<name>``; readers see it
as a column of that table. Built-in kinds are registered in their own modules (``box3d``, ``normals``);
other packages register through the ``synthdata.label_kinds`` entry-point group. A switch may be a
block with an ``enabled`` key (``annotations.tracks: {enabled: true, points: 512}``); a kind with
``uses_spec`` receives the recipe's whole ``annotations`` block as a fourth argument.

``core`` kinds are part of the dataset format: their column is always present (null when switched
off), so every dataset of one format version has the same schema. Other kinds add their column only
when switched on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import pyarrow as pa

from ..registry import Registry

__all__ = ["LabelKind", "LABEL_KINDS", "enabled_kinds", "kinds_of_table", "label_context", "switches"]


@dataclass(frozen=True)
class LabelKind:
    """``compute(frames, scene, traj)`` returns (T·N, ...) rows for ``objects`` (row r = frame·N +
    object) or (T, ...) per-frame values for ``frames``, on the host. ``arrow_type`` None means an
    encoded per-frame map (``frames`` table, stored like depth, cast to ``map_dtype``);
    ``to_arrow`` turns the computed rows into an Arrow array of ``arrow_type`` (default ``pa.array``).

    A kind with a table of its own (``table`` not ``objects``/``frames``; one of the layout's
    ``TABLES``) gives that table's ``columns`` (after ``clip_id``) and ``compute`` returns a dict of
    equally long column arrays; the table exists only in datasets that switched the kind on."""

    name: str
    table: str  # "objects" | "frames" | a table of its own ("tracks")
    compute: Callable[..., Any]  # (frames: Frames, scene: Scene, traj: Trajectories[, spec]) -> rows
    arrow_type: pa.DataType | None = None
    map_dtype: str | None = None
    to_arrow: Callable[[np.ndarray], pa.Array] | None = None
    default: bool = False
    core: bool = False
    requires: tuple[str, ...] = ()  # other switches it needs on (flow_valid: flow)
    columns: pa.Schema | None = None  # of a table of its own
    uses_spec: bool = False  # compute(frames, scene, traj, annotation_spec)
    doc: str = ""
    #: the ``Frames`` fields ``compute`` reads (a renderer may leave the others of
    #: ``render.types.OPTIONAL_MAPS`` out); None: not declared, so every map is kept
    reads: frozenset[str] | None = None
    #: how many neighbouring frames on each side of a frame ``compute`` reads to label it (0: the frame
    #: alone; ``flow_valid``: 1, the frames its flows land in), so a long clip can be labelled in
    #: windows of frames (``synthdata.run.pipeline.make_clip_in_windows``); None: the whole clip (``tracks``),
    #: or not declared
    context: int | None = None

    @property
    def own_table(self) -> bool:
        return self.table not in ("objects", "frames")

    def arrow(self, values: np.ndarray | None, rows: int) -> pa.Array:
        """The column for ``rows`` rows: nulls when the kind is off (``values`` None)."""
        if values is None:
            return pa.nulls(rows, self.arrow_type)
        if self.to_arrow:
            return self.to_arrow(values)
        return _rows_to_arrow(values, self.arrow_type)


def _rows_to_arrow(values, arrow_type: pa.DataType) -> pa.Array:
    """A kind's values as its column without a ``to_arrow`` of its own: (M,) rows as they are, (M,K) rows
    as lists of K (``pa.array`` takes 1-D arrays only: a documented ``pa.list_(pa.float32(), 2)`` kind
    returning (M,2) failed with ArrowInvalid)."""
    if isinstance(values, np.ndarray) and values.ndim == 2:
        if pa.types.is_fixed_size_list(arrow_type):
            return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1), arrow_type.value_type),
                                                     arrow_type.list_size)
        return pa.array(list(values), arrow_type)
    return pa.array(values, arrow_type)


#: name → LabelKind
LABEL_KINDS: Registry[LabelKind] = Registry("label kind", "synthdata.label_kinds")


def switches(spec: Any) -> dict[str, Any]:
    """Every ``annotations.<name>`` switch of an AnnotationSpec (its own fields and plug-in kinds' keys)
    as on/off: a block's switch is its ``enabled`` key."""
    return {k: (v.get("enabled", False) if isinstance(v, dict) else v)
            for k, v in {**spec.model_dump(), **(spec.model_extra or {})}.items()}


def enabled_kinds(switches: Mapping[str, Any]) -> list[LabelKind]:
    """The kinds switched on by a recipe's ``annotations`` block (a kind it does not name takes its
    default), in registry (name) order."""
    return [k for k in (LABEL_KINDS.get(n) for n in LABEL_KINDS.names())
            if bool(switches.get(k.name, k.default)) and all(switches.get(r, True) for r in k.requires)]


def kinds_of_table(table: str, switches: Mapping[str, Any] | None = None) -> list[LabelKind]:
    """The kinds whose column a table has: core kinds always, others when switched on (``switches``
    None: core kinds only, the columns every dataset of the format has)."""
    on = {k.name for k in enabled_kinds(switches)} if switches is not None else set()
    return [k for k in (LABEL_KINDS.get(n) for n in LABEL_KINDS.names())
            if k.table == table and (k.core or k.name in on)]


def label_context(spec: Any) -> int | None:
    """How many neighbouring frames on each side the labels of ``spec`` read to label one frame (the
    most any enabled kind reads, ``LabelKind.context``); None when one needs the whole clip (``tracks``,
    or a plug-in kind that does not say). :func:`~.compute.annotate` itself reads each frame alone."""
    ctx = [k.context for k in enabled_kinds(switches(spec))]
    return None if any(c is None for c in ctx) else max(ctx, default=0)
