"""Sinks: where finished clips go. One sink writes one shard: ``add`` clips, then ``commit`` (files in
place, returns the shard's :class:`~synthdata.io.manifest.ShardInfo` for the manifest) or ``abort``
(nothing left behind). The Parquet + MP4 writer is the built-in ``parquet`` sink; others register here
or through the ``synthdata.sinks`` entry-point group, and a recipe picks one with ``output.sink``.
"""

from __future__ import annotations

from typing import Any, Callable, ContextManager, Protocol

from ..recipe.schema import RecipeSpec
from ..registry import Registry
from .layout import Layout
from .manifest import ShardInfo
from .records import ClipRecord
from .writer import ShardWriter

__all__ = ["Sink", "SINKS", "open_sink"]


class Sink(Protocol):
    def add(self, rec: ClipRecord) -> None: ...

    def commit(self) -> ShardInfo: ...

    def abort(self) -> None: ...


#: name → ``factory(layout, shard_index, spec, recipe_hash, timer, background) -> Sink``
SINKS: Registry[Callable[..., Sink]] = Registry("sink", "synthdata.sinks")
SINKS.register("parquet", ShardWriter)


def open_sink(layout: Layout, shard_index: int, spec: RecipeSpec, recipe_hash: str,
              timer: Callable[[str], ContextManager[Any]], background: bool = False) -> Sink:
    return SINKS.get(spec.output.sink, "output.sink")(layout, shard_index, spec, recipe_hash, timer,
                                                      background=background)
