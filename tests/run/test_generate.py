"""generate(): determinism, resume, refusals — on real files, no mocks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import synthdata
from synthdata.errors import UserError
from synthdata.io.layout import Layout
from synthdata.io.manifest import Manifest

from ..conftest import SYNC2, TINY


def _hashes(out: Path) -> dict[str, str]:
    m = json.loads((out / "dataset.json").read_text())
    return {rel: h for s in m["shards"] for rel, h in s["files"].items()}


def _gen(out: Path, *extra: str, **kw):
    return synthdata.generate("shapes", clips=3, out=out, overrides=[*TINY, *extra], compute=SYNC2,
                              progress=False, **kw)


def test_same_recipe_and_seed_give_the_same_bytes(tmp_path, tiny_dataset):
    _gen(tmp_path / "again")
    assert _hashes(tmp_path / "again") == _hashes(tiny_dataset)
    _gen(tmp_path / "other", "seed=1")
    other = _hashes(tmp_path / "other")
    assert other.keys() == _hashes(tiny_dataset).keys() and other != _hashes(tiny_dataset)


def test_shard_bytes_do_not_depend_on_shard_size(tmp_path):
    """A clip depends only on (recipe, seed, index): regrouping clips into shards changes no video."""
    a = synthdata.generate("shapes", clips=3, out=tmp_path / "a", overrides=TINY, progress=False,
                           compute={"name": "sync", "shard_size": 1})
    b = synthdata.generate("shapes", clips=3, out=tmp_path / "b", overrides=TINY, progress=False,
                           compute={"name": "sync", "shard_size": 3})
    media = lambda m: {k: v for s in m.shards for k, v in s.files.items() if k.startswith("media/")}  # noqa: E731
    assert media(a) == media(b) and len(media(a)) == 3


def test_rerun_resumes_only_missing_shards(tmp_path, tiny_dataset):
    out = tmp_path / "resume"
    shutil.copytree(tiny_dataset, out)
    layout = Layout(out)
    m = Manifest.read(layout)
    # simulate a killed run: shard 1 never committed, its files half there, a torn staging dir
    m.shards = [s for s in m.shards if s.index == 0]
    m.complete = False
    m.write(layout)
    (out / "objects" / "part-00001.parquet").unlink()
    (out / "frames" / "part-00001.parquet").write_bytes(b"torn")
    (out / ".staging" / "shard-00001" / "media").mkdir(parents=True)
    before = (out / "clips" / "part-00000.parquet").stat().st_mtime_ns
    m2 = _gen(out)
    assert m2.stats["clips_made_last_run"] == 1  # only the missing shard's clip was made
    assert (out / "clips" / "part-00000.parquet").stat().st_mtime_ns == before  # kept, not rewritten
    assert _hashes(out) == _hashes(tiny_dataset) and not (out / ".staging").exists()
    assert _gen(out).stats["clips_made_last_run"] == 0  # a third run has nothing to do


def test_different_run_on_a_used_out_is_refused_and_nothing_changes(tmp_path, tiny_dataset):
    out = tmp_path / "used"
    shutil.copytree(tiny_dataset, out)
    before = _hashes(out)
    with pytest.raises(UserError, match="holds a different run") as info:
        _gen(out, "seed=9")
    assert info.value.field == "out" and _hashes(out) == before
    differs = str(info.value).split("holds a different run: ")[1]  # it says what differs, only that
    assert differs.startswith("seed ") and "(this run: 9)" in differs and "clips" not in differs, differs
    _gen(out, "seed=9", overwrite=True)
    assert _hashes(out) != before and Manifest.read(Layout(out)).seed == 9


def test_foreign_directory_is_never_touched(tmp_path):
    out = tmp_path / "home"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(UserError, match="not a synthdata dataset"):
            _gen(out, overwrite=overwrite)
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]


def test_out_under_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        _gen(tmp_path / "file" / "sub")


def test_bad_clip_count_is_refused_before_writing(tmp_path):
    for clips in (0, -1, 10**9):
        with pytest.raises(UserError, match="clips"):
            synthdata.generate("shapes", clips=clips, out=tmp_path / "x", overrides=TINY, progress=False, compute="sync")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("recipe, cls, size", [("shapes", "cube", (64, 48)), ("highway", "car", (64, 48)),
                                               # polyps are millimetres: a few pixels need a bigger picture
                                               ("colonoscopy", "polyp", (128, 128)), ("polyp_detection", "polyp", (128, 128)),
                                               ("surgery_tools", ("forceps", "snare", "injection_needle"), (64, 64))])
def test_shipped_recipes_make_plausible_labelled_clips(tmp_path, recipe, cls, size):
    out = tmp_path / recipe
    synthdata.generate(recipe, clips=2, out=out, overrides=["clip.frames=4", f"clip.width={size[0]}", f"clip.height={size[1]}",
                                                             "device=cpu"], progress=False, compute="sync")
    ds = synthdata.open_dataset(out)
    classes = (cls,) if isinstance(cls, str) else cls  # surgery_tools: whichever instrument the channel holds
    seen = [o for o in ds.objects.to_pylist() if o["class_name"] in classes and o["visible_pixels"] > 4]
    assert seen  # the class is really seen
    video = ds.clip(0).video().astype(float)
    assert video.std() > 8 and 20 < video.mean() < 235  # a picture, neither blank nor blown out
    assert (out / "preview.png").stat().st_size > 1000


def test_background_encoding_gives_the_same_bytes(tmp_path, tiny_dataset):
    """compute.overlap (encode in a thread while the next clip renders; on by default for CUDA)."""
    _gen_overlap = synthdata.generate("shapes", clips=3, out=tmp_path / "o", overrides=TINY, progress=False,
                                      compute={"name": "sync", "shard_size": 2, "overlap": True})
    assert _gen_overlap.complete and _hashes(tmp_path / "o") == _hashes(tiny_dataset)


def test_one_dask_worker_gives_the_same_bytes_as_in_process(tmp_path, tiny_dataset):
    synthdata.generate("shapes", clips=3, out=tmp_path / "d", overrides=TINY, progress=False,
                       compute={"workers": 1, "shard_size": 2})
    assert _hashes(tmp_path / "d") == _hashes(tiny_dataset)
