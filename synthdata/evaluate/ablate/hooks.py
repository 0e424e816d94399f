"""Ablation hooks: the training loop and the scorer of a run, replaceable by name.

The defaults train a task for exactly ``budget.steps`` AdamW steps of ``budget.batch`` samples and
score it with the task's own metric. A team swaps either one without editing the SDK::

    @synthdata.ablation_hook("train", "my-loop")
    def my_loop(task, model, batch_at, budget, device, seed, eval_every, score):
        ...  # must take exactly budget.steps steps of batch_at(step) (equal compute)
        return loss_curve, eval_curve

    synthdata.ablate("ablation.yaml", train_fn="my-loop")

Hooks are found by name in the ``HOOKS`` registry (entry-point group ``synthdata.ablation_hooks``),
so Dask workers resolve them in their own process: a hook must live in an importable module (a
script's ``__main__`` is not importable by workers; use ``compute=sync`` for those).
"""

from __future__ import annotations

from typing import Any, Callable

from ...registry import Registry

__all__ = ["HOOKS", "ablation_hook", "default_train", "default_eval", "resolve_hooks"]

#: "train:<name>" / "eval:<name>" → function
HOOKS: Registry[Callable[..., Any]] = Registry("ablation hook", "synthdata.ablation_hooks")


def ablation_hook(kind: str, name: str | None = None):
    """Register a ``train`` or ``eval`` hook under ``name`` (default: the function's name)."""
    if kind not in ("train", "eval"):
        raise ValueError(f"hook kind must be 'train' or 'eval', got {kind!r}")

    def add(fn):
        HOOKS.register(f"{kind}:{name or fn.__name__}", fn)
        return fn

    return add


def default_train(task, model, batch_at, budget, device, seed: int, eval_every: int, score):
    """``budget.steps`` AdamW steps; returns (loss curve [(step, loss)], eval curve [(step, metric)])."""
    from ...tasks import train_task

    curve: list[tuple[int, float]] = []

    def on_step(step: int, loss: float) -> None:
        if eval_every and step % eval_every == 0 and step < budget.steps:
            curve.append((step, score(model).value))

    return train_task(task, model, batch_at, budget.steps, budget.lr, device, on_step), curve


def default_eval(task, model, dataset, class_names, device):
    """The task's metric on every clip of ``dataset`` (one clip per forward pass)."""
    from ...tasks import evaluate_task

    return evaluate_task(task, model, dataset, device, class_names=class_names)


def resolve_hooks(train: str | None, evaluate: str | None) -> tuple[Callable, Callable]:
    t = HOOKS.get(f"train:{train}", "train_fn") if train else default_train
    e = HOOKS.get(f"eval:{evaluate}", "eval_fn") if evaluate else default_eval
    return t, e
