"""Refusals before an ablation trains anything: each is one line naming the field, exit 2.

- every dataset opens (quick verify) and all share one class list (a class id must mean one thing in
  every arm and in the evaluation set);
- the evaluation set shares no clip with any training set: the same media bytes (sha256 from the
  manifests), or the same generated clip (equal per-clip seeds, which derive from the layout hash, the
  root seed and the clip index) — so one dataset's ``train`` split may train while its ``test`` split
  scores, but not the whole dataset against one of its splits;
- the task and every augmentation pipeline exist (did-you-mean);
- every arm has the same budget, unless ``allow_unequal_budget``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import UserError
from .config import AblationSpec

__all__ = ["OpenedData", "check_ablation", "open_ref"]


@dataclass
class OpenedData:
    """The ablation's datasets, opened once: name → SynthDataset, and the evaluation set."""

    train: dict
    eval: object
    eval_name: str
    class_names: list[str]


def open_ref(ref, field: str):
    """A :class:`~.config.DataRef` opened: the dataset, or the clips of its split (``field.split`` named
    when the dataset has none such)."""
    from ...io.reader import open_dataset

    ds = open_dataset(ref.path, field=field)
    return ds if ref.split is None else ds.of_split(ref.split, f"{field}.split")


def _media_hashes(ds) -> set[str]:
    """The content hashes of the clips' MP4s (only those of the clips ``ds`` reads: a split's)."""
    listed = ds.manifest.listed_files()
    return {listed[rel] for rel in ds.clips.column("video_path").to_pylist() if rel in listed}


def _clip_seeds(ds) -> set[int]:
    """Per-clip seeds of a generated dataset (imported datasets have no recipe and no seeds)."""
    if not ds.manifest.recipe:
        return set()
    return set(ds.clips.column("seed").to_pylist())


def _check_budgets(spec: AblationSpec) -> None:
    budgets = {a.name: spec.budget_of(a) for a in spec.arms}
    if len({(b.steps, b.batch) for b in budgets.values()}) > 1 and not spec.allow_unequal_budget:
        shown = ", ".join(f"{n}: {b.steps}×{b.batch}" for n, b in budgets.items())
        raise UserError("arms.budget", f"arms must get the same compute (steps × batch) for a fair comparison, got "
                                       f"{shown}; set allow_unequal_budget: true to compare them anyway")


def _check_names(spec: AblationSpec) -> None:
    from ...augment import load_pipeline
    from ...tasks import TASKS

    TASKS.get(spec.task.name, "task.name")(**spec.task.settings).size(spec.task.size)
    for i, arm in enumerate(spec.arms):
        load_pipeline(arm.augment, field=f"arms.{i}.augment")


def _check_classes(train: dict, ev, eval_name: str) -> list[str]:
    classes = {name: list(ds.class_names) for name, ds in train.items()}
    classes.setdefault(eval_name, list(ev.class_names))
    if len({tuple(c) for c in classes.values()}) > 1:
        shown = "; ".join(f"{n} has {c}" for n, c in classes.items())
        raise UserError("datasets", f"classes disagree (class ids would mean different things): {shown}")
    return next(iter(classes.values()))


def _check_overlap(train: dict, ev, spec: AblationSpec) -> None:
    """No training clip is an evaluation clip: another split of one dataset is fine, the same clips not."""
    media, seeds = _media_hashes(ev), _clip_seeds(ev)
    for name, ds in train.items():
        if name == spec.eval_name and spec.datasets[name].split == spec.eval_ref.split:
            raise UserError("eval", f"the evaluation set is the training set {name!r}"
                                    + ("" if spec.eval_ref.split else "; evaluate on another split (eval.split: test)"))
        shared = len(media & _media_hashes(ds)) or len(seeds & _clip_seeds(ds))
        if shared:
            part = "" if ds.split_name is None else f" (split {ds.split_name})"
            raise UserError("eval", f"the evaluation set shares {shared} clip(s) with training set {name!r}{part} "
                                    f"({ds.root}); evaluate on clips no arm trains on")


def check_ablation(spec: AblationSpec) -> OpenedData:
    """Everything knowable before training; returns the opened datasets."""
    _check_budgets(spec)
    _check_names(spec)
    used = {d for a in spec.arms for d in a.data}
    train = {name: open_ref(spec.datasets[name], f"datasets.{name}") for name in spec.datasets if name in used}
    from ...render.backend import resolve_device

    resolve_device(spec.device)  # before anything is written: a device this machine lacks is one line here
    ev = open_ref(spec.eval_ref, "eval")
    classes = _check_classes(train, ev, spec.eval_name)
    _check_overlap(train, ev, spec)
    return OpenedData(train, ev, spec.eval_name, classes)
