"""Named registries for pluggable things (backends, motions, textures, primitives…).

Recipes refer to entries by name only, so an untrusted recipe can never import code. Third-party
packages add entries through the entry-point group ``synthdata.<kind>`` (e.g. ``synthdata.backends``).
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Callable, Generic, Iterator, TypeVar

from .errors import UserError, did_you_mean

__all__ = ["Registry"]

T = TypeVar("T")


class _Lazy:
    def __init__(self, target: str):
        self.target = target

    def load(self):
        from importlib import import_module

        module, _, attr = self.target.partition(":")
        return getattr(import_module(module), attr)


class Registry(Generic[T]):
    """A plain name → object mapping with helpful errors (lists valid names, suggests the closest)."""

    def __init__(self, kind: str, entry_point_group: str | None = None):
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._items: dict[str, T] = {}
        self._loaded_entry_points = entry_point_group is None

    def register(self, name: str, obj: T | None = None) -> Callable[[T], T] | T:
        """Register ``obj`` under ``name``; usable as a decorator when ``obj`` is omitted."""

        def add(o: T) -> T:
            if name in self._items and self._items[name] is not o:
                raise KeyError(f"{self.kind} {name!r} is already registered")
            self._items[name] = o
            return o

        return add if obj is None else add(obj)

    def register_lazy(self, name: str, target: str) -> None:
        """Register ``"package.module:attr"`` under ``name`` without importing it: the name is listed at
        once (help texts, did-you-mean) and the module loads on first :meth:`get`."""
        self._items.setdefault(name, _Lazy(target))

    def _load_entry_points(self) -> None:
        if self._loaded_entry_points:
            return
        self._loaded_entry_points = True
        for ep in entry_points(group=self.entry_point_group):  # listed now, imported on first get
            if ep.name not in self._items:
                self._items[ep.name] = _Lazy(ep.value)

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str, field: str | None = None) -> T:
        """Look up ``name``; a miss raises a :class:`UserError` naming ``field`` and the valid names."""
        if name not in self:
            raise UserError(field or self.kind, self.unknown_message(name))
        item = self._items[name]
        if isinstance(item, _Lazy):
            item = self._items[name] = item.load()
        return item

    def unknown_message(self, name: object) -> str:
        names = self.names()
        return f"unknown {self.kind} {name!r}{did_you_mean(name, names)}; expected one of {', '.join(names)}"
