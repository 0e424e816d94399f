"""A shard task: the pure function ``(job, shard_index) → files`` that executors run anywhere.

Per-process state (the backend, its device, torch threads) is built once per worker process on first
use and never pickled from the driver. The rendering stack (torch, the pipeline, the writers) is
imported inside the task: a Dask driver imports this module to submit shards and never renders.
``SYNTHDATA_POISON_CLIPS=3,17`` makes those clip indices raise, for fault drills (docs/scaling.md).
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import disk_full
from .events import report_clips
from .timing import StageTimer

if TYPE_CHECKING:  # the CLI imports this module to start its cluster: nothing heavy at the top
    from ..io.manifest import ShardInfo
    from ..recipe.schema import RecipeSpec
    from ..render.backend import Backend

__all__ = ["ShardJob", "ShardResult", "ShardFailed", "run_shard"]


@dataclass(frozen=True)
class ShardJob:
    """Everything a worker needs for any shard of one run (small; pickled once per task)."""

    spec: RecipeSpec
    recipe_hash: str
    out: str
    num_clips: int
    shard_size: int
    threads: int | None = None  # torch threads per worker process (None: leave as is)
    overlap: bool = False  # encode/write in a background thread while the next clip renders
    progress_topic: str | None = None  # where per-clip progress goes (synthdata.run.events)
    window_pixels: int | None = None  # clips of more pixels are made in windows (run/windows.py; None: its default)

    def clip_range(self, shard_index: int) -> range:
        return range(shard_index * self.shard_size, min((shard_index + 1) * self.shard_size, self.num_clips))


@dataclass(frozen=True)
class ShardResult:
    info: ShardInfo
    stage_seconds: dict[str, float] = field(default_factory=dict)
    worker: str = ""


class ShardFailed(Exception):
    """A shard could not be made; names the clip that failed (when one did) and keeps the traceback."""

    def __init__(self, shard_index: int, clip_id: str | None, clip_index: int | None, seed_info: str, error: str,
                 remote_traceback: str):
        super().__init__(shard_index, clip_id, clip_index, seed_info, error, remote_traceback)
        self.shard_index, self.clip_id, self.clip_index = shard_index, clip_id, clip_index
        self.seed_info, self.error, self.remote_traceback = seed_info, error, remote_traceback

    def __str__(self) -> str:
        where = f"clip {self.clip_id} (index {self.clip_index}, {self.seed_info})" if self.clip_id else "writing"
        return f"shard {self.shard_index}: {where} failed: {self.error}"

    @property
    def no_space(self) -> bool:
        """The disk filled up (nothing about the shard itself: free space and re-run)."""
        return self.error.startswith(NO_SPACE)


#: a ShardFailed's error when the disk filled up
NO_SPACE = "no space left on device"


_BACKENDS: dict[tuple[str, str], Backend] = {}
_THREADS_SET = False


def _backend(job: ShardJob) -> Backend:
    """One backend per process, device and set of maps the labels read (compiled kernels, CUDA
    context stay warm across shards). It leaves out the maps no enabled label reads (``keep``)."""
    from ..annotate import maps_read
    from ..render.backend import make_backend, resolve_device

    global _THREADS_SET
    if job.threads and not _THREADS_SET:
        import torch

        torch.set_num_threads(job.threads)
        _THREADS_SET = True
    device = resolve_device(job.spec.device)
    keep = maps_read(job.spec.annotations)
    key = (job.spec.backend.model_dump_json(), str(device), keep)
    if key not in _BACKENDS:
        backend = make_backend(job.spec.backend, device)
        if hasattr(backend, "keep"):  # set once: another run's labels get a backend of their own
            backend.keep = keep
        _BACKENDS[key] = backend
    return _BACKENDS[key]


def _poisoned() -> set[int]:
    raw = os.environ.get("SYNTHDATA_POISON_CLIPS", "")
    return {int(x) for x in raw.split(",") if x.strip()}


def run_shard(job: ShardJob, shard_index: int) -> ShardResult:
    """Make and write every clip of one shard; the shard appears whole or not at all.

    A failure is a :class:`ShardFailed` without an exception chain (its ``remote_traceback`` has the
    story): it crosses from a Dask worker by pickle, and Dask pickles the chain too (tblib), so a
    chained error that does not round-trip (pyarrow's, on a full disk) turned it into a plain
    ``Exception`` whose no-space message was lost."""
    try:
        return _make_shard(job, shard_index)
    except ShardFailed as exc:
        failed = exc
    failed.__cause__ = failed.__context__ = None
    failed.__suppress_context__ = False
    raise failed


def _make_shard(job: ShardJob, shard_index: int) -> ShardResult:
    from ..io.layout import Layout
    from ..io.sinks import open_sink
    from ..seeding import clip_seed
    from .pipeline import clip_id, make_clip_in_windows, make_clips
    from .windows import WINDOW_PIXELS, window_frames

    timer = StageTimer()
    backend = _backend(job)
    writer = open_sink(Layout(Path(job.out)), shard_index, job.spec, job.recipe_hash, timer, background=job.overlap)
    poisoned = _poisoned()
    window = window_frames(job.spec, job.window_pixels or WINDOW_PIXELS)  # 0 unless backend, labels and sink allow
    try:
        clips = list(job.clip_range(shard_index))
        done = 0
        step = 1 if window else backend.clip_batch
        for batch in (clips[k:k + step] for k in range(0, len(clips), step)):
            try:
                bad = [i for i in batch if i in poisoned]
                if bad:
                    batch = bad[:1]  # name the poisoned clip itself
                    raise RuntimeError(f"clip {bad[0]} is poisoned (SYNTHDATA_POISON_CLIPS)")
                if window:  # a long clip, window by window: memory bounded by a window
                    for record in make_clip_in_windows(job.spec, batch[0], backend, window, timer):
                        writer.add(record)
                        written, total = record.traj.first + record.rgb.shape[0], record.traj.whole.num_frames
                        del record  # the next window renders without this one
                        if written < total:  # the bar moves window by window: the clip's fraction written
                            report_clips(job.progress_topic, shard_index, done + written / total)
                    done += 1
                    report_clips(job.progress_topic, shard_index, done)
                    continue
                for record in make_clips(job.spec, batch, backend, timer):
                    writer.add(record)
                    done += 1
                    report_clips(job.progress_topic, shard_index, done)
            except Exception as exc:
                i = batch[0]  # a batched render fails as a whole: name its first clip and the batch
                seed = clip_seed(job.spec.layout_hash(), job.spec.seed, i)
                also = f" (batch of clips {batch[0]}–{batch[-1]})" if len(batch) > 1 else ""
                raise ShardFailed(shard_index, clip_id(job.spec, i), i, f"seed {seed}{also}",
                                  f"{type(exc).__name__}: {exc}", traceback.format_exc()) from None
        info = writer.commit()
    except ShardFailed as exc:
        writer.abort()
        if exc.no_space or not disk_full(exc.__context__ or exc):
            raise
        raise ShardFailed(shard_index, None, None, "", NO_SPACE, "") from None
    except Exception as exc:
        writer.abort()
        if disk_full(exc):  # the disk, not the shard: no traceback to read
            raise ShardFailed(shard_index, None, None, "", NO_SPACE, "") from None
        raise ShardFailed(shard_index, None, None, "", f"{type(exc).__name__}: {exc}", traceback.format_exc()) from None
    return ShardResult(info=info, stage_seconds=dict(timer.seconds), worker=f"pid {os.getpid()}")
