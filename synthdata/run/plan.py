"""The plan of a run: how many clips, shards and (roughly) bytes. Printed by ``--dry-run``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import UserError
from ..recipe.schema import LIMITS, RecipeSpec

__all__ = ["Plan", "make_plan"]

# Rough bytes per pixel per frame, measured on the shipped recipes at 256² (shapes: 4.9 B/px in all,
# colonoscopy: 7.2 B/px; both flows together are most of it).
_BYTES_PER_PX = {"video": 0.1, "video_lossless": 1.2, "depth": 0.9, "flow": 4.8, "semantic": 0.02,
                 "instance": 0.03, "normals": 3.0}


@dataclass(frozen=True)
class Plan:
    recipe: str
    recipe_hash: str
    seed: int
    clips: int
    shard_size: int
    shards: int
    frames: int
    width: int
    height: int
    backend: str
    out: str
    estimated_bytes: int

    def as_dict(self) -> dict:
        return asdict(self)


def make_plan(spec: RecipeSpec, clips: int, out: str | Path, shard_size: int = 8) -> Plan:
    if not isinstance(clips, int) or isinstance(clips, bool) or not 1 <= clips <= LIMITS["max_clips"]:
        raise UserError("clips", f"expected a whole number from 1 to {LIMITS['max_clips']}, got {clips!r}")
    if not isinstance(shard_size, int) or not 1 <= shard_size <= 10_000:
        raise UserError("shard_size", f"expected a whole number from 1 to 10000, got {shard_size!r}")
    c, a = spec.clip, spec.annotations
    px = c.width * c.height * c.frames * clips
    per_px = _BYTES_PER_PX["video_lossless" if spec.output.video_codec == "h264_lossless" else "video"]
    per_px += sum(_BYTES_PER_PX[k] for k in ("depth", "flow", "semantic", "instance", "normals") if getattr(a, k))
    return Plan(recipe=spec.name, recipe_hash=spec.content_hash(), seed=spec.seed, clips=clips,
                shard_size=shard_size, shards=-(-clips // shard_size), frames=c.frames * clips, width=c.width,
                height=c.height, backend=spec.backend.name, out=str(out), estimated_bytes=int(px * per_px))
