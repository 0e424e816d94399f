"""Runs that cannot fit are refused before anything is written; Ctrl-C is a clean exit 130 that resumes;
exports into `.` work. Real processes, real signals, this machine's real memory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import synthdata
from synthdata.errors import UserError
from synthdata.run.compute import load_compute
from synthdata.run.memory import check_resources, estimate_run

from ..conftest import TINY, default_sigint, run_cli


def test_a_clip_too_big_for_this_machine_is_refused_before_writing(tmp_path):
    """2048×2048×64 with point tracks (they need the whole clip in memory) is inside the recipe LIMITS
    but needs far more memory than this machine has; without them it is made in windows of frames."""
    out = tmp_path / "big"
    big = ["recipe=shapes", "clip.frames=64", "clip.width=2048", "clip.height=2048", "device=cpu", f"out={out}",
           "annotations.tracks.enabled=true"]
    for extra in (["--dry-run"], ["clips=1"]):
        r = run_cli("generate", *big, *extra)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.startswith("error: clip: 64 frames of 2048×2048 need about") and "available" in r.stderr
        assert not out.exists()
    r = run_cli("generate", *big, "--dry-run", "compute.force=true")
    assert r.returncode == 0 and json.loads(r.stdout)["memory"]["per_worker_bytes"] > 2**34
    r = run_cli("generate", *big[:-1], "--dry-run")  # in windows: a window's memory
    assert r.returncode == 0 and json.loads(r.stdout)["memory"]["per_worker_bytes"] < 2**33, r.stderr
    assert json.loads(r.stdout)["memory"]["window_frames"] == 2  # 2²³ pixels: two 2048² frames


def test_estimate_is_checked_against_the_memory_given(tmp_path):
    spec = synthdata.load_recipe("shapes", TINY)
    compute = load_compute("local", ["compute.workers=1"])
    est = estimate_run(spec, compute)
    assert est.available and est.per_worker > 400 * 2**20
    with pytest.raises(UserError, match="need about") as info:
        check_resources(spec, compute, available=est.total - 1)
    assert info.value.field == "clip"
    check_resources(spec, compute, available=est.total)


def test_more_workers_than_cores_needs_force(tmp_path):
    many = os.cpu_count() * 8
    r = run_cli("generate", "recipe=shapes", f"compute.workers={many}", f"out={tmp_path / 'x'}", "--dry-run", *TINY)
    assert r.returncode == 2 and r.stderr.startswith("error: compute.workers: ") and "force" in r.stderr
    r = run_cli("generate", "recipe=shapes", f"compute.workers={many}", "compute.force=true",
                f"out={tmp_path / 'x'}", "--dry-run", *TINY)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("value", ["lots", "0", "-1GB", "2"])
def test_bad_memory_limit_is_caught_by_dry_run(tmp_path, value):
    r = run_cli("generate", "recipe=shapes", f"compute.memory_limit={value}", f"out={tmp_path / 'x'}", "--dry-run", *TINY)
    assert r.returncode == 2 and r.stderr.startswith("error: compute.memory_limit: expected 'auto'")
    assert not (tmp_path / "x").exists()


def test_a_memory_limit_below_one_clip_is_refused(tmp_path):
    r = run_cli("generate", "recipe=shapes", "compute.memory_limit=64MiB", f"out={tmp_path / 'x'}", "--dry-run", *TINY)
    assert r.returncode == 2 and "above the limit" in r.stderr


@pytest.mark.slow
def test_ctrl_c_exits_130_in_one_line_and_the_rerun_resumes(tmp_path):
    out = tmp_path / "ds"
    args = [sys.executable, "-m", "synthdata", "generate", "recipe=shapes", "clips=12", f"out={out}",
            "compute.workers=2", "compute.shard_size=1", "progress=false", "clip.frames=8", "clip.width=64",
            "clip.height=64", "device=cpu"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=default_sigint,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    end = time.time() + 180
    while time.time() < end:
        try:
            m = json.loads((out / "dataset.json").read_text())
            if len(m["shards"]) >= 2:
                break
        except (OSError, ValueError):
            pass
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends: the whole foreground group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    # the run's own progress log lines ("synthdata: generating …", -q silences them) aside, one line
    lines = [ln for ln in err.strip().splitlines() if ln.strip() and not ln.startswith("synthdata: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("interrupted; ") and "Re-run the same command to resume" in lines[0]
    assert not (out / ".synthdata.lock").exists()
    again = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    m = json.loads((out / "dataset.json").read_text())
    made = m["stats"]["clips_made_last_run"]
    assert m["complete"] and 0 < made < 12
    # the summary says what this run made, not only the dataset's total
    assert again.stdout.startswith(f"wrote 12 clips") and f"{made} made now, {12 - made} were there" in again.stdout
    assert run_cli("verify", str(out)).returncode == 0


def test_export_into_dot(tiny_dataset, tmp_path):
    here = tmp_path / "here"
    here.mkdir()
    r = run_cli("export", str(tiny_dataset), "--format", "mot", "--out", ".", cwd=here)
    assert r.returncode == 0, r.stderr
    assert (here / "classes.txt").is_file() and (here / "shapes-000000" / "gt" / "gt.txt").is_file()
    assert not list(tmp_path.glob(".*partial*")) and not list(here.glob(".synthdata-export-*"))
    r = run_cli("export", str(tiny_dataset), "--format", "mot", "--out", ".", cwd=here)  # now not empty
    assert r.returncode == 2 and "not an empty directory" in r.stderr


def test_a_failed_export_leaves_nothing(tiny_dataset, tmp_path):
    """The staging folder is the export's own: a failure half-way removes it, and a user's folder named
    like an old staging folder is never touched."""
    mine = tmp_path / ".exp.partial"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    from synthdata.integrations.files import staged_output

    with pytest.raises(RuntimeError):
        with staged_output(tmp_path / "exp") as tmp:
            (tmp / "half.txt").write_text("x")
            raise RuntimeError("disk full")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".exp.partial"] and (mine / "keep.txt").exists()


def test_compute_settings_never_read_the_environment(tmp_path):
    env = {**os.environ, "SYNTHDATA_SECRET": "hunter2"}
    for value in ("${oc.env:SYNTHDATA_SECRET}", "tcp://${oc.env:SYNTHDATA_SECRET}:8786"):
        r = subprocess.run([sys.executable, "-m", "synthdata", "generate", "recipe=shapes", f"compute.address={value}",
                            f"out={tmp_path / 'x'}", "--dry-run", *TINY], capture_output=True, text=True, env=env)
        assert r.returncode == 2 and "hunter2" not in r.stderr + r.stdout
        assert r.stderr.startswith("error: compute.address: interpolations")
