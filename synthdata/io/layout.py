"""The dataset layout on disk (the contract with users; versioned by FORMAT_VERSION).

<out>/dataset.json  manifest · recipe.yaml · clips|frames|objects/part-NNNNN.parquet · media/<clip_id>.mp4
· README.md + preview.png (dataset card). ``.staging/`` holds shards being written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "TABLES", "Layout"]

FORMAT_NAME = "synthdata-dataset"
FORMAT_VERSION = "1.0"
TABLES = ("clips", "frames", "objects")


@dataclass(frozen=True)
class Layout:
    root: Path

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

    def part(self, table: str, shard_index: int) -> Path:
        return self.root / table / f"part-{shard_index:05d}.parquet"

    def video(self, clip_id: str) -> Path:
        return self.media / f"{clip_id}.mp4"

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()
