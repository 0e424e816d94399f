"""What a dataset directory's layout owns, and removing exactly that (never a user's file).

Used by ``generate --overwrite`` and by ``synthdata fiftyone`` when it rewrites its maps.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .layout import STAGED_SHARD, TABLES, Layout

__all__ = ["clear_staging", "foreign_entries", "remove_owned"]


def _entries(root: Path):
    """(relative POSIX path, is_dir) of everything under ``root``, symlinks not followed."""
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for name in dirnames + filenames:
            path = base / name
            is_dir = path.is_dir() and not path.is_symlink()
            yield path.relative_to(root).as_posix(), is_dir


def _owned_dir(rel: str) -> bool:
    staged = rel.startswith(".staging/") and bool(STAGED_SHARD.match(rel.split("/")[1]))
    return rel in (*TABLES, "media", ".staging", "fiftyone", "fiftyone/segmentation",
                   "fiftyone/depth") or staged or (
        rel.count("/") == 2 and rel.startswith(("fiftyone/segmentation/", "fiftyone/depth/")))


def clear_staging(layout: Layout, ignore_errors: bool = False) -> None:
    """Remove the shard folders staged in ``.staging`` (io/writer.py), then the folder if that emptied
    it; never a link, never anything else found there (:meth:`Layout.foreign_staged`)."""
    staging = layout.staging
    if staging.is_symlink() or not staging.is_dir():
        return
    for p in staging.iterdir():
        if STAGED_SHARD.match(p.name) and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=ignore_errors)
    try:
        staging.rmdir()
    except OSError:
        pass


def foreign_entries(layout: Layout) -> list[str]:
    """Files and folders in the dataset directory that the layout does not own (sorted)."""
    out = []
    for rel, is_dir in _entries(layout.root):
        path = layout.root / rel
        if path.is_symlink() or not (_owned_dir(rel) if is_dir else Layout.owns(rel)):
            out.append(rel + ("/" if is_dir else ""))
    return sorted(out)


def remove_owned(layout: Layout, under: str = "") -> int:
    """Delete the layout's own files and then its emptied folders (never the root, never the lock, never
    anything else), optionally only below the folder ``under``. Returns the number of files removed."""
    removed = 0
    top = layout.root / under if under else layout.root
    if top.is_symlink() or not top.is_dir():
        return 0
    prefix = f"{under}/" if under else ""
    entries = sorted(((prefix + rel, d) for rel, d in _entries(top)), key=lambda e: e[0].count("/"), reverse=True)
    for rel, is_dir in entries:
        path = layout.root / rel
        if is_dir:
            if _owned_dir(rel):
                try:
                    path.rmdir()  # only ever an empty folder
                except OSError:
                    pass
        elif rel != ".synthdata.lock" and Layout.owns(rel) and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed += 1
    return removed
