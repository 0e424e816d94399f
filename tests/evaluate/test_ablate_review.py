"""What an evaluation review found (2026-12-06): reports claiming equal compute, caches outliving the
strata and a team's hook code, hooks drawing more than the budget, results depending on the executor,
late refusals, and an evaluation reference that was another dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import synthdata
from synthdata.evaluate.ablate import HOOKS, ablate, ablation_hook
from synthdata.evaluate.ablate.hooks import default_train

from ..conftest import SYNC2, TINY, run_cli
from .test_ablate_inputs import _config, _refused, sets  # noqa: F401 - the fixture


def test_unequal_budgets_are_reported_as_such(sets, tmp_path):  # noqa: F811
    """With ``allow_unequal_budget`` the report still said "Every arm: 2 steps × 2 clips (equal compute)"
    and the verdict gave the longer-trained arm's gain with no word."""
    cfg = _config(sets, allow_unequal_budget=True, seeds=2, allow_few_seeds=True)
    cfg["arms"][1]["budget"] = {"steps": 4, "batch": 2}
    res = ablate(cfg, tmp_path / "o", compute="sync", progress=False)
    report = res.report.read_text()
    assert "equal compute)" not in report and "**Unequal compute**" in report
    # which clips were scored: the whole evaluation set and training sets whole (no split named)
    assert f"(`{sets['eval']}`: all 2 clips, whatever their `split`; training sets: `real` all 2 clips" in report
    assert "`base` 2 steps × 2 clips" in report and "`other` 4 steps × 2 clips" in report
    assert res.verdicts[0].endswith("(unequal compute: 4 steps × 2 against the baseline's 2 × 2)")


def test_the_cache_follows_the_strata_and_the_hook_code(sets, tmp_path):  # noqa: F811
    cfg = _config(sets, seeds=2, allow_few_seeds=True)
    first = ablate({**cfg, "bootstrap": {"strata": "none"}}, tmp_path / "o", compute="sync", progress=False)
    again = ablate({**cfg, "bootstrap": {"strata": "class"}}, tmp_path / "o", compute="sync", progress=False)
    assert not any(r.cached for r in again.runs) and first.runs[0].strata != again.runs[0].strata

    try:
        @ablation_hook("train", "team")
        def team(task, model, batch_at, budget, device, seed, eval_every, score):
            return default_train(task, model, batch_at, budget, device, seed, eval_every, score)

        ablate(cfg, tmp_path / "h", compute="sync", progress=False, train_fn="team")
        assert all(r.cached for r in ablate(cfg, tmp_path / "h", compute="sync", progress=False, train_fn="team").runs)
        HOOKS._items.pop("train:team")

        @ablation_hook("train", "team")  # the same name, another body: the team edited its loop
        def team2(task, model, batch_at, budget, device, seed, eval_every, score):
            losses, curve = default_train(task, model, batch_at, budget, device, seed, eval_every, score)
            return losses, curve

        rerun = ablate(cfg, tmp_path / "h", compute="sync", progress=False, train_fn="team")
        assert not any(r.cached for r in rerun.runs)
    finally:
        HOOKS._items.pop("train:team", None)


def test_a_hook_gets_the_budgets_batches_and_no_more(sets, tmp_path):  # noqa: F811
    """A hook training 10 × the budget (drawing ``batch_at(step % steps)``) was recorded and reported as
    equal compute."""
    @ablation_hook("train", "greedy")
    def greedy(task, model, batch_at, budget, device, seed, eval_every, score):
        for k in range(budget.steps * 10):
            batch_at(k % budget.steps)
        return [], []

    try:
        with pytest.raises(synthdata.errors.UserError, match=r"^train_fn: the training hook asked for batch 0 after 2"):
            ablate(_config(sets, seeds=2, allow_few_seeds=True), tmp_path / "g", compute="sync", progress=False,
                   train_fn="greedy")
    finally:
        HOOKS._items.pop("train:greedy")


def test_the_same_runs_give_the_same_bytes_in_process_and_on_workers(sets, tmp_path):  # noqa: F811
    """``compute=sync`` trained on the caller's torch threads, a Dask worker on one: weights differed by
    up to 0.009 after 3 steps. Every run now trains on one thread."""
    cfg = _config(sets, seeds=2, allow_few_seeds=True)
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(cfg))
    for compute in ("sync", "local"):
        r = run_cli("ablate", str(path), f"out={tmp_path / compute}", f"compute={compute}", "progress=false")
        assert r.returncode == 0, r.stderr
    for arm in ("base", "other"):
        for seed in (0, 1):
            rel = Path("runs") / arm / f"seed-{seed}" / "model.safetensors"
            assert (tmp_path / "sync" / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes()


def test_a_device_this_machine_lacks_is_refused_before_out_is_made(sets, tmp_path):  # noqa: F811
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert _refused(tmp_path, _config(sets, device="cuda:9")).startswith("device: 'cuda:9' requested but CUDA")


def test_a_training_set_named_eval_is_not_the_evaluation_set(sets, tmp_path):  # noqa: F811
    cfg = _config(sets, seeds=2, allow_few_seeds=True)
    cfg["datasets"] = {"eval": str(sets["real"])}
    cfg["arms"] = [{"name": "base", "data": {"eval": 1.0}}, {"name": "other", "data": {"eval": 1.0}}]
    res = ablate(cfg, tmp_path / "o", compute="sync", progress=False)
    assert len(res.runs) == 4


def test_a_sweep_is_checked_whole_before_its_first_job_trains(sets, tmp_path):  # noqa: F811
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(_config(sets)))
    r = run_cli("ablate", str(path), f"out={tmp_path / 'o'}", "compute=sync", "-m", "budget.steps=2,0")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0, r.stderr
    assert "(job 2/2: budget.steps=0)" in r.stderr and not (tmp_path / "o").exists()
    one = run_cli("ablate", str(path), f"out={tmp_path / 'one'}", "compute=sync", "progress=false", "-m", "only=other")
    assert one.returncode == 0 and "other vs base" in one.stdout, one.stderr


def test_an_evaluation_reference_must_hold_the_same_clips(sets, tmp_path):  # noqa: F811
    """A same-recipe run of another seed (the same clip ids) was compared as the reference (PSNR 17);
    another size failed with a traceback; identical clips printed "psnr": Infinity (not JSON)."""
    r = run_cli("evaluate", str(sets["eval"]), "--reference", str(sets["real"]))
    assert r.returncode == 2 and "error: reference:" in r.stderr and "its seed (its layout)" in r.stderr, r.stderr
    big = tmp_path / "big"
    synthdata.generate("shapes", clips=2, out=big, overrides=[*TINY, "seed=2", "clip.width=48"], compute=SYNC2,
                       progress=False)
    r = run_cli("evaluate", str(sets["eval"]), "--reference", str(big))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "is another clip" in r.stderr, r.stderr
    r = run_cli("evaluate", str(sets["eval"]), "--reference", str(sets["eval"]))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["psnr"] is None
