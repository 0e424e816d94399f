"""``compute.shard_size: auto`` (the default): small runs get a shard per clip, so every core gets work;
large runs get 8-clip shards; a resumed dataset keeps the shard size it was planned with."""

from __future__ import annotations

import json
import os
import shutil

import pytest

import synthdata
from synthdata.errors import UserError
from synthdata.io.layout import Layout
from synthdata.io.manifest import Manifest
from synthdata.run.compute import load_compute
from synthdata.run.plan import AUTO_MIN_SHARDS, MAX_AUTO_SHARD_SIZE, auto_shard_size, make_plan

from ..conftest import TINY, run_cli, tiny_spec


def test_auto_depends_on_the_clip_count_alone():
    sizes = {n: auto_shard_size(n) for n in (1, 4, AUTO_MIN_SHARDS, 2 * AUTO_MIN_SHARDS - 1, 2 * AUTO_MIN_SHARDS, 10_000)}
    assert sizes[1] == sizes[4] == sizes[AUTO_MIN_SHARDS] == sizes[2 * AUTO_MIN_SHARDS - 1] == 1  # every core busy
    assert sizes[2 * AUTO_MIN_SHARDS] == 2 and sizes[10_000] == MAX_AUTO_SHARD_SIZE
    for n in range(1, 400):  # never fewer shards than AUTO_MIN_SHARDS (or clips), never over the cap
        size = auto_shard_size(n)
        assert 1 <= size <= MAX_AUTO_SHARD_SIZE and -(-n // size) >= min(n, AUTO_MIN_SHARDS)
    assert load_compute("local").shard_size == load_compute("sync").shard_size == "auto"
    plan = make_plan(tiny_spec(), 4, "unused", "auto")
    assert (plan.shard_size, plan.shards) == (1, 4)
    assert make_plan(tiny_spec(), 4, "unused", 8).shards == 1
    assert auto_shard_size(4, clips_per_batch=3) == 3 and auto_shard_size(10_000, clips_per_batch=16) == 16


def test_auto_keeps_a_batching_backends_batch_in_one_shard(tiny_checkpoint):
    """The diffusion backend samples ``clip_batch`` clips together, within a shard."""
    spec = tiny_spec("shapes", "backend=diffusion", f"backend.checkpoint={tiny_checkpoint}", "backend.clip_batch=3")
    plan = make_plan(spec, 4, "unused", "auto")
    assert (plan.shard_size, plan.shards) == (3, 2)


def test_readme_job_plans_one_shard_per_clip(tmp_path):
    """The README's first command (4 clips, defaults) used to be one 8-clip shard: one busy worker."""
    r = run_cli("generate", "recipe=shapes", "clips=4", f"out={tmp_path / 'd'}", "device=cpu", "--dry-run")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert (plan["shard_size"], plan["shards"]) == (1, 4) and plan["compute"]["shard_size"] == "auto"


@pytest.mark.slow
def test_small_run_uses_every_worker(tmp_path):
    """A real embedded cluster: 4 clips on as many workers as there are cores (up to 4)."""
    out = tmp_path / "d"
    r = run_cli("generate", "recipe=shapes", "clips=4", f"out={out}", *TINY, "progress=false")
    assert r.returncode == 0, r.stderr
    m = Manifest.read(Layout(out))
    assert m.complete and m.shard_size == 1 and len(m.shards) == 4
    assert m.stats["workers_last_run"] == min(4, os.cpu_count() or 1)


def _hashes(out) -> dict[str, str]:
    return {rel: h for s in Manifest.read(Layout(out)).shards for rel, h in s.files.items()}


def test_resume_keeps_the_datasets_shard_size(tmp_path):
    """A dataset planned with another shard size (the old default 8, or 2 here) resumes under ``auto``."""
    out = tmp_path / "d"
    whole = synthdata.generate("shapes", clips=3, out=out, overrides=TINY, progress=False,
                               compute={"name": "sync", "shard_size": 2})
    full = _hashes(out)
    m = Manifest.read(Layout(out))
    m.shards = [s for s in m.shards if s.index == 0]  # a killed run: shard 1 never committed
    m.complete = False
    m.write(Layout(out))
    again = synthdata.generate("shapes", clips=3, out=out, overrides=TINY, progress=False, compute={"name": "sync"})
    assert again.stats["clips_made_last_run"] == 1 and again.shard_size == whole.shard_size == 2
    assert again.complete and _hashes(out) == full


@pytest.mark.slow
def test_cli_resume_starts_workers_for_the_datasets_shards(tmp_path):
    """The CLI starts its cluster before the recipe loads: it sizes it by the dataset it resumes."""
    out = tmp_path / "d"
    synthdata.generate("shapes", clips=3, out=out, overrides=TINY, progress=False,
                       compute={"name": "sync", "shard_size": 3})
    m = Manifest.read(Layout(out))
    m.shards, m.complete = [], False
    m.write(Layout(out))
    r = run_cli("generate", "recipe=shapes", "clips=3", f"out={out}", *TINY, "progress=false")
    assert r.returncode == 0, r.stderr
    m = Manifest.read(Layout(out))
    assert m.complete and m.shard_size == 3 and m.stats["workers_last_run"] == 1


def test_explicit_other_shard_size_is_refused_naming_it(tmp_path):
    out = tmp_path / "d"
    synthdata.generate("shapes", clips=3, out=out, overrides=TINY, progress=False,
                       compute={"name": "sync", "shard_size": 2})
    before = _hashes(out)
    with pytest.raises(UserError, match="planned with shard size 2, not 3; leave compute.shard_size at auto") as info:
        synthdata.generate("shapes", clips=3, out=out, overrides=TINY, progress=False,
                           compute={"name": "sync", "shard_size": 3})
    assert info.value.field == "out" and _hashes(out) == before
    dry = run_cli("generate", "recipe=shapes", "clips=3", f"out={out}", *TINY, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert (plan["shard_size"], plan["shards"], plan["resume_from_shards"]) == (2, 2, 2)


@pytest.mark.parametrize("value", ["0", "many", "10001", "true"])
def test_bad_shard_size_names_the_field(value, tmp_path):
    r = run_cli("generate", "recipe=shapes", "clips=2", f"out={tmp_path / 'd'}", *TINY, f"compute.shard_size={value}")
    assert r.returncode == 2 and "compute.shard_size" in r.stderr and "auto" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "d").exists()
