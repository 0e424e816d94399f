"""Honesty checks of the ablation loop (tiny sizes, CPU): identical arms cover 0, a label-destroying
augmentation is significantly worse, more in-domain data significantly better, same seeds → same numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import synthdata
from synthdata.augment import AUGMENTATIONS, Op, register_op
from synthdata.evaluate.ablate import ablate

from ..conftest import SYNC2, TINY, run_cli


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ablate")
    sets = {"few": ("shapes", 11, 2), "many": ("shapes", 11, 10), "eval": ("shapes", 12, 6)}
    for name, (recipe, seed, clips) in sets.items():
        # one ray per pixel: the data these thresholds were calibrated on (anti-aliasing, default since,
        # changes the pixels and with them which tiny-data arm wins by how much)
        synthdata.generate(recipe, clips=clips, out=root / name, overrides=[*TINY, f"seed={seed}", "backend.supersample=1"],
                           compute=SYNC2, progress=False)
    return {n: root / n for n in sets}


def _config(data, arms, steps=60, **extra) -> dict:
    return {"name": "honesty", "task": {"name": "segment", "size": "tiny"},
            "datasets": {"few": str(data["few"]), "many": str(data["many"])}, "eval": str(data["eval"]),
            "arms": arms, "budget": {"steps": steps, "batch": 4, "lr": 0.003}, "seeds": 3,
            "bootstrap": {"resamples": 1000, "strata": "none"}, **extra}


@pytest.fixture
def flip_image_only():
    """The deliberately wrong augmentation: flips the pixels, not the masks."""

    @register_op
    class FlipImageOnly(Op):
        name = "flip_image_only"

        def apply(self, video, labels, draw):
            return video.flip(-1)

    yield
    AUGMENTATIONS._items.pop("flip_image_only")


@pytest.mark.slow
def test_the_three_honesty_checks(data, tmp_path, flip_image_only):
    arms = [{"name": "base", "data": {"few": 1}},
            {"name": "same", "data": {"few": 1}},
            {"name": "broken", "data": {"few": 1}, "augment": {"ops": [{"name": "flip_image_only"}]}},
            {"name": "more", "data": {"many": 1}}]
    res = ablate(_config(data, arms, steps=120), tmp_path / "out", compute="sync", progress=False)
    by = {c.arm: c for c in res.comparisons}
    assert by["same"].delta == 0 and by["same"].low <= 0 <= by["same"].high  # identical arms: covers 0
    assert by["broken"].high < 0 and by["broken"].p_improve < 0.5  # destroyed labels: significantly worse
    assert by["more"].low > 0 and by["more"].p_improve > 0.5  # more in-domain data: significantly better
    verdicts = "\n".join(res.verdicts)
    assert "same vs base: no detectable difference" in verdicts and "more vs base: +" in verdicts
    # equal compute, samples seen per source reported
    assert {(r.steps, r.batch) for r in res.runs} == {(120, 4)}
    assert all(sum(r.seen.values()) == 480 for r in res.runs)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Verdicts" in report and "plots/arms.png" in report
    for png in ("arms", "curves", "per_class"):
        assert (tmp_path / "out" / "plots" / f"{png}.png").stat().st_size > 1000
    table = pq.read_table(tmp_path / "out" / "results.parquet").to_pylist()
    assert len([r for r in table if r["primary"]]) == 4 * 3  # one row per arm × seed × metric


def test_same_seeds_same_numbers_and_finished_runs_are_cached(data, tmp_path):
    arms = [{"name": "base", "data": {"few": 1}}, {"name": "light", "data": {"few": 1}, "augment": "light"}]
    a = ablate(_config(data, arms, steps=6), tmp_path / "a", compute="sync", progress=False)
    b = ablate(_config(data, arms, steps=6), tmp_path / "b", compute="sync", progress=False)
    assert [r.per_clip for r in a.runs] == [r.per_clip for r in b.runs]
    assert [r.loss_curve for r in a.runs] == [r.loss_curve for r in b.runs]
    again = ablate(_config(data, arms, steps=6), tmp_path / "a", compute="sync", progress=False)
    assert all(r.cached for r in again.runs) and [r.per_clip for r in again.runs] == [r.per_clip for r in a.runs]
    changed = ablate(_config(data, arms, steps=7), tmp_path / "a", compute="sync", progress=False)
    assert not any(r.cached for r in changed.runs)  # another budget is another run


def test_runs_on_a_dask_cluster_from_the_cli(data, tmp_path):
    """Arms × seeds as tasks on a real LocalCluster; a multirun over arms (-m only=…) reuses cached runs."""
    import yaml

    arms = [{"name": "base", "data": {"few": 1}}, {"name": "mix", "data": {"few": 1, "many": 0.5}},
            {"name": "light", "data": {"few": 1}, "augment": "light"}]
    path = tmp_path / "ablation.yaml"
    path.write_text(yaml.safe_dump(_config(data, arms, steps=4)))
    out = tmp_path / "out"
    r = run_cli("ablate", str(path), f"out={out}", "compute=local", "compute.workers=2", "-m", "only=mix,light")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("report: ") == 2 and "mix vs base" in r.stdout and "light vs base" in r.stdout
    results = json.loads((out / "runs" / "mix" / "seed-0" / "result.json").read_text())
    assert set(results["seen"]) == {"few", "many"} and sum(results["seen"].values()) == 4 * 4
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["base", "light", "mix"]
    # found by a review: each job wrote out/report.md over the last; now each job's report has its folder
    import pyarrow.parquet as pq

    for arm in ("mix", "light"):
        job = out / f"only={arm}"
        assert f"report: {job / 'report.md'}" in r.stdout and f"{arm} vs base" in (job / "report.md").read_text()
        assert set(pq.read_table(job / "comparisons.parquet").column("arm").to_pylist()) == {arm}


def test_predictions_go_to_fiftyone_per_arm(data, tmp_path):
    arms = [{"name": "base", "data": {"few": 1}}, {"name": "more", "data": {"many": 1}}]
    res = ablate(_config(data, arms, steps=4, fiftyone=True, name="fo-ablation"), tmp_path / "o", compute="sync",
                 progress=False)
    import fiftyone as fo

    ds = fo.load_dataset("fo-ablation-eval")
    assert ds.has_frame_field("pred_base") and ds.has_frame_field("pred_more")
    assert {"eval_base", "eval_more"} <= set(ds.list_evaluations())
    first = ds.first()
    assert first.frames[1]["pred_base"].mask.shape == (32, 32)
    assert len(res.runs) == 6


def test_a_team_hook_replaces_the_training_loop_and_distances_are_reported(data, tmp_path):
    from synthdata.evaluate.ablate import HOOKS, ablation_hook
    from synthdata.evaluate.ablate.hooks import default_train

    calls = []

    @ablation_hook("train", "counting")
    def counting(task, model, batch_at, budget, device, seed, eval_every, score):
        calls.append(seed)
        return default_train(task, model, batch_at, budget, device, seed, eval_every, score)

    try:
        arms = [{"name": "base", "data": {"few": 1}}, {"name": "more", "data": {"many": 1}}]
        res = synthdata.ablate(_config(data, arms, steps=3, distances=True, distance_steps=3), tmp_path / "h",
                               compute="sync", progress=False, train_fn=counting)
        assert sorted(calls) == [0, 0, 1, 1, 2, 2]
        assert set(res.distances) == {"few", "many"} and all(d["fvd"] >= 0 for d in res.distances.values())
        assert "## Distance of each training set" in (tmp_path / "h" / "report.md").read_text()
    finally:
        HOOKS._items.pop("train:counting")


def test_a_dataset_remade_in_place_is_not_served_from_the_cache(data, tmp_path):
    """Found by a docs-vs-code review: runs were keyed by the datasets' paths, so an eval set remade
    with --overwrite reused the old runs (docs/evaluation.md: "keyed by everything that shapes them")."""
    import shutil

    few = tmp_path / "few"
    shutil.copytree(data["few"], few)
    arms = [{"name": "base", "data": {"few": 1}}, {"name": "b2", "data": {"few": 1}}]
    cfg = {**_config(data, arms, steps=4), "datasets": {"few": str(few)}, "seeds": 1, "allow_few_seeds": True}
    ablate(cfg, tmp_path / "a", compute="sync", progress=False)
    assert all(r.cached for r in ablate(cfg, tmp_path / "a", compute="sync", progress=False).runs)
    synthdata.generate("shapes", clips=2, out=few, overrides=[*TINY, "seed=99", "backend.supersample=1"],
                       compute=SYNC2, progress=False, overwrite=True)
    assert not any(r.cached for r in ablate(cfg, tmp_path / "a", compute="sync", progress=False).runs)


def test_verdicts_scale_only_fractions_to_percent_points():
    """A custom task's metric (tasks.md's neg_abs_error) was shown ×100 in the verdict lines."""
    from synthdata.tasks import TASKS, Task

    assert TASKS.get("segment").display_scale == TASKS.get("detect").display_scale == 100.0
    assert Task.display_scale == 1.0
