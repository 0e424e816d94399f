"""Class ids between two class lists, matched by name: the one place synthdata remaps labels.

Class ids are 1-based indexes into a class-name list; 0 is background. A model, a dataset, a recipe and
a FiftyOne dataset may each list classes in their own order, so ids are always translated by name.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

__all__ = ["class_table", "id_table"]


def class_table(source: Sequence[str], target: Sequence[str], missing: int | None = 0) -> np.ndarray:
    """(len(source) + 1,) int64: ``table[source id]`` = the target id of the same name (0 → 0).
    A source class absent from ``target`` maps to ``missing``; ``missing=None`` raises ``KeyError``."""
    where = {n: i + 1 for i, n in enumerate(target)}
    ids = []
    for n in source:
        if n not in where and missing is None:
            raise KeyError(n)
        ids.append(where.get(n, missing))
    return np.array([0, *ids], dtype=np.int64)


def id_table(names_by_id: Mapping[int, str], target: Sequence[str]) -> np.ndarray:
    """For a mask whose ids name classes (``{id: name}``, e.g. FiftyOne mask targets): the table
    ``mask id → target id``, 0 for ids without a known name (background)."""
    where = {n: i + 1 for i, n in enumerate(target)}
    table = np.zeros(max([0, *names_by_id]) + 1, dtype=np.int64)
    for i, n in names_by_id.items():
        table[int(i)] = where.get(n, 0)
    return table
