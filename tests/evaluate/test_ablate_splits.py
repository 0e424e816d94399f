"""Ablations over a dataset's splits: train on one split, score on another (the clips table's ``split``
column). Before, an ablation used every dataset whole and an evaluation split needed its own folder."""

from __future__ import annotations

from pathlib import Path

import pytest

import synthdata
from synthdata.evaluate.ablate import ablate, load_ablation
from synthdata.evaluate.ablate.runs import RunJob, job_hash

from ..conftest import SYNC2, TINY
from .test_ablate_inputs import _config, _refused, sets  # noqa: F401 - the fixture

HALVES = ["output.split.train=0.5", "output.split.val=0", "output.split.test=0.5"]


@pytest.fixture(scope="module")
def split_set(tmp_path_factory) -> Path:
    """Four shapes clips: seed 1 puts clip 2 in train, clips 0, 1 and 3 in test."""
    out = tmp_path_factory.mktemp("ablate-splits") / "d"
    synthdata.generate("shapes", clips=4, out=out, overrides=[*TINY, "seed=1", *HALVES], compute=SYNC2, progress=False)
    return out


def _split_config(path: Path, **changes) -> dict:
    cfg = {"name": "s", "task": {"name": "segment", "size": "tiny"},
           "datasets": {"real": {"path": str(path), "split": "train"}}, "eval": {"dataset": "real", "split": "test"},
           "arms": [{"name": "base", "data": {"real": 1.0}}, {"name": "other", "data": {"real": 1.0}}],
           "budget": {"steps": 2, "batch": 2}, "seeds": 2, "allow_few_seeds": True}
    cfg.update(changes)
    return cfg


def test_one_dataset_trains_on_its_train_split_and_scores_on_its_test_split(split_set, tmp_path):
    ds = synthdata.open_dataset(split_set)
    split = dict(zip(ds.clip_ids, ds.clips.column("split").to_pylist()))
    test_ids = [c for c, s in split.items() if s == "test"]
    assert test_ids and len(test_ids) < len(split)  # the fixture has both splits

    res = ablate(_split_config(split_set), tmp_path / "o", compute="sync", progress=False)
    assert all(r.clip_ids == test_ids for r in res.runs)  # scored on the test split's clips only
    assert all(len(r.per_clip) == len(test_ids) for r in res.runs)
    report = res.report.read_text()
    assert f"the {len(test_ids)} clips of split `test`" in report and "`real` the 1 clips of split `train`" in report

    # another split is another run: not served from the cache of the first
    other = _split_config(split_set, eval={"path": str(split_set), "split": "train"},
                          datasets={"real": {"path": str(split_set), "split": "test"}})
    assert job_hash(RunJob(load_ablation(other), "base", 0, "x")) != res.runs[0].job_hash


def test_a_plain_config_keeps_its_cache_key(sets):  # noqa: F811
    """Configs without splits hash as before (their finished runs stay cached): the key's inputs are
    the same strings."""
    spec = load_ablation(_config(sets))
    assert spec.datasets["real"].key == str(sets["real"]) and spec.eval_ref.key == str(sets["eval"])
    assert spec.eval_name == f"eval:{sets['eval']}"


def test_the_whole_dataset_against_one_of_its_splits_is_refused(split_set, tmp_path):
    line = _refused(tmp_path, _split_config(split_set, datasets={"real": str(split_set)}))
    assert line.startswith("eval: the evaluation set shares 3 clip(s) with training set 'real'"), line
    line = _refused(tmp_path, _split_config(split_set, eval={"dataset": "real", "split": "train"}))
    assert line == "eval: the evaluation set is the training set 'real'", line
    line = _refused(tmp_path, _split_config(split_set, eval="real", datasets={"real": str(split_set)}))
    assert line.startswith("eval: the evaluation set is the training set 'real'; evaluate on another split"), line


def _preflight_line(cfg: dict) -> str:
    from synthdata.errors import UserError
    from synthdata.evaluate.ablate.harness import preflight

    with pytest.raises(UserError) as info:
        preflight(cfg)
    return f"{info.value.field}: {info.value.message}"


def test_bad_split_references_name_their_field(split_set, tmp_path):
    line = _refused(tmp_path, _split_config(split_set, eval={"dataset": "real", "split": "val"}))  # the CLI: exit 2
    assert line == "eval.split: expected one of this dataset's splits (test, train), got 'val'", line
    line = _preflight_line(_split_config(split_set, eval={"dataset": "real", "split": "holdout"}))
    assert line.startswith("eval.split: ") and "'train', 'val' or 'test'" in line, line
    line = _preflight_line(_split_config(split_set, eval={"dataset": "reel", "split": "test"}))
    assert line.startswith("eval.dataset: 'reel' is not in datasets; expected one of real"), line
    line = _preflight_line(_split_config(split_set, eval={"split": "test"}))
    assert line.startswith("eval: expected exactly one of dataset"), line
    line = _preflight_line(_split_config(split_set, datasets={"real": {"path": str(split_set), "split": "val"}}))
    assert line.startswith("datasets.real.split: expected one of this dataset's splits"), line


def test_eval_naming_a_split_dataset_takes_its_split(split_set, tmp_path):
    """Found by a review: ``eval: real_test`` (a dataset declared ``{path, split: test}``) scored the whole
    folder, train clips included, and a train/test pair of one folder was refused as overlapping."""
    cfg = _split_config(split_set, datasets={"real_train": {"path": str(split_set), "split": "train"},
                                             "real_test": {"path": str(split_set), "split": "test"}},
                        eval="real_test", arms=[{"name": "base", "data": {"real_train": 1.0}},
                                                {"name": "other", "data": {"real_train": 1.0}}])
    spec = load_ablation(cfg)
    assert spec.eval_ref.split == "test" and spec.eval_name == "real_test"
    res = ablate(cfg, tmp_path / "o", compute="sync", progress=False)
    ds = synthdata.open_dataset(split_set)
    test_ids = [c for c, s in zip(ds.clip_ids, ds.clips.column("split").to_pylist()) if s == "test"]
    assert all(r.clip_ids == test_ids for r in res.runs)
    # eval's own split picks another split of the named dataset's folder: here the training clips
    line = _preflight_line({**cfg, "eval": {"dataset": "real_test", "split": "train"}})
    assert line.startswith("eval: the evaluation set shares 1 clip(s) with training set 'real_train'"), line
