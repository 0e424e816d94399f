"""Fault tolerance on real Dask clusters with real processes: kill -9 a worker, kill -9 the driver,
poison a clip, use an external scheduler. Every run is compared byte for byte with a clean in-process run."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import synthdata

RUN = ["recipe=shapes", "clip.frames=12", "clip.width=96", "clip.height=96", "device=cpu", "progress=false"]
CLIPS = 16


def _hashes(out: Path) -> dict[str, str]:
    m = json.loads((out / "dataset.json").read_text())
    return {rel: h for s in m["shards"] for rel, h in s["files"].items()}


def _manifest(out: Path) -> dict | None:
    try:
        return json.loads((out / "dataset.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _start(out: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "synthdata", "generate", *RUN, f"clips={CLIPS}", f"out={out}", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, **(env or {})})


def _wait_for_shards(proc: subprocess.Popen, out: Path, n: int, timeout: float = 120) -> dict:
    """Poll until the manifest lists at least n shards while the run is still going."""
    end = time.time() + timeout
    while time.time() < end:
        m = _manifest(out)
        if m and len(m["shards"]) >= n and not m["complete"]:
            return m
        assert proc.poll() is None, f"run ended before it could be interrupted: {proc.communicate()}"
        time.sleep(0.02)
    raise AssertionError("no progress")


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, str]:
    """A clean in-process run: what every interrupted run must end up equal to."""
    out = tmp_path_factory.mktemp("ref") / "ds"
    synthdata.generate("shapes", clips=CLIPS, out=out, overrides=[r for r in RUN if r.startswith(("clip", "device"))],
                       compute={"name": "sync", "shard_size": 1}, progress=False)
    return _hashes(out)


def _is_worker(p: psutil.Process) -> bool:
    """A Dask worker process: spawned by the driver, or forked by the fork server (run/forkserver.py)
    whose command line a forked process keeps, so: a child of the fork server."""
    cmd = " ".join(p.cmdline())
    if "spawn_main" in cmd:
        return "resource_tracker" not in cmd
    return "multiprocessing.forkserver" in cmd and "multiprocessing.forkserver" in " ".join(p.parent().cmdline())


def test_kill_9_a_worker_mid_run(tmp_path, reference):
    out = tmp_path / "ds"
    proc = _start(out, "compute.workers=2", "compute.shard_size=1")
    _wait_for_shards(proc, out, 2)
    workers = [p for p in psutil.Process(proc.pid).children(recursive=True) if _is_worker(p)]
    assert workers, "no worker processes found"
    workers[0].send_signal(signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    m = _manifest(out)
    assert m["complete"] and len(m["shards"]) == CLIPS
    assert _hashes(out) == reference  # all clips, no duplicates, byte-identical to a clean run


def test_kill_9_the_driver_then_rerun_redoes_only_missing_shards(tmp_path, reference):
    out = tmp_path / "ds"
    proc = _start(out, "compute.workers=2", "compute.shard_size=1")
    _wait_for_shards(proc, out, 3)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers
    proc.communicate()
    committed = len(_manifest(out)["shards"])
    assert 3 <= committed < CLIPS
    rerun = _start(out, "compute.workers=2", "compute.shard_size=1")
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    m = _manifest(out)
    assert m["complete"] and m["stats"]["clips_made_last_run"] == CLIPS - committed
    assert _hashes(out) == reference and not (out / ".staging").exists()


def test_poisoned_clip_is_named_other_shards_kept_exit_nonzero(tmp_path, reference):
    out = tmp_path / "ds"
    proc = _start(out, "compute.workers=2", "compute.shard_size=2", "compute.retries=1",
                  env={"SYNTHDATA_POISON_CLIPS": "5"})
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1
    assert "error: shard 2: clip shapes-000005 (index 5, seed" in stderr and "poisoned" in stderr
    assert "Re-run the same command" in stderr
    m = _manifest(out)
    assert not m["complete"] and sorted(s["index"] for s in m["shards"]) == [0, 1, 3, 4, 5, 6, 7]
    assert not (out / "media" / "shapes-000005.mp4").exists() and not (out / "media" / "shapes-000004.mp4").exists()
    # shard size 2 changes nothing about the bytes of each clip's video
    kept = _hashes(out)
    assert all(reference[k] == v for k, v in kept.items() if k.startswith("media/"))
    fixed = _start(out, "compute.workers=2", "compute.shard_size=2")
    fixed.communicate(timeout=300)
    assert fixed.returncode == 0 and _manifest(out)["stats"]["clips_made_last_run"] == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_existing_cluster_by_address(tmp_path, reference):
    """`compute.address` drives a cluster started with the `dask scheduler` / `dask worker` commands."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    sched = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                              "--port", str(port), "--dashboard-address", ":0"], stderr=subprocess.DEVNULL,
                             start_new_session=True)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "2",
                               "--nthreads", "1", "--no-dashboard"], stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
        out = tmp_path / "ds"
        proc = _start(out, f"compute.address={address}", "compute.shard_size=1")
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        m = _manifest(out)
        assert m["stats"]["executor"] == "remote" and m["stats"]["workers_last_run"] == 2
        assert _hashes(out) == reference
    finally:
        for p in (worker, sched):
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
