"""The plan of a run: how many clips, shards and (roughly) bytes. Printed by ``--dry-run``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..errors import UserError
from ..errors import user_path
from ..io.safety import check_output_folder
from ..recipe.schema import LIMITS, RecipeSpec

if TYPE_CHECKING:
    from ..io.manifest import Manifest

__all__ = ["AUTO_MIN_SHARDS", "MAX_AUTO_SHARD_SIZE", "Plan", "auto_shard_size", "make_plan", "shard_count"]

#: ``shard_size: auto`` plans at least this many shards (one per clip below 2 × this many clips), so a
#: small run gives every core of a typical machine a shard; an extra shard costs ~15 ms (its own files
#: and commit), not a core idling.
AUTO_MIN_SHARDS = 16
#: … and shards of at most this many clips on large runs (the unit of resume and of a failed retry).
MAX_AUTO_SHARD_SIZE = 8


def auto_shard_size(clips: int, clips_per_batch: int = 1) -> int:
    """Clips per shard for ``shard_size: auto``: a function of the clip count (and the backend's clip
    batch: a shard holds at least one whole batch) alone, so the same command plans the same shards
    (the same files) on every machine and executor."""
    return max(1, clips_per_batch, min(MAX_AUTO_SHARD_SIZE, clips // AUTO_MIN_SHARDS))


def shard_count(clips: int, shard_size: int | Literal["auto"], out: str | Path | None = None) -> int:
    """Shards of a run of ``clips`` clips into ``out``, before its recipe is loaded (the CLI sizes its
    cluster with this while the recipe loads): with ``auto``, a dataset already in ``out`` resumes with
    its own shard size. An upper bound for backends that batch clips (a shard holds a whole batch)."""
    if shard_size == "auto":
        shard_size = _planned_shard_size(out) or auto_shard_size(clips)
    return -(-clips // shard_size)


def _planned_shard_size(out: str | Path | None) -> int | None:
    """The shard size in ``out``'s manifest, if it holds one (a plain JSON read; anything odd: None)."""
    import json

    try:
        size = json.loads((user_path(out, "out") / "dataset.json").read_text())["shard_size"]
    except (OSError, TypeError, ValueError, KeyError):
        return None
    return size if isinstance(size, int) and not isinstance(size, bool) and 1 <= size <= 10**6 else None

# Rough bytes per pixel per frame, measured on the shipped recipes at 256² (shapes: 4.9 B/px in all,
# colonoscopy: 7.2 B/px; both flows together are most of it).
_BYTES_PER_PX = {"video": 0.1, "video_lossless": 1.2, "depth": 0.9, "flow": 4.8, "semantic": 0.02,
                 "instance": 0.03, "normals": 3.0}
#: and the rest, measured the same way: a shard's four Parquet parts' footers and metadata; a frame's
#: object rows (masks, keypoints, 3D boxes) and camera; a run's manifest, recipe.yaml and README; a PNG
#: preview sheet pixel
_BYTES_PER_SHARD, _BYTES_PER_FRAME, _BYTES_PER_RUN, _PREVIEW_BYTES_PER_PX = 24_000, 2_500, 64_000, 0.5


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
    shard_size_auto: bool = False  # chosen by auto_shard_size: a resumed dataset's own size wins

    def as_dict(self) -> dict:
        return asdict(self)

    def resuming(self, manifest: Manifest | None) -> Plan:
        """This plan for continuing ``manifest``'s dataset: with ``auto``, the shard size it was planned
        with (datasets made before ``auto``, or with another size, resume as they were)."""
        if manifest is None or not self.shard_size_auto or manifest.shard_size == self.shard_size:
            return self
        return replace(self, shard_size=manifest.shard_size, shards=-(-self.clips // manifest.shard_size))


def check_clips(clips: int) -> int:
    """``clips`` when it is a clip count a run may ask for, else the one-line error naming it."""
    if not isinstance(clips, int) or isinstance(clips, bool) or not 1 <= clips <= LIMITS["max_clips"]:
        raise UserError("clips", f"expected a whole number from 1 to {LIMITS['max_clips']}, got {clips!r}")
    return clips


def make_plan(spec: RecipeSpec, clips: int, out: str | Path, shard_size: int | Literal["auto"] = "auto") -> Plan:
    check_clips(clips)
    check_output_folder(out, "out")
    auto = shard_size == "auto"
    if auto:
        from ..render.backend import backend_settings

        shard_size = auto_shard_size(clips, backend_settings(spec.backend).clips_per_batch)
    if not isinstance(shard_size, int) or isinstance(shard_size, bool) or not 1 <= shard_size <= 10_000:
        raise UserError("shard_size", f"expected 'auto' or a whole number from 1 to 10000, got {shard_size!r}")
    shards = -(-clips // shard_size)
    return Plan(recipe=spec.name, recipe_hash=spec.content_hash(), seed=spec.seed, clips=clips,
                shard_size=shard_size, shards=shards, frames=spec.clip.frames * clips, width=spec.clip.width,
                height=spec.clip.height, backend=spec.backend.name, out=str(out),
                estimated_bytes=estimate_bytes(spec, clips, shards), shard_size_auto=auto)


def estimate_bytes(spec: RecipeSpec, clips: int, shards: int) -> int:
    """About what a run of ``clips`` in ``shards`` writes: the maps and video per pixel, each shard's
    Parquet parts (footers, schema metadata, per-object rows), and the run's own files (manifest,
    recipe, card and its preview sheet) — on small runs those fixed costs are most of it (shapes,
    highway, colonoscopy at 64²×4, 2 clips: 0.47–0.65 MB written, 0.19 MB by pixels alone)."""
    c, a = spec.clip, spec.annotations
    px = c.width * c.height * c.frames * clips
    per_px = _BYTES_PER_PX["video_lossless" if spec.output.video_codec == "h264_lossless" else "video"]
    per_px += sum(_BYTES_PER_PX[k] for k in ("depth", "flow", "semantic", "instance", "normals") if getattr(a, k))
    scale = max(1, 256 // max(c.width, c.height))  # the card's tiles (io/card.py)
    preview = min(clips, 3) * min(c.frames, 6) * c.width * c.height * scale * scale * _PREVIEW_BYTES_PER_PX
    return int(px * per_px + shards * _BYTES_PER_SHARD + clips * c.frames * _BYTES_PER_FRAME + _BYTES_PER_RUN + preview)
