"""Bad ablation input: one line naming the field, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import synthdata
from synthdata.errors import UserError
from synthdata.evaluate.ablate import load_ablation

from ..conftest import SYNC2, TINY, run_cli


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ablate-inputs")
    out = {}
    for name, recipe, seed in (("real", "shapes", 1), ("eval", "shapes", 2), ("endo", "colonoscopy", 1)):
        out[name] = root / name
        synthdata.generate(recipe, clips=2, out=out[name], overrides=[*TINY, f"seed={seed}"], compute=SYNC2,
                           progress=False)
    return out


def _config(sets, **changes) -> dict:
    cfg = {"name": "t", "task": {"name": "segment", "size": "tiny"},
           "datasets": {"real": str(sets["real"])}, "eval": str(sets["eval"]),
           "arms": [{"name": "base", "data": {"real": 1.0}}, {"name": "other", "data": {"real": 1.0}}],
           "budget": {"steps": 2, "batch": 2}, "seeds": 3}
    cfg.update(changes)
    return cfg


def _refused(tmp_path: Path, cfg: dict, *args: str) -> str:
    path = tmp_path / "ablation.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    r = run_cli("ablate", str(path), f"out={out}", "compute=sync", *args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert not out.exists()  # nothing written
    return lines[0].removeprefix("error: ")


def test_unequal_budgets_are_refused_unless_asked(sets, tmp_path):
    arms = [{"name": "base", "data": {"real": 1.0}},
            {"name": "long", "data": {"real": 1.0}, "budget": {"steps": 4, "batch": 2}}]
    line = _refused(tmp_path, _config(sets, arms=arms))
    assert line.startswith("arms.budget: arms must get the same compute") and "base: 2×2, long: 4×2" in line
    assert load_ablation(_config(sets, arms=arms, allow_unequal_budget=True)).allow_unequal_budget


def test_unknown_task_and_augmentation_suggest_the_name(sets, tmp_path):
    assert _refused(tmp_path, _config(sets, task={"name": "segmnt"})).startswith(
        "task.name: unknown task 'segmnt' (did you mean 'segment'?)")
    arms = [{"name": "base", "data": {"real": 1.0}}, {"name": "aug", "data": {"real": 1.0}, "augment": "lihgt"}]
    line = _refused(tmp_path, _config(sets, arms=arms))
    assert line.startswith("arms.1.augment: ") and "'light'" in line


def test_classes_that_disagree_are_listed(sets, tmp_path):
    cfg = _config(sets, datasets={"real": str(sets["real"]), "endo": str(sets["endo"])},
                  arms=[{"name": "base", "data": {"real": 1.0}}, {"name": "mix", "data": {"real": 1, "endo": 1}}])
    line = _refused(tmp_path, cfg)
    assert line.startswith("datasets: classes disagree") and "real has [" in line and "endo has [" in line


def test_an_evaluation_set_that_overlaps_training_is_refused(sets, tmp_path, tmp_path_factory):
    line = _refused(tmp_path, _config(sets, eval=str(sets["real"])))
    assert line.startswith("eval: the evaluation set shares 2 clip(s) with training set 'real'")
    copy = tmp_path_factory.mktemp("copy") / "real-copy"  # the same clips generated again elsewhere
    synthdata.generate("shapes", clips=1, out=copy, overrides=[*TINY, "seed=1"], compute=SYNC2, progress=False)
    assert _refused(tmp_path, _config(sets, eval=str(copy))).startswith("eval: the evaluation set shares 1 clip(s)")


def test_structure_problems_name_their_field(sets):
    def problem(**changes) -> str:
        with pytest.raises(UserError) as info:
            load_ablation(_config(sets, **changes))
        return str(info.value)

    assert problem(seeds=2).startswith("seeds: 2 seed(s) per arm cannot give an interval")
    assert problem(arms=[{"name": "a", "data": {"real": 1}}]).startswith("arms: List should have at least 2 items")
    assert problem(arms=[{"name": "a", "data": {"real": 1}}, {"name": "b", "data": {"syn": 1}}]).startswith(
        "arms.1.data: arm 'b' uses ['syn'], which are not in datasets (real)")
    assert problem(arms=[{"name": "a", "data": {"real": 0}}, {"name": "b", "data": {"real": 1}}]).startswith(
        "arms.0.data: ")
    assert problem(arms=[{"name": "../x", "data": {"real": 1}}, {"name": "b", "data": {"real": 1}}]).startswith(
        "arms.0.name: ")
    assert problem(baseline="nope").startswith("baseline: 'nope' is not an arm")
    assert problem(budget={"steps": 0}).startswith("budget.steps: ")
    # found by a review: a field named str… (strata) lost its name; a negative seed count said "0 seed(s)"
    assert problem(bootstrap={"resamples": 1000, "strata": "foo"}).startswith("bootstrap.strata: ")
    assert problem(seeds=-3).startswith("seeds: expected a count of seeds ≥ 1 or a list of seeds, got -3")


def test_a_swept_value_must_make_a_plain_folder_name(sets, tmp_path):
    """`-m key=a,b` over any key but `only` makes a folder per value under out (as generate -m does)."""
    assert _refused(tmp_path, _config(sets), "-m", "name=../up,b").startswith("-m: swept values make the folder name")


def test_out_holding_someone_elses_files_is_refused(sets, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(_config(sets)))
    r = run_cli("ablate", str(path), f"out={out}", "compute=sync")
    assert r.returncode == 2 and "holds no ablation.json" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
