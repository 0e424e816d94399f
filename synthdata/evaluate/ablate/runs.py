"""One ablation run: (arm, seed) → a trained task model, its scores on the evaluation set, on disk.

``run_one`` is the pure function the executor ships to workers (Dask or in-process). Everything it
needs is in the small :class:`RunJob`; datasets are opened in the worker. A run whose ``result.json``
is on disk with the same job hash is returned as is (finished runs are cached; a rerun resumes),
otherwise it is trained from scratch and written to a temporary folder that is renamed into place, so
a run directory is whole or absent. Randomness: the sample plan, the model's initial weights and every
augmentation draw come from the run's seed alone.

Run directory ``runs/<arm>/seed-<seed>/``: ``result.json`` (scores, per-class, per-clip, loss and
learning curves, samples seen per source), ``model.safetensors``, ``predictions.npz``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .config import AblationSpec
from .mixing import plan_samples

__all__ = ["RunJob", "RunResult", "run_one", "job_hash"]


@dataclass(frozen=True)
class RunJob:
    spec: AblationSpec
    arm: str
    seed: int
    out: str
    hooks: tuple[str | None, str | None] = (None, None)  # (train hook, eval hook) names, see hooks.py

    @property
    def dir(self) -> Path:
        return Path(self.out) / "runs" / self.arm / f"seed-{self.seed}"

    @property
    def key(self) -> str:
        return f"ablate-{self.spec.name}-{self.arm}-{self.seed}-{job_hash(self)[:10]}"


@dataclass
class RunResult:
    arm: str
    seed: int
    metric: str
    summary: dict[str, float]
    per_class: dict[str, float]
    per_clip: list[float]
    clip_ids: list[str]
    strata: list[str]
    loss_curve: list[tuple[int, float]]
    eval_curve: list[tuple[int, float]]
    seen: dict[str, int]
    steps: int
    batch: int
    seconds: float
    job_hash: str
    cached: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _content(path: Any) -> str | None:
    """A dataset's content as its manifest lists it (recipe hash, seed, every shard's files and their
    hashes): a dataset remade in place (``--overwrite``) is another dataset, whatever its path."""
    try:
        m = json.loads((Path(path) / "dataset.json").read_text())
    except (OSError, ValueError, TypeError):
        return None
    return hashlib.sha256(json.dumps([m.get("recipe_hash"), m.get("seed"), m.get("shards")], sort_keys=True,
                                     default=str).encode()).hexdigest()


def job_hash(job: RunJob) -> str:
    """What determines a run's result: the task, its data mix, augmentation, budget, eval set, seed."""
    s = job.spec
    arm = next(a for a in s.arms if a.name == job.arm)
    body = {"task": s.task.model_dump(mode="json"), "arm": arm.model_dump(mode="json", exclude={"budget"}),
            "budget": s.budget_of(arm).model_dump(mode="json"), "seed": job.seed,
            "eval": _eval_key(s),
            "datasets": {k: s.datasets[k].key for k in sorted(arm.data)}, "eval_every": s.eval_every, "hooks": job.hooks,
            "hook_code": [_code_hash(h, kind) for h, kind in zip(job.hooks, ("train", "eval"))],
            "strata": s.bootstrap.strata,  # the run records its clips' strata
            "content": {k: _content(ref.path) for k, ref in sorted({**{n: s.datasets[n] for n in arm.data},
                                                                    _eval_key(s): s.eval_ref}.items())}, "version": 3}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _eval_key(s: AblationSpec) -> str:
    """The evaluation set in a run's key: its dataset name or path as configs without splits always
    had it (their cached runs stay valid), with ``#split`` when it reads one split."""
    name, split = (s.eval.dataset if s.eval.dataset is not None else s.eval.path), s.eval_ref.split
    return name if split is None else f"{name}#{split}"


def _code_hash(name: str | None, kind: str) -> str | None:
    """A user hook's compiled body (its edits make new runs; a cached run trained by the old body was
    reused before). Functions it calls are not followed."""
    if name is None:
        return None
    import marshal

    from .hooks import HOOKS

    fn = HOOKS.get(f"{kind}:{name}", f"{kind}_fn")
    code = getattr(fn, "__code__", None)
    return hashlib.sha256(marshal.dumps(code)).hexdigest() if code is not None else None


def _cached(job: RunJob) -> RunResult | None:
    path = job.dir / "result.json"
    try:
        body = json.loads(path.read_text())
        result = RunResult(**body)
    except (OSError, ValueError, TypeError):
        return None
    if result.job_hash != job_hash(job):
        return None
    result.cached = True
    return result


def run_one(job: RunJob) -> RunResult:
    """Train and score one (arm, seed), or return its cached result."""
    if (hit := _cached(job)) is not None:
        return hit
    import torch

    from ...integrations.torch_dataset import ClipDataset, loaded_maps
    from ...render.backend import resolve_device
    from ...tasks import TASKS
    from .checks import open_ref
    from .hooks import resolve_hooks

    spec = job.spec
    arm = next(a for a in spec.arms if a.name == job.arm)
    budget = spec.budget_of(arm)
    device = resolve_device(spec.device)
    task = TASKS.get(spec.task.name, "task.name")(**spec.task.settings)
    from ...augment import load_pipeline

    pipeline = load_pipeline(arm.augment, "augment")

    def clips_of(ref, field: str) -> ClipDataset:  # the task's maps and those the arm's augmentation reads
        ds = open_ref(ref, field)
        return ClipDataset(ds, maps=loaded_maps(ds, task.maps_needed, pipeline))

    sources = {n: _Decoded(clips_of(spec.datasets[n], f"datasets.{n}")) for n in arm.data}
    ev = clips_of(spec.eval_ref, "eval")
    class_names = list(ev.ds.class_names)
    plan = plan_samples(arm.data, {n: len(d) for n, d in sources.items()}, budget.steps, budget.batch, job.seed)
    train_fn, eval_fn = resolve_hooks(*job.hooks)

    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(job.seed)  # the model's initial weights; forked, so nothing outside sees it
        model = task.build(len(class_names), spec.task.size).to(device)
    augment = _augmenter(arm.augment, job.seed)

    drawn: list[int] = []

    def batch_at(step: int):
        if not 0 <= step < budget.steps or len(drawn) >= budget.steps:  # equal compute: the budget's batches
            from ...errors import UserError

            raise UserError("train_fn", f"the training hook asked for batch {step} after {len(drawn)}; the budget "
                                        f"is {budget.steps} batches (steps 0 to {budget.steps - 1}, each once): every "
                                        "arm trains on the same number")
        drawn.append(step)
        items = [augment(sources[plan.names[s]][int(i)], step * budget.batch + b)
                 for b, (s, i) in enumerate(zip(plan.source[step], plan.index[step]))]
        return items

    def score(m):
        return eval_fn(task, m, ev, class_names, device)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread per run: the same bytes in-process and on a Dask worker
    try:
        loss_curve, eval_curve = train_fn(task, model, batch_at, budget, device, job.seed, spec.eval_every, score)
        scores = score(model)
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - t0
    result = RunResult(
        arm=job.arm, seed=job.seed, metric=scores.primary, summary=dict(scores.summary),
        per_class=dict(scores.per_class), per_clip=[float(x) for x in scores.per_clip], clip_ids=list(ev.ds.clip_ids),
        strata=_strata(ev, spec.bootstrap.strata, class_names), loss_curve=loss_curve, eval_curve=eval_curve,
        seen=plan.seen(), steps=budget.steps, batch=budget.batch, seconds=seconds, job_hash=job_hash(job),
        extra={"batches_drawn": len(drawn)})
    _write(job, result, model, scores)
    return result


class _Decoded:
    """A ClipDataset whose items are decoded once per run and kept (up to ``budget`` bytes): a run
    draws each clip many times, and decoding the MP4 and maps again each time was most of its cost.
    Items are never modified in place (augmentations build new tensors)."""

    def __init__(self, ds, budget: int = 2 << 30):
        self.ds, self.budget, self.used = ds, budget, 0
        self.items: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int):
        if i in self.items:
            return self.items[i]
        item = self.ds[i]
        size = item[0].nbytes + sum(v.nbytes for v in item[1].values())
        if self.used + size <= self.budget:
            self.items[i] = item
            self.used += size
        return item


def _augmenter(name: str, seed: int) -> Callable[[Any, int], Any]:
    """``(item, sample number) → item``: the arm's pipeline, each sample's draw keyed by (seed, number)."""
    from ...augment import load_pipeline

    pipeline = load_pipeline(name, field="augment")

    def apply(item, n: int):
        return pipeline.apply_item(item, seed=(seed * 1_000_003 + n) % 2**63)

    return apply


def _strata(ev, how: str, class_names: list[str]) -> list[str]:
    """The bootstrap stratum of each evaluation clip: its most visible class (or one stratum)."""
    if how == "none" or how == "source":
        return ["all"] * len(ev)
    import pyarrow.compute as pc

    objs = ev.ds.objects
    out = []
    for cid in ev.ds.clip_ids:
        rows = objs.filter(pc.equal(objs["clip_id"], cid))
        if rows.num_rows == 0:
            out.append("background")
            continue
        px = np.array(rows.column("visible_pixels").to_pylist(), dtype=np.int64)
        cls = np.array(rows.column("class_id").to_pylist(), dtype=np.int64)
        totals = np.bincount(cls, weights=px, minlength=len(class_names) + 1)
        out.append(class_names[int(totals[1:].argmax())] if totals[1:].any() else "background")
    return out


def _write(job: RunJob, result: RunResult, model, scores) -> None:
    """Write the run into ``<dir>.tmp-<pid>`` and rename it into place (whole or absent)."""
    from safetensors.torch import save_file

    final = job.dir
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)  # our own leftover from a killed attempt (the name carries our pid)
    tmp.mkdir()
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp / "model.safetensors"))
    np.savez_compressed(tmp / "predictions.npz", **scores.predictions)
    (tmp / "result.json").write_text(json.dumps(asdict(result), indent=1))
    if (final / "result.json").is_file():  # a finished run of another job hash (ours): replaced by this one
        shutil.rmtree(final)
    os.replace(tmp, final)  # anything else there (not a run of ours) makes this fail rather than be deleted
