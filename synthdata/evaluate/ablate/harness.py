"""``ablate(config)``: every arm × seed trained with equal compute, scored, compared, reported.

Top to bottom: load and check the config (one line and exit 2 on bad input, nothing written) → lock
``out`` → run every (arm, seed) through the executor (Dask by default, ``compute=sync`` in-process;
cached runs are reused) with a progress bar → paired bootstrap of each arm against the baseline →
``results.parquet``, ``comparisons.parquet``, ``report.md`` with plots → optionally each arm's
predictions into the evaluation set's FiftyOne dataset.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ...errors import UserError
from ...io.safety import check_output_folder
from .config import AblationSpec, load_ablation

__all__ = ["AblationResult", "AblationFailed", "ablate"]

MARKER = "ablation.json"


@dataclass
class AblationResult:
    out: Path
    spec: AblationSpec
    runs: list  # RunResult, arm-major
    comparisons: list  # stats.Comparison, one per non-baseline arm
    verdicts: list[str]
    distances: dict[str, dict] | None = None  # training dataset → VideoDistances.to_dict() vs the evaluation set
    #: where the report and its tables go: ``out``, or ``out/only=a,b`` for a run of some arms (each such
    #: job keeps its own report; the runs, cached in ``out/runs``, are shared)
    report_dir: Path | None = None

    @property
    def reports(self) -> Path:
        return self.report_dir or self.out

    @property
    def report(self) -> Path:
        return self.reports / "report.md"


class AblationFailed(Exception):
    """Some runs failed; every finished run is kept and a rerun redoes only the failed ones."""

    def __init__(self, failures: list[tuple[str, int, BaseException]], out: Path):
        self.failures, self.out = failures, out
        lines = "; ".join(f"{a} seed {s}: {type(e).__name__}: {e}" for a, s, e in failures[:3])
        super().__init__(f"{len(failures)} run(s) failed in {out}: {lines}")


def _prepare_out(out: Path, spec: AblationSpec) -> None:
    """``out`` is new, empty, or an earlier ablation's folder (its marker is there); anything else is
    refused so nothing we did not make is touched."""
    check_output_folder(out, "out")
    if out.exists() and not out.is_dir():
        raise UserError("out", f"{out} exists and is not a folder")
    ours = {".synthdata.lock"}  # the run lock (synthdata.run.outdir.OutLock)
    if out.is_dir() and any(p.name not in ours for p in out.iterdir()) and not (out / MARKER).is_file():
        raise UserError("out", f"{out} is not empty and holds no {MARKER}; choose a new or empty folder")


def _progress(enabled: bool | None, total: int):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if enabled is None:
        enabled = sys.stderr.isatty()
    bar = Progress(TextColumn("[bold]ablate"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
                   TextColumn("{task.fields[last]}"), TimeRemainingColumn(), disable=not enabled)
    return bar, bar.add_task("runs", total=total, last="")


def _run_all(spec: AblationSpec, out: Path, compute, hooks, progress: bool | None, arms: Sequence[str]):
    from ...run.executors import make_executor
    from ...run.generate import _as_compute
    from .runs import RunJob, run_one

    jobs = [RunJob(spec, a, s, str(out), hooks) for a in arms for s in spec.seeds]
    results: dict[tuple[str, int], Any] = {}
    failures = []
    bar, task = _progress(progress, len(jobs))
    with make_executor(_as_compute(compute)) as ex, bar:
        for i, res in ex.imap(run_one, jobs, [j.key for j in jobs]):
            job = jobs[i]
            if isinstance(res, Exception):
                if isinstance(res, UserError):
                    raise res
                failures.append((job.arm, job.seed, res))
            else:
                results[(job.arm, job.seed)] = res
            bar.update(task, advance=1, last=f"{job.arm}/seed-{job.seed}")
    if failures:
        raise AblationFailed(failures, out)
    return [results[(j.arm, j.seed)] for j in jobs]


def _compare(spec: AblationSpec, runs: list, arms: Sequence[str]):
    import numpy as np

    from ...tasks import TASKS
    from ..stats import compare_arms, verdict

    by_arm = {a: sorted([r for r in runs if r.arm == a], key=lambda r: r.seed) for a in arms}
    base = spec.baseline_arm
    B = np.array([r.per_clip for r in by_arm[base]])
    strata = by_arm[base][0].strata if spec.bootstrap.strata != "none" else None
    scale = TASKS.get(spec.task.name, "task.name").display_scale  # percent points for fractions only
    comparisons, lines = [], []
    for arm in arms:
        if arm == base:
            continue
        A = np.array([r.per_clip for r in by_arm[arm]])
        c = compare_arms(A, B, arm_name=arm, base_name=base, metric=by_arm[arm][0].metric, strata=strata,
                         resamples=spec.bootstrap.resamples, level=spec.bootstrap.level, seed=0)
        comparisons.append(c)
        mine, theirs = (by_arm[arm][0].steps, by_arm[arm][0].batch), (by_arm[base][0].steps, by_arm[base][0].batch)
        unequal = "" if mine == theirs else (f" (unequal compute: {mine[0]} steps × {mine[1]} against the baseline's "
                                            f"{theirs[0]} × {theirs[1]})")
        lines.append(verdict(c, scale, c.metric) + unequal)
    return comparisons, lines


def ablate(config: str | Path | dict | AblationSpec, out: str | Path, *, overrides: Sequence[str] = (),
           compute: Any = None, progress: bool | None = None, train_fn: str | Callable | None = None,
           eval_fn: str | Callable | None = None, only: Sequence[str] | None = None) -> AblationResult:
    """Run an ablation (see the module docstring). ``train_fn``/``eval_fn``: a hook name or a function
    registered with :func:`~synthdata.evaluate.ablate.hooks.ablation_hook`; ``only`` runs these arms
    (plus the baseline) and reports them (Hydra-style multirun over arms: ``-m only=a,b``)."""
    from ...run.outdir import OutLock
    from .hooks import HOOKS
    from .report import write_report

    spec, arms, opened = preflight(config, overrides, only)
    hooks = tuple(_hook_name(h, kind, HOOKS) for h, kind in ((train_fn, "train"), (eval_fn, "eval")))
    out = Path(out)
    _prepare_out(out, spec)
    with OutLock(out):
        _prepare_out(out, spec)
        marker = json.dumps({"name": spec.name, "spec": spec.model_dump(mode="json")}, indent=1)
        if not (out / MARKER).is_file():  # claims out; it describes the report beside it, so it is
            (out / MARKER).write_text(marker)  # rewritten with the report (an interrupted rerun keeps the last)
        runs = _run_all(spec, out, compute, hooks, progress, arms)
        comparisons, lines = _compare(spec, runs, arms)
        result = AblationResult(out, spec, runs, comparisons, lines, _distances(spec, opened),
                                out / f"only={','.join(only)}" if only else None)
        write_report(result, opened)
        if not only:
            from ...io.atomic import atomic_write_bytes

            atomic_write_bytes(out / MARKER, marker.encode())
        if spec.fiftyone:
            from .to_fiftyone import predictions_to_fiftyone

            predictions_to_fiftyone(result, opened)
    return result


def preflight(config: str | Path | dict | AblationSpec, overrides: Sequence[str] = (),
              only: Sequence[str] | None = None):
    """Every check an ablation makes before it writes: (spec, arms to run, opened datasets), or one
    line naming the field. ``synthdata ablate -m`` runs it on every job before the first one trains."""
    from .checks import check_ablation

    spec = load_ablation(config, overrides)
    arms = [a.name for a in spec.arms]
    if only:
        unknown = [a for a in only if a not in arms]
        if unknown:
            raise UserError("only", f"no arm(s) {unknown}; expected some of {', '.join(arms)}")
        arms = [a for a in arms if a in only or a == spec.baseline_arm]
    return spec, arms, check_ablation(spec)


def _distances(spec: AblationSpec, opened) -> dict[str, dict] | None:
    """How far each training dataset is from the evaluation set, by one contrastive encoder trained here
    on all of them (synthetic-to-target distance, reported beside the downstream deltas)."""
    if not spec.distances:
        return None
    from ...render.backend import resolve_device
    from ..video_distance import train_and_compare

    names = list(opened.train)
    cmp = train_and_compare(opened.eval, [opened.train[n] for n in names], steps=spec.distance_steps,
                            device=resolve_device(spec.device))
    return {n: d.to_dict() for n, d in zip(names, cmp.distances)}


def _hook_name(hook: str | Callable | None, kind: str, registry) -> str | None:
    if hook is None or isinstance(hook, str):
        if isinstance(hook, str):
            registry.get(f"{kind}:{hook}", f"{kind}_fn")
        return hook
    name = getattr(hook, "__name__", None)
    if name is None or registry._items.get(f"{kind}:{name}") is not hook:
        raise UserError(f"{kind}_fn", f"register the function first with @synthdata.ablation_hook({kind!r}) so "
                                      "workers can find it by name")
    return name
