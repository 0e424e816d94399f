"""What a dataset directory's layout owns, and removing exactly that (never a user's file).

Used by ``generate --overwrite`` and by ``synthdata fiftyone`` when it rewrites its maps.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .layout import OWNED_FILE, STAGED_SHARD, TABLES, Layout

if TYPE_CHECKING:
    from .manifest import Manifest

__all__ = ["Owned", "clear_staging", "foreign_entries", "linked_folders", "remove_owned"]

_PART = re.compile(rf"^(?:{'|'.join(TABLES)})/part-(\d{{5}})\.parquet$")
_MEDIA = re.compile(r"^media/([^/]+)\.mp4$")
_MAP = re.compile(r"^fiftyone/(?:segmentation|depth)/([^/]+)/\d{6}\.png$")


@dataclass(frozen=True)
class Owned:
    """Which files of a dataset directory are the dataset's, from its manifest, not from names alone (a
    user's ``media/holiday.mp4`` is no clip of it): the layout's fixed files, temp files and the writer's
    files in staged shards, every file the manifest lists, FiftyOne maps of listed clips, and the part
    files and MP4s of the shards and clips it plans (``<recipe>-<index:06d>``; a shard killed while it
    committed leaves some unlisted) when their content says synthdata wrote them (a part's format
    metadata, an MP4's mark): the manifest is untrusted, and a name alone claims nobody's file."""

    listed: frozenset[str]
    recipe: str
    num_clips: int
    num_shards: int
    #: the dataset directory: an unlisted file of a planned name is claimed only when it is ours by its
    #: content (an MP4's mark, a part's format metadata), since the manifest naming it is untrusted
    root: Path | None = None

    @classmethod
    def of(cls, manifest: "Manifest", root: Path | None = None) -> "Owned":
        return cls(frozenset(rel for s in manifest.shards for rel in s.files), manifest.recipe_name,
                   manifest.num_clips, manifest.num_shards, root)

    @classmethod
    def nothing(cls) -> "Owned":
        """No manifest: only the layout's fixed files, their temp files and staged shards."""
        return cls(frozenset(), "", 0, 0)

    def clip(self, cid: str) -> bool:
        """Whether ``cid`` is one of the dataset's clips (listed, or planned under its recipe's name)."""
        if f"media/{cid}.mp4" in self.listed:
            return True
        head, _, index = cid.rpartition("-")
        return head == self.recipe and len(index) == 6 and index.isdigit() and int(index) < self.num_clips

    def __call__(self, rel: str) -> bool:
        if not Layout.owns(rel):  # the shapes the layout writes at all
            return False
        if rel in self.listed or not rel.startswith(("media/", "fiftyone/", *(f"{t}/" for t in TABLES))):
            return True  # fixed files, their temp files, staged shards
        part, media, fo_map = _PART.match(rel), _MEDIA.match(rel), _MAP.match(rel)
        if part:  # a part a killed commit left unlisted: a synthdata Parquet file of a planned shard
            return self.root is not None and int(part.group(1)) < self.num_shards and _our_part(self.root / rel)
        if media:  # an MP4 a killed commit left unlisted: a planned clip's, marked as ours
            from .video import mp4_marked

            cid, path = media.group(1), self.root / rel if self.root is not None else None
            return path is not None and self.clip(cid) and not path.is_symlink() and mp4_marked(path)
        return bool(fo_map and f"media/{fo_map.group(1)}.mp4" in self.listed)  # maps of committed clips


def _our_part(path: Path) -> bool:
    """Whether ``path`` is a Parquet file synthdata wrote (its footer names the format)."""
    import pyarrow.parquet as pq

    from .layout import FORMAT_NAME

    try:
        meta = pq.read_schema(path).metadata or {}
    except Exception:  # not Parquet (a user's file of that name): not ours
        return False
    return meta.get(b"synthdata.format") == FORMAT_NAME.encode()


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
            # the writer's own files only (a part file or MP4 by its name), then the emptied folders: a
            # file of someone else's in a shard folder stays, and so does the folder holding it
            for rel, is_dir in sorted(_entries(p), key=lambda e: e[0].count("/"), reverse=True):
                q = p / rel
                try:
                    if is_dir:
                        q.rmdir()
                    elif OWNED_FILE.match(rel) and not q.is_symlink():
                        q.unlink()
                except OSError:
                    if not ignore_errors and not is_dir:
                        raise
            try:
                p.rmdir()
            except OSError:
                pass
    try:
        staging.rmdir()
    except OSError:
        pass


def linked_folders(layout: Layout) -> list[str]:
    """The dataset folders (tables, media, FiftyOne maps, staging) that are links: writing there would
    write wherever they point."""
    return [d for d in (*TABLES, "media", "fiftyone", ".staging") if (layout.root / d).is_symlink()]


def foreign_entries(layout: Layout, owned: Owned) -> list[str]:
    """Files and folders in the dataset directory that the dataset does not own (sorted)."""
    out = []
    for rel, is_dir in _entries(layout.root):
        path = layout.root / rel
        if path.is_symlink() or not (_owned_dir(rel) if is_dir else owned(rel)):
            out.append(rel + ("/" if is_dir else ""))
    return sorted(out)


def remove_owned(layout: Layout, owned: Owned, under: str = "") -> int:
    """Delete the dataset's own files (``owned``) and then its emptied folders (never the root, never
    the lock, never anything else), optionally only below the folder ``under``. Returns the number of
    files removed."""
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
        elif rel != ".synthdata.lock" and owned(rel) and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed += 1
    return removed
