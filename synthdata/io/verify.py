"""Checking a dataset's files against its manifest: a shard is trusted only when its files match.

``quick`` compares existence and sizes (what ``open_dataset`` does on every open: a stat per file);
``full`` also recomputes every sha256 (``synthdata verify``, resume, export).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .layout import Layout
from .manifest import Manifest, ShardInfo, sha256_file

__all__ = ["Mismatch", "Level", "check_shard", "verify"]

Level = Literal["quick", "full"]


@dataclass(frozen=True)
class Mismatch:
    shard: int
    path: str
    problem: str  # "missing", "size 12 (expected 34)", "content hash differs", "not a regular file"

    def __str__(self) -> str:
        return f"{self.path}: {self.problem} (shard {self.shard})"


def check_shard(layout: Layout, shard: ShardInfo, level: Level = "full") -> list[Mismatch]:
    """Mismatches of one committed shard's files (empty when the shard can be trusted)."""
    out: list[Mismatch] = []
    real_root = layout.root.resolve()
    for rel, digest in sorted(shard.files.items()):
        path = layout.root / rel
        if path.is_symlink() or (path.exists() and not path.is_file()):
            out.append(Mismatch(shard.index, rel, "not a regular file"))
            continue
        if real_root not in path.resolve().parents:  # under a linked folder: not the dataset's file
            out.append(Mismatch(shard.index, rel, "resolves outside the dataset (through a linked folder)"))
            continue
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            out.append(Mismatch(shard.index, rel, "missing"))
            continue
        want = shard.sizes.get(rel)
        if want is not None and size != want:
            out.append(Mismatch(shard.index, rel, f"size {size} (expected {want})"))
        elif level == "full" and sha256_file(path) != digest:
            out.append(Mismatch(shard.index, rel, "content hash differs"))
    if level == "full" and not out:
        out += _clip_range(layout, shard)
    return out


def _clip_range(layout: Layout, shard: ShardInfo) -> list[Mismatch]:
    """A shard's clips table must hold exactly its clips, in order: hashes alone do not tie a part to its
    shard (two shards' parts swapped, their hashes swapped too, match every digest)."""
    import pyarrow.parquet as pq

    rel = f"clips/part-{shard.index:05d}.parquet"
    if rel not in shard.files:
        return []
    try:
        got = pq.read_table(layout.root / rel, columns=["clip_index"]).column(0).to_pylist()
    except Exception as exc:  # noqa: BLE001 - any unreadable part is a mismatch, reported as such
        return [Mismatch(shard.index, rel, f"unreadable ({type(exc).__name__})")]
    want = list(range(shard.clip_start, shard.clip_stop))
    if got == want:
        return []
    held = f"clips {got[0]}–{got[-1]}" if got else "no clips"
    return [Mismatch(shard.index, rel, f"holds {held}, not this shard's clips {want[0]}–{want[-1]}")]


def verify(layout: Layout, manifest: Manifest, level: Level = "full") -> list[Mismatch]:
    """Mismatches of every committed shard, in shard order."""
    return [m for s in manifest.shards for m in check_shard(layout, s, level)]
