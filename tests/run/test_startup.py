"""Start-up discipline of ``synthdata generate`` (issue 15): a Dask driver never imports torch, an
embedded cluster gets no more workers than the run has shards, bad input still exits 2 with one line
and leaves no worker behind. Nothing here is timed (benchmarks/cli_startup.py measures the seconds)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import psutil
import pytest

from synthdata.errors import UserError
from synthdata.render import device as device_mod
from synthdata.render.device import cuda_possible, device_name
from synthdata.run.compute import ComputeSpec
from synthdata.run.executors import DaskExecutor, SyncExecutor, make_executor

from ..conftest import REPO, TINY, run_cli

_DRIVER = textwrap.dedent("""
    import json, sys
    from synthdata.cli import main

    if __name__ == "__main__":  # the workers a local cluster spawns re-import this file
        rc = main(sys.argv[1:])
        print(json.dumps({"rc": rc, "modules": sorted(m for m in ("torch", "kornia", "distributed", "fiftyone",
                                                                    "diffusers") if m in sys.modules)}))
""")


def test_a_dask_driver_never_imports_torch(tmp_path):
    """The driver of a ``compute=local`` run (the CLI default) only submits shards and writes the
    manifest: importing torch there cost more than a second of every run. A module on its path that
    imports torch at the top breaks this: import it inside the function, or `from synthdata.lazy
    import torch`."""
    script = tmp_path / "driver.py"
    script.write_text(_DRIVER)
    out = tmp_path / "ds"
    r = subprocess.run([sys.executable, str(script), "generate", "recipe=shapes", "clips=2", "compute.shard_size=1",
                        f"out={out}", *TINY], capture_output=True, text=True, cwd=REPO, timeout=600,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["rc"] == 0
    assert "distributed" in report["modules"], "the run did not use the embedded Dask cluster"
    assert "torch" not in report["modules"] and "kornia" not in report["modules"], report
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["complete"] and manifest["device"] == "cpu" and len(manifest["shards"]) == 2
    assert manifest["stats"]["workers_last_run"] == 2  # two shards: both cores' workers
    assert run_cli("verify", str(out)).returncode == 0


@pytest.mark.parametrize("override", ["objects.0.primitive=nope", "clips=0"])
def test_bad_input_with_a_cluster_starting_exits_2_and_leaves_no_worker(tmp_path, override):
    """The CLI starts its cluster while the recipe loads; a bad recipe or run argument still gives one
    line and exit 2, nothing written, and the workers that were starting are gone."""
    out = tmp_path / "never"
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    servers = _fork_servers()
    r = run_cli("generate", "recipe=shapes", f"out={out}", *TINY, override)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and override.split("=")[0] in lines[0], r.stderr
    assert not out.exists()
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before
    assert _fork_servers() <= servers  # the warm worker server the CLI started is gone too


def test_bad_input_is_reported_before_the_starting_cluster_is_closed(tmp_path):
    """The refusal is the news: its line comes out as soon as the recipe is checked, not after the
    cluster that was starting meanwhile has come up and been closed (a second or two more)."""
    r = run_cli("-vv", "generate", "recipe=shapes", f"out={tmp_path / 'never'}", *TINY, "clip.widht=3")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()
    error = [i for i, ln in enumerate(lines) if ln.startswith("error: clip.widht")]
    closing = [i for i, ln in enumerate(lines) if "closing the embedded Dask cluster" in ln]
    assert len(error) == 1 and closing, r.stderr  # the cluster was started, and closed after
    assert error[0] < closing[0], r.stderr


def _fork_servers() -> set[int]:
    """Live multiprocessing fork servers on this machine (an orphaned one is no longer our child)."""
    out = set()
    for p in psutil.process_iter(["cmdline", "status"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "multiprocessing.forkserver" in cmd and p.info["status"] != psutil.STATUS_ZOMBIE:
            out.add(p.pid)
    return out


def _ignores_sigint(pid: int) -> bool:
    """Whether process ``pid`` ignores SIGINT (its ``SigIgn`` mask in /proc)."""
    mask = next(ln for ln in open(f"/proc/{pid}/status") if ln.startswith("SigIgn:")).split()[1]
    return bool(int(mask, 16) & (1 << (signal.SIGINT - 1)))


def _worker_facts():
    import os
    import sys

    return os.getppid(), "torch" in sys.modules, hash("synthdata")


def _worker_refaults():
    from .test_allocator import refaults

    return refaults(256)


@pytest.mark.skipif(sys.platform != "linux", reason="the fork server is used on Linux only")
def test_embedded_cpu_workers_are_forked_warm_with_dasks_hash_seed():
    """CPU workers of a shard run come from a fork server that imported the shard stack (not spawned
    from the driver); they share Dask's fixed hash seed (a random one would make anything hashed in
    a worker differ run to run), and the server ends with the executor."""
    seeded = subprocess.run([sys.executable, "-c", "print(hash('synthdata'))"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONHASHSEED": "6640"}, check=True).stdout.strip()
    executor = make_executor(ComputeSpec(workers=2, force=True), tasks=2)
    assert executor.forked
    with executor:
        server = psutil.Process(executor.client.submit(_worker_facts, pure=False).result()[0])
        facts = executor.client.run(_worker_facts)  # every worker
        assert "multiprocessing.forkserver" in " ".join(server.cmdline())
        assert _ignores_sigint(server.pid)  # Ctrl-C while it imports the stack: no traceback from it
        assert server.pid != os.getpid() and len(facts) == 2
        for ppid, has_torch, h in facts.values():
            assert ppid == server.pid and has_torch and str(h) == seeded
        # malloc keeps freed memory in every worker (synthdata/run/allocator.py): its renders do not fault
        # their pages in again (~40 000 with glibc's defaults, measured)
        assert all(n < 8000 for n in executor.client.run(_worker_refaults).values())
    assert not server.is_running() or server.status() == psutil.STATUS_ZOMBIE


@pytest.mark.skipif(sys.platform != "linux", reason="the fork server is used on Linux only")
def test_the_fork_server_ignores_ctrl_c_while_it_imports():
    """Ctrl-C reaches the whole process group: the fork server ignores it from its first instruction
    (it is importing the stack for seconds; a KeyboardInterrupt traceback from it used to follow the
    driver's "interrupted" line), and so do the workers forked from it."""
    from multiprocessing import forkserver as mp_forkserver

    from synthdata.run import forkserver

    forkserver.stop()
    assert forkserver.start()
    try:
        pid = mp_forkserver._forkserver._forkserver_pid
        assert pid is not None and _ignores_sigint(pid)  # still importing: Python's own handler never came
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the driver's own is untouched
    finally:
        forkserver.stop()


def test_embedded_workers_are_capped_at_the_number_of_shards():
    auto = ComputeSpec()  # workers=auto: one per core
    assert make_executor(auto, tasks=1).workers == 1
    assert make_executor(auto, tasks=10_000).workers == auto.num_workers()
    assert make_executor(auto).workers == auto.num_workers()
    assert make_executor(ComputeSpec(workers=2, force=True), tasks=1).workers == 2  # asked for: kept
    assert isinstance(make_executor(ComputeSpec(name="sync"), tasks=1), SyncExecutor)
    assert isinstance(make_executor(auto, tasks=1), DaskExecutor)


def test_device_is_decided_without_torch_only_when_no_gpu_can_exist(monkeypatch, tmp_path):
    monkeypatch.setattr(device_mod, "_GPU_NODES", ())
    monkeypatch.setattr(device_mod.glob, "glob", lambda pattern: [])
    assert not cuda_possible()
    assert device_name("auto") == "cpu" and device_name("cpu") == "cpu"
    with pytest.raises(UserError) as e:
        device_name("cuda:0")
    assert e.value.field == "device"
    # a device node present: torch decides, as resolve_device does
    node = tmp_path / "nvidia0"
    node.touch()
    monkeypatch.setattr(device_mod, "_GPU_NODES", (str(node),))
    assert cuda_possible()
    from synthdata.render.backend import resolve_device

    assert device_name("auto") == str(resolve_device("auto"))


def test_a_cluster_start_that_never_ends_does_not_keep_the_driver_alive():
    """Ctrl-C in the middle of an import can leave that module's import lock held for good (CPython), and
    the thread starting the cluster then waits on it forever (seen: ``synthdata generate`` hung after
    "interrupted" until killed). Closing the executor waits for such a start a bounded time, and the
    process exits with the thread still stuck."""
    script = textwrap.dedent("""
        import threading, time
        from synthdata.run import executors
        from synthdata.run.compute import ComputeSpec

        executors.START_WAIT_S = 0.5
        ex = executors.make_executor(ComputeSpec(workers=1, force=True), tasks=1)
        ex.forked = False
        ex._cluster = threading.Event().wait  # a start that never ends
        ex.start_soon()
        t0 = time.monotonic()
        ex.__exit__(None, None, None)
        print(time.monotonic() - t0)
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert 0.4 < float(r.stdout) < 5


def test_ctrl_c_during_set_up_is_raised_where_it_is_safe():
    """generate's set-up holds Ctrl-C (run/interrupts.py): noted, raised by ``check``/``release``, never
    in the middle of whatever the main thread runs; the default handler is back afterwards."""
    from concurrent.futures import Future

    from synthdata.run import interrupts

    interrupts.hold()
    try:
        os.kill(os.getpid(), signal.SIGINT)  # would raise KeyboardInterrupt right here, unheld
        sum(range(100_000))
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()
        interrupts.check()  # raised once
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            interrupts.wait(Future())  # waiting for a cluster that does not come
        os.kill(os.getpid(), signal.SIGINT)
    finally:
        with pytest.raises(KeyboardInterrupt):
            interrupts.release()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    interrupts.hold()
    os.kill(os.getpid(), signal.SIGINT)
    interrupts.release(raise_noted=False)  # on the way out of an error: dropped
    interrupts.check()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_too_many_workers_are_refused_before_any_starts(tmp_path):
    """Found by a new-user review: `compute.workers=99` spawned 99 workers (a minute on 2 cores) before
    the run was refused. The core check needs no recipe: it runs before the cluster starts."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    proc = subprocess.Popen([sys.executable, "-m", "synthdata", "generate", "recipe=shapes", "clips=2", *TINY,
                             f"out={tmp_path / 'never'}", f"compute.workers={(os.cpu_count() or 1) + 97}"],
                            cwd=REPO, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, len(psutil.Process(proc.pid).children(recursive=True)))
        except psutil.NoSuchProcess:
            break
    err = proc.communicate(timeout=300)[1]
    assert proc.returncode == 2 and err.startswith("error: compute.workers:") and "CPU core(s)" in err, err
    assert peak <= 2, f"{peak} child processes started before the refusal"  # at most the fork server
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


@pytest.mark.parametrize("args", [[], ["data=nowhere", "steps=0"]])
def test_train_generator_refuses_bad_settings_before_torch_loads(tmp_path, args):
    """Found by a new-user review: `synthdata train-generator` with no arguments took 4.8 s to say
    `data: required` (the training loop's torch and diffusers were imported first)."""
    script = tmp_path / "driver.py"
    script.write_text(_DRIVER)
    r = subprocess.run([sys.executable, str(script), "train-generator", *args], capture_output=True, text=True,
                       cwd=REPO, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["rc"] == 2 and r.stderr.startswith("error: "), r.stderr
    assert "torch" not in report["modules"] and "diffusers" not in report["modules"], report
