"""The dataset layout on disk (the contract with users; versioned by FORMAT_VERSION).

<out>/dataset.json  manifest · recipe.yaml · clips|frames|objects[|tracks]/part-NNNNN.parquet ·
media/<clip_id>.mp4
· README.md + preview.png (dataset card). ``.staging/`` holds shards being written, ``.synthdata.lock``
names the run writing the directory, ``fiftyone/`` holds maps written by ``synthdata fiftyone``.

What the layout owns (:meth:`Layout.owns`) is all that ``--overwrite`` may ever delete.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "READABLE_VERSIONS", "TABLES", "CORE_TABLES", "OWNED_FILE", "Layout"]

FORMAT_NAME = "synthdata-dataset"
#: 2.0: maps are plain Arrow lists (DuckDB/Polars/pandas read them), one row group per clip;
#: 1.2: optional tables of label kinds (tracks); 1.1: shards list file sizes
FORMAT_VERSION = "2.0"
READABLE_VERSIONS = ("1.0", "1.1", "1.2", "2.0")
#: every table a dataset may hold; the first three always, ``tracks`` when annotations.tracks is on
TABLES = ("clips", "frames", "objects", "tracks")
CORE_TABLES = TABLES[:3]

_ID = r"[A-Za-z0-9][A-Za-z0-9._\-]{0,127}"
#: Files a manifest may list (relative POSIX paths).
OWNED_FILE = re.compile(rf"^(?:(?:{'|'.join(TABLES)})/part-\d{{5}}\.parquet|media/{_ID}\.mp4)$")
#: Files of the layout that no manifest lists (card, lock) and the folders it writes whole.
_FIXED = ("dataset.json", "recipe.yaml", "README.md", "preview.png", ".synthdata.lock")
#: Temp files of the root's atomic writes (io/atomic.py: ``.<name>.<random>.tmp``), left by a run killed mid-write.
TEMP_FILE = re.compile(r"^\.(?:dataset\.json|recipe\.yaml|README\.md|preview\.png)\.[^/]+\.tmp$")
#: A shard's folder under ``.staging`` (io/writer.py; the first versions had no random suffix): the only
#: thing synthdata puts there.
STAGED_SHARD = re.compile(r"^shard-\d{5}(?:-[0-9a-f]{8})?$")
#: what the shard writer puts in a staged shard's folder: the part files and MP4s a manifest may list
_STAGED_IN_SHARD = OWNED_FILE
_OWNED_EXTRA = re.compile(rf"^(?:\.staging/shard-\d{{5}}(?:-[0-9a-f]{{8}})?/(?:{OWNED_FILE.pattern[1:-1]})|"
                          rf"fiftyone/(?:segmentation|depth)/{_ID}/\d{{6}}\.png)$")


@dataclass(frozen=True)
class Layout:
    root: Path

    def is_dataset(self) -> bool:
        """The one test of "is this folder a synthdata dataset": its manifest is there."""
        return self.manifest.is_file()

    def require_dataset(self, field: str = "dataset") -> "Layout":
        """``self``, or one line naming ``field`` when the folder is not a dataset."""
        if not self.is_dataset():
            from ..errors import UserError

            if self.root.is_file():  # e.g. the manifest itself
                raise UserError(field, f"expected a dataset's folder, got the file {self.root}"
                                       + (f": use {self.root.parent}" if self.root.name == "dataset.json" else ""))
            raise UserError(field, f"{self.root} is not a synthdata dataset (no dataset.json)")
        return self

    @property
    def manifest(self) -> Path:
        return self.root / "dataset.json"

    @property
    def recipe(self) -> Path:
        return self.root / "recipe.yaml"

    @property
    def media(self) -> Path:
        return self.root / "media"

    @property
    def staging(self) -> Path:
        return self.root / ".staging"

    @property
    def lock(self) -> Path:
        return self.root / ".synthdata.lock"

    def part(self, table: str, shard_index: int) -> Path:
        return self.root / table / f"part-{shard_index:05d}.parquet"

    def video(self, clip_id: str) -> Path:
        return self.media / f"{clip_id}.mp4"

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    @staticmethod
    def owns(rel: str) -> bool:
        """Whether a file (relative POSIX path) is one this layout writes: manifest-listable files
        (also leftovers of a killed shard), the fixed files and their atomic writes' temp files, staging,
        and FiftyOne maps."""
        return rel in _FIXED or any(p.match(rel) for p in (OWNED_FILE, TEMP_FILE, _OWNED_EXTRA))

    def foreign_staged(self) -> list[str]:
        """What ``.staging`` holds besides shard folders (:data:`STAGED_SHARD`, never a link): a run
        clears staging, so it refuses while anything else is there."""
        if self.staging.is_symlink() or not self.staging.is_dir():
            return []
        out = []
        for p in self.staging.iterdir():
            if not (STAGED_SHARD.match(p.name) and p.is_dir() and not p.is_symlink()):
                out.append(f".staging/{p.name}" + ("/" if p.is_dir() else ""))
                continue
            for dirpath, dirnames, filenames in os.walk(p):  # inside a shard: only what the writer writes
                for name in dirnames + filenames:
                    q = Path(dirpath) / name
                    rel = q.relative_to(p).as_posix()
                    is_dir = q.is_dir() and not q.is_symlink()
                    ok = (rel in (*TABLES, "media")) if is_dir else (_STAGED_IN_SHARD.match(rel) and not q.is_symlink())
                    if not ok:
                        out.append(f".staging/{p.name}/{rel}" + ("/" if is_dir else ""))
        return sorted(out)

    def stale_temp_files(self) -> list[Path]:
        """Temp files a killed run's atomic writes left in the root (:data:`TEMP_FILE`): plain files only,
        never a link of such a name (no temp file synthdata made)."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if TEMP_FILE.match(p.name) and p.is_file() and not p.is_symlink())
