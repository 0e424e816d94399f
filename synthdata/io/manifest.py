"""dataset.json: the manifest, rewritten atomically after every committed shard.

A shard exists for readers and for resume only once the manifest lists it; files of unlisted shards
are leftovers of a killed run and are replaced.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .atomic import atomic_write_bytes
from .layout import FORMAT_NAME, FORMAT_VERSION, OWNED_FILE, READABLE_VERSIONS, TABLES, Layout

__all__ = ["ShardInfo", "Manifest", "atomic_write_bytes", "sha256_file"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: a recipe's name (clip ids and file names are made from it), or an import's ``fiftyone:<dataset name>``
_RECIPE_NAME = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._\-]{0,119}|fiftyone:[^\x00-\x1f\x7f]{1,200})$")
#: the most bytes of a manifest read: ~4 kB per shard of 32 clips, so about two million clips
MAX_BYTES = 256 << 20


@dataclass(frozen=True)
class ShardInfo:
    index: int
    clip_start: int
    clip_stop: int
    files: dict[str, str]  # relative path -> sha256
    rows: dict[str, int]  # table -> rows
    sizes: dict[str, int] = field(default_factory=dict)  # relative path -> bytes (absent before format 1.1)


@dataclass
class Manifest:
    recipe_name: str
    recipe_hash: str
    seed: int
    num_clips: int
    shard_size: int
    class_names: list[str]
    backend: str
    device: str
    annotations: dict[str, bool | dict[str, bool | int]]  # switches; a block (tracks) as its settings
    recipe: dict[str, Any]
    synthdata_version: str
    created: str
    shards: list[ShardInfo] = field(default_factory=list)
    complete: bool = False
    stats: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT_NAME
    format_version: str = FORMAT_VERSION

    @property
    def num_shards(self) -> int:
        return -(-self.num_clips // self.shard_size)

    def shard_range(self, index: int) -> tuple[int, int]:
        return index * self.shard_size, min((index + 1) * self.shard_size, self.num_clips)

    def done_shards(self) -> set[int]:
        return {s.index for s in self.shards}

    def add_shard(self, info: ShardInfo) -> None:
        self.shards = sorted([s for s in self.shards if s.index != info.index] + [info], key=lambda s: s.index)

    def to_json(self) -> str:
        body = asdict(self)
        body = {"format": body.pop("format"), "format_version": body.pop("format_version"), **body}
        return json.dumps(body, indent=2) + "\n"

    def listed_files(self) -> dict[str, str]:
        """Every file the committed shards own: relative path → sha256."""
        return {rel: h for s in self.shards for rel, h in s.files.items()}

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        """Parse and validate (types, ranges, file names): a manifest is untrusted input.

        Raises ``ValueError`` with one line saying what is wrong."""
        from pydantic import TypeAdapter, ValidationError

        body = json.loads(text)
        if not isinstance(body, dict) or body.get("format") != FORMAT_NAME:
            raise ValueError("not a synthdata dataset manifest")
        if body.get("format_version") not in READABLE_VERSIONS:
            raise ValueError(f"format_version {body.get('format_version')!r} is not one this synthdata reads "
                             f"({', '.join(READABLE_VERSIONS)})")
        try:
            m = TypeAdapter(cls).validate_python(body)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(p if isinstance(p, str) and p.isidentifier() else repr(p) for p in err["loc"])
            raise ValueError(f"{where}: {err['msg']}") from None
        m._check()
        return m

    def _check(self) -> None:
        if not _RECIPE_NAME.match(self.recipe_name):  # clip ids and file names are made from it
            raise ValueError(f"recipe_name: expected a recipe name (letters, digits, '._-', at most 120), got "
                             f"{self.recipe_name[:40]!r}")
        if not 0 <= self.num_clips <= 10**9 or not 1 <= self.shard_size <= 10**6:
            raise ValueError(f"num_clips/shard_size out of range ({self.num_clips}, {self.shard_size})")
        seen: set[int] = set()
        for s in self.shards:
            where = f"shards[{s.index}]"
            if not 0 <= s.index < self.num_shards or s.index in seen:
                raise ValueError(f"{where}: index out of range or repeated")
            if (s.clip_start, s.clip_stop) != self.shard_range(s.index):
                raise ValueError(f"{where}: clips {s.clip_start}..{s.clip_stop} do not match the shard size")
            seen.add(s.index)
            for rel, digest in s.files.items():
                if not OWNED_FILE.match(rel) or (rel.startswith(TABLES) and f"part-{s.index:05d}." not in rel):
                    raise ValueError(f"{where}.files: {rel!r} is not a file of this layout")
                if not isinstance(digest, str) or not _SHA256.match(digest):
                    raise ValueError(f"{where}.files[{rel!r}]: expected a sha256 hex digest")
            if set(s.sizes) - set(s.files) or any(v < 0 for v in s.sizes.values()):
                raise ValueError(f"{where}.sizes: sizes must be of listed files and not negative")
        if self.complete and len(seen) != self.num_shards:  # a forged or mangled manifest: clips missing
            raise ValueError(f"complete: marked complete with {len(seen)} of its {self.num_shards} shards")

    def enabled_annotations(self) -> list[str]:
        """The ``annotations`` switches that are on (a block such as ``tracks`` by its ``enabled``)."""
        return [k for k, v in self.annotations.items() if (v.get("enabled") if isinstance(v, dict) else v)]

    @classmethod
    def read(cls, layout: Layout) -> "Manifest":
        """The manifest of ``layout``, read at most :data:`MAX_BYTES` (an untrusted file's size is no
        reason to hold it in memory: a 500 MB one took 1.1 GB before it was refused)."""
        with open(layout.manifest, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES >> 20} MiB, more than any dataset's manifest needs")
        return cls.from_json(raw.decode("utf-8"))

    def write(self, layout: Layout) -> None:
        atomic_write_bytes(layout.manifest, self.to_json().encode())


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
