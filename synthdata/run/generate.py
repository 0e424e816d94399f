"""``generate``: a recipe → a dataset directory, shard by shard, resumable.

Shards run on an executor (embedded Dask cluster by default; see docs/scaling.md); only this driver
writes the manifest. A shard is committed when the manifest lists it; re-running the same command
skips committed shards and redoes the rest.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..errors import UserError, check_device
from ..io.card import write_card
from ..progress import logger, progress_bar, progress_enabled
from ..io.layout import TABLES, Layout
from ..io.atomic import atomic_write_bytes
from ..io.manifest import Manifest
from ..io.ownership import Owned, clear_staging
from ..io.reader import read_manifest
from ..io.verify import check_shard
from ..recipe.loading import spec_to_yaml
from ..recipe.schema import RecipeSpec
from ..render.device import device_name
from . import interrupts
from .check import check_recipe
from .compute import ComputeSpec, load_compute
from .events import listen_clips
from .executors import Executor, make_executor
from .memory import check_resources
from .outdir import OutLock, prepare_out, remove_owned
from .plan import Plan, make_plan
from ..io.sizes import human_bytes
from ..errors import disk_full
from .shard import NO_SPACE, ShardFailed, ShardJob
from .timing import StageTimer

__all__ = ["GenerationFailed", "generate", "prepare_out"]  # prepare_out: re-exported for --dry-run


def _fresh(layout: Layout, plan: Plan, spec: RecipeSpec, device: str) -> Manifest:
    # --overwrite: only the old dataset's own files (prepare_out refused anything else); none without one
    remove_owned(layout, Owned.of(read_manifest(layout), layout.root) if layout.manifest.is_file() else Owned.nothing())
    manifest = Manifest(
        recipe_name=spec.name, recipe_hash=plan.recipe_hash, seed=spec.seed, num_clips=plan.clips,
        shard_size=plan.shard_size, class_names=spec.class_names, backend=spec.backend.name, device=device,
        annotations=spec.annotations.model_dump(), recipe=spec.model_dump(mode="json"),
        synthdata_version=__version__, created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    manifest.write(layout)  # first: a run killed right after is a dataset to resume (recipe.yaml comes then)
    atomic_write_bytes(layout.recipe, spec_to_yaml(spec).encode())
    return manifest


def check_disk(plan: Plan, root: Path, manifest: Manifest | None) -> None:
    """Refuse (one line, nothing written) a run whose clips still to make would not fit on ``out``'s
    disk by the plan's estimate (a lower bound: the labels' compressed sizes, measured on shipped
    recipes); ``compute.force=true`` skips it."""
    import shutil

    done = sum(s.clip_stop - s.clip_start for s in manifest.shards) if manifest is not None else 0
    need = plan.estimated_bytes * max(plan.clips - done, 0) // max(plan.clips, 1)
    probe = next((p for p in (root, *root.parents) if p.exists()), None)
    if probe is None:
        return
    usage = shutil.disk_usage(probe)
    free = usage.free
    if usage.total and need > free:  # (a pseudo file system such as /proc has no size: nothing to judge)
        raise UserError("out", f"{plan.clips - done} clips need about {human_bytes(need)}, but {probe} has "
                               f"{human_bytes(free)} free; free space, choose another out, or make fewer clips "
                               "(compute.force=true skips this check)")


class GenerationFailed(Exception):
    """Some shards failed; every other shard is committed and a re-run retries only the failed ones."""

    def __init__(self, failures: list[ShardFailed], out: Path):
        self.failures, self.out = failures, out
        first = str(failures[0]) if failures else ""
        more = f" (and {len(failures) - 1} more: .failures)" if len(failures) > 1 else ""
        super().__init__(f"{len(failures)} shard(s) failed in {out}: {first}{more}")  # the cause, from Python too


def _as_compute(compute: ComputeSpec | str | dict | None) -> ComputeSpec:
    if compute is None:
        return ComputeSpec()
    if isinstance(compute, ComputeSpec):
        return compute
    if isinstance(compute, str):
        return load_compute(compute)
    if not isinstance(compute, dict):
        raise UserError("compute", f"expected a name (local, threads, sync), a dict of settings or a ComputeSpec, "
                                   f"got {type(compute).__name__} {compute!r}"[:200])
    return load_compute(compute.get("name", "local"), [f"{k}={v}" for k, v in compute.items() if k != "name"])


def generate(recipe: RecipeSpec, clips: int, out: str | Path, *, compute: ComputeSpec | str | dict | None = None,
             overwrite: bool = False, progress: bool | None = None, device: str | None = None,
             timer: StageTimer | None = None, executor: Executor | None = None) -> Manifest:
    """Generate ``clips`` clips of ``recipe`` into ``out``; resume when ``out`` holds the same run.

    ``compute`` picks the executor (default: an embedded Dask cluster; ``"sync"`` for in-process).
    ``executor``, when given, is one :func:`~synthdata.run.executors.make_executor` made from the same
    ``compute``, not yet entered (the CLI starts its cluster with ``start_soon`` while the recipe loads);
    this call enters and closes it.
    Returns the final manifest. Raises :class:`UserError` (nothing written) for bad input and
    :class:`GenerationFailed` after the run when shards failed (the others are kept).
    A Ctrl-C during set-up is raised once the cluster is up (or while waiting for it): run/interrupts.py.
    """
    interrupts.hold()  # set-up: a Ctrl-C is raised where it is safe …
    try:
        return _generate(recipe, clips, out, compute=compute, overwrite=overwrite, progress=progress,
                         device=device, timer=timer, executor=executor)
    finally:
        interrupts.release(raise_noted=False)  # an error before the cluster was up: the handler is back


def _generate(recipe: RecipeSpec, clips: int, out: str | Path, *, compute, overwrite: bool, progress: bool | None,
              device: str | None, timer: StageTimer | None, executor: Executor | None) -> Manifest:
    spec = check_recipe(recipe)
    for name, value, allowed in (("overwrite", overwrite, (bool,)), ("progress", progress, (bool, type(None)))):
        if not isinstance(value, allowed):  # "no" must not mean yes
            raise UserError(name, f"expected True or False{' or None' if len(allowed) > 1 else ''}, got {value!r}")
    if device is not None:
        try:
            check_device(device)
        except ValueError as exc:
            raise UserError("device", str(exc)) from None
        spec = spec.model_copy(update={"device": device})
    compute = _as_compute(compute)
    plan = make_plan(spec, clips, out, compute.shard_size)
    check_resources(spec, compute)
    layout, manifest = prepare_out(plan, spec, overwrite)  # refuse early, before the lock creates out
    plan = plan.resuming(manifest)
    if not compute.force:
        check_disk(plan, layout.root, manifest)
    dev = device_name(spec.device)  # no torch in a driver that never renders
    timer = timer or StageTimer()
    failures: list[ShardFailed] = []
    made = 0
    executor = executor or make_executor(compute, tasks=plan.shards)
    with OutLock(layout.root):
        with executor:  # up (or reachable) before anything is written
            interrupts.release()  # … here at the latest, the cluster up (and closed on the way out)
            layout, manifest = prepare_out(plan, spec, overwrite)  # again, now no other run can write here
            plan = plan.resuming(manifest)
            remade: list[int] = []
            if manifest is None:
                manifest = _fresh(layout, plan, spec, dev)
            else:  # a shard is trusted only when its files match the manifest: the others are made again
                if not layout.recipe.is_file():  # killed between the manifest and recipe.yaml
                    atomic_write_bytes(layout.recipe, spec_to_yaml(spec).encode())
                remade = [s.index for s in manifest.shards if check_shard(layout, s, "full")]
                if remade:
                    manifest.shards = [s for s in manifest.shards if s.index not in remade]
                    manifest.write(layout)
            if layout.staging.is_symlink():  # never follow a link out of the dataset to delete
                raise UserError("out", f"{layout.staging} is a symbolic link; synthdata stages shards there "
                                       "itself: remove the link")
            clear_staging(layout)  # a killed run's half-written shards
            for tmp in layout.stale_temp_files():  # and the temp files of its last atomic writes
                tmp.unlink(missing_ok=True)
            todo = [i for i in range(manifest.num_shards) if i not in manifest.done_shards()]
            done_clips = sum(s.clip_stop - s.clip_start for s in manifest.shards)
            overlap = compute.overlap if compute.overlap != "auto" else dev.startswith("cuda")
            topic = f"synthdata-clips-{uuid.uuid4().hex}"
            job = ShardJob(spec=spec, recipe_hash=plan.recipe_hash, out=str(layout.root), num_clips=plan.clips,
                           shard_size=plan.shard_size, threads=executor.job_threads(), overlap=overlap,
                           window_pixels=compute.window_pixels_value(),
                           progress_topic=topic if progress_enabled(progress) or logger.isEnabledFor(logging.DEBUG)
                           else None)
            logger.info("generating %d clips of %s in %d shards (%d to make) on %s with %d worker(s)", plan.clips,
                        spec.name, manifest.num_shards, len(todo), compute.address or compute.name, executor.workers)
            t0 = time.perf_counter()  # after the cluster is up: throughput, not start-up
            with progress_bar("generate", plan.clips, "clips", progress, completed=done_clips) as (bar, task):
                partial: dict[int, float] = {}  # shard → clips made so far in its current attempt (a long
                # clip's windows count as fractions of it)
                lock = threading.Lock()

                def show() -> None:
                    clips = made + sum(partial.values())
                    bar.update(task, completed=done_clips + clips,
                               rate=f"{clips / max(time.perf_counter() - t0, 1e-9):.2f} clips/s")

                def on_clip(shard: int, n: float) -> None:
                    logger.debug("shard %d: %g clip(s) made", shard, n)
                    with lock:
                        if shard in pending:
                            partial[shard] = n
                            show()

                pending = set(todo)
                with listen_clips(topic, on_clip, getattr(executor, "client", None)):
                    for outcome in executor.run(job, todo):
                        index = outcome.shard_index if isinstance(outcome, ShardFailed) else outcome.info.index
                        with lock:  # late reports of a finished shard no longer count
                            pending.discard(index)
                            partial.pop(index, None)
                        if isinstance(outcome, ShardFailed):
                            logger.debug("shard %d failed: %s", outcome.shard_index, outcome.error)
                            failures.append(outcome)
                            continue
                        manifest.add_shard(outcome.info)
                        try:
                            manifest.write(layout)
                        except OSError as exc:  # the shard's files are in place; the manifest names them next run
                            if not disk_full(exc):
                                raise
                            failures.append(ShardFailed(index, None, None, "", NO_SPACE, ""))
                            continue
                        for stage, seconds in outcome.stage_seconds.items():
                            timer.seconds[stage] += seconds
                        n = outcome.info.clip_stop - outcome.info.clip_start
                        with lock:
                            made += n
                            show()
                        logger.debug("shard %d committed (%d clips, %s)", outcome.info.index, n, outcome.worker)
            wall = time.perf_counter() - t0
            workers = executor.workers
        clear_staging(layout, ignore_errors=True)
        manifest.complete = not failures and len(manifest.shards) == manifest.num_shards
        manifest.stats = {
            "wall_seconds_last_run": round(wall, 3), "clips_made_last_run": made,
            "clips_per_second_last_run": round(made / wall, 4) if wall > 0 and made else None,
            "stage_ms_per_clip_last_run": timer.ms(per=made) if made else {},
            "executor": compute.name if not compute.address else "remote", "workers_last_run": workers,
            "shards_remade_after_verify": remade,
            "rows": {t: sum(s.rows.get(t, 0) for s in manifest.shards) for t in TABLES if any(t in s.rows for s in manifest.shards)},
        }
        try:
            manifest.write(layout)
        except OSError as exc:  # the last write (stats, complete): the shards' own writes listed them
            if not disk_full(exc):
                raise
            manifest.complete = False
            failures.append(ShardFailed(manifest.num_shards, None, None, "", NO_SPACE, ""))
        if manifest.complete:  # last, so the card's size on disk counts every file the run wrote
            try:
                write_card(layout, manifest, license_id=spec.output.license)
            except OSError as exc:  # the card is a convenience: a full disk must not lose the finished run
                logger.warning("the dataset card (README.md, preview.png) could not be written: %s",
                                 exc.strerror or exc)
    if failures:
        raise GenerationFailed(sorted(failures, key=lambda f: f.shard_index), layout.root)
    return manifest
