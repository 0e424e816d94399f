"""The CLI behaves as users of Hydra-based tools expect (issue 14 items 5 and 7): multirun, ``--cfg job``,
``-v``/``-q`` with a ``synthdata`` logger, per-clip progress, no Dask dashboard warning, a fast
``validate`` that imports no heavy stack, shell completion, human sizes in ``info``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, TINY, run_cli

HEAVY = ("torch", "fiftyone", "diffusers", "distributed", "dask", "kornia")


def test_validate_imports_no_heavy_modules():
    """``synthdata validate`` checks every registry name without importing torch, Dask, diffusers or
    FiftyOne (it took 5 s, most of it importing torch)."""
    code = ("import sys\nfrom synthdata.cli import main\n"
            "assert main(['validate', 'highway', 'clip.frames=8']) == 0\n"
            "assert main(['validate', 'shapes', 'objects.0.primitive=nope']) == 2\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]", (
        f"validate imported {r.stdout.strip()}: a module it reaches imports it at the top; write "
        "`from synthdata.lazy import torch` there (or import inside the function); `python -X importtime` shows which")
    assert "objects.0.primitive" in r.stderr  # the registries were still consulted


@pytest.mark.parametrize("args", [["recipes"], ["info", "{dataset}"], ["verify", "{dataset}"], ["--help"]])
def test_quick_commands_import_no_heavy_modules(args, tiny_dataset):
    """``recipes``, ``info``, ``verify`` and ``--help`` start in well under a second (issue 15): none of
    them imports torch, Dask, diffusers, kornia or FiftyOne; ``recipes`` not even the recipe machinery
    (OmegaConf, Hydra, the schema: it reads the shipped files' descriptions with libyaml)."""
    args = [a.format(dataset=tiny_dataset) for a in args]
    heavy = (*HEAVY, "hydra", "omegaconf", "synthdata.recipe.schema") if args[0] == "recipes" else HEAVY
    code = ("import sys\nfrom synthdata.cli import main\n"
            f"try:\n    rc = main({args!r})\nexcept SystemExit as e:\n    rc = e.code\n"
            f"print(rc, sorted(m for m in {heavy!r} if m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr
    rc, _, modules = r.stdout.strip().splitlines()[-1].partition(" ")
    assert rc in ("0", "None"), r.stdout + r.stderr
    assert modules == "[]", f"synthdata {' '.join(args)} imported {modules}"


def test_lazy_torch_becomes_the_real_module_on_first_use():
    code = ("import sys\nimport synthdata.render.raycast.primitives as p\nassert 'torch' not in sys.modules\n"
            "import torch\nt = p.sphere_intersect(torch.zeros(1, 3) - torch.tensor([0., 0., 3.]), "
            "torch.tensor([[0., 0., 1.]]))\nassert p.torch is torch, p.torch\nprint(float(t[0]))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr
    assert float(r.stdout.strip()) == pytest.approx(2.0)


def test_cfg_job_prints_the_composed_recipe_and_writes_nothing(tmp_path):
    out = tmp_path / "never"
    r = run_cli("generate", "recipe=highway", "--cfg", "job", "seed=11", "clip.frames=6", f"out={out}")
    assert r.returncode == 0, r.stderr
    cfg = yaml.safe_load(r.stdout)
    assert cfg["name"] == "highway" and cfg["seed"] == 11 and cfg["clip"]["frames"] == 6
    assert cfg["backend"]["name"] == "raycast" and "samples" not in r.stdout.splitlines()[0]
    assert not out.exists()
    bad = run_cli("generate", "--cfg", "all")
    assert bad.returncode == 2 and "--cfg" in bad.stderr


@pytest.mark.slow
def test_multirun_one_dataset_per_job_with_logging(tmp_path):
    out = tmp_path / "sweep"
    tiny = [a for a in TINY if not a.startswith("clip.frames=")] + ["clip.frames=2"]  # each key once
    r = run_cli("-v", "generate", "-m", "recipe=shapes", "seed=1,2", "clips=2,1", f"out={out}", *tiny,
                "compute=sync", "progress=false")
    assert r.returncode == 0, r.stderr
    jobs = sorted(p.name for p in out.iterdir())  # Hydra's override_dirname: sorted key=value pairs
    assert jobs == ["clips=1,seed=1", "clips=1,seed=2", "clips=2,seed=1", "clips=2,seed=2"]
    for job in jobs:
        m = json.loads((out / job / "dataset.json").read_text())
        assert f"seed={m['seed']}" in job and f"clips={m['num_clips']}" in job
    assert r.stdout.count("wrote ") == 4
    assert "synthdata: generating 2 clips of shapes" in r.stderr  # -v: the logger's INFO/DEBUG lines
    assert "synthdata: shard 0: 1 clip(s) made" in r.stderr  # per clip, not per shard
    quiet = run_cli("generate", "-q", "recipe=shapes", "clips=1", f"out={tmp_path / 'q'}", *TINY, "compute=sync")
    assert quiet.returncode == 0 and "synthdata:" not in quiet.stderr and quiet.stderr.strip() == ""
    assert run_cli("generate", "-m", "recipe=shapes", f"out={out}").returncode == 2  # nothing swept: one line


def test_sweep_values_cannot_leave_out(tmp_path):
    r = run_cli("generate", "-m", "recipe=shapes", "name=a,../../x", f"out={tmp_path}", *TINY, "compute=sync")
    assert r.returncode == 2 and r.stderr.startswith("error: -m:"), r.stderr
    assert not (tmp_path.parent / "x").exists()


@pytest.mark.slow
def test_dask_run_reports_per_clip_and_no_dashboard_warning(tmp_path):
    """An embedded Dask cluster with port 8787 taken: no "Port 8787 is already in use" warning, and the
    workers report each clip (three clips in one shard → reports of 1 and 2 before the shard is done)."""
    with socket.socket() as busy:
        try:
            busy.bind(("127.0.0.1", 8787))
            busy.listen()
        except OSError:
            pass  # something else holds it: the point stands
        r = run_cli("-v", "generate", "recipe=shapes", "clips=3", f"out={tmp_path / 'd'}", *TINY,
                    "compute.workers=1", "compute.shard_size=3", "progress=true")
    assert r.returncode == 0, r.stderr
    assert "8787" not in r.stderr and "already in use" not in r.stderr, r.stderr
    assert "shard 0: 1 clip(s) made" in r.stderr and "shard 0: 2 clip(s) made" in r.stderr, r.stderr


def test_progress_per_clip_in_process(tmp_path):
    """The per-clip reports reach a listener in this process (compute=sync/threads)."""
    import synthdata
    from synthdata.run.events import listen_clips
    from synthdata.run.shard import ShardJob, run_shard

    spec = synthdata.load_recipe("shapes", TINY)
    job = ShardJob(spec=spec, recipe_hash=spec.content_hash(),
                   out=str(tmp_path), num_clips=3, shard_size=3, progress_topic="t-1")
    (tmp_path / "dataset.json").write_text("{}")
    seen: list[tuple[int, int]] = []
    with listen_clips("t-1", lambda s, n: seen.append((s, n))):
        run_shard(job, 0)
    assert seen == [(0, 1), (0, 2), (0, 3)]


def test_completion_script_is_valid_bash_and_completes(tmp_path):
    r = run_cli("completion", "bash")
    assert r.returncode == 0, r.stderr
    script = tmp_path / "synthdata.bash"
    script.write_text(r.stdout)
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    probe = f'''source {script}
t() {{ COMP_LINE="$1"; COMP_POINT=${{#COMP_LINE}}; read -ra COMP_WORDS <<< "$1"; [[ "$1" == *" " ]] && COMP_WORDS+=("");
     COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); _synthdata; echo "${{COMPREPLY[*]}}"; }}
t "synthdata gen"; t "synthdata generate recipe=hi"; t "synthdata validate colo"; t "synthdata info --js"
t "synthdata generate compute=thr"
'''
    lines = subprocess.run(["bash", "-c", probe], capture_output=True, text=True).stdout.splitlines()
    assert lines[0] == "generate" and lines[1].split()[-1].endswith("highway")
    assert lines[2] == "colonoscopy" and lines[3] == "--json" and lines[4].endswith("threads")
    assert run_cli("completion", "zsh").stdout.startswith("autoload -U +X bashcompinit")
    assert run_cli("completion", "fish").returncode == 2


def test_info_sizes_in_human_units(tiny_dataset):
    from synthdata.io.sizes import human_bytes

    assert [human_bytes(n) for n in (0, 1023, 1024, 13_002_342, 5 * 2**40)] == \
        ["0 B", "1023 B", "1.0 KiB", "12.4 MiB", "5.0 TiB"]
    r = run_cli("info", str(tiny_dataset), "--json")
    info = json.loads(r.stdout)
    assert info["size"] == human_bytes(info["bytes"]) and info["size"].endswith(("KiB", "MiB"))
    assert set(info["size_per_folder"]) >= {"clips", "frames", "objects", "media"}
    text = run_cli("info", str(tiny_dataset)).stdout
    assert any(line.split()[:2] == ["size", info["size"].split()[0]] for line in text.splitlines())


def test_public_api_has_docstrings():
    """Every public name of ``synthdata`` and the public members of its classes (and of the reader's and
    integrations' public classes) say what they are for."""
    import inspect

    from importlib import import_module

    import synthdata

    missing = []
    objs = [(f"synthdata.{n}", getattr(synthdata, n)) for n in synthdata.__all__ if n != "__version__"]
    for name in ("synthdata.api", "synthdata.io.reader", "synthdata.integrations", "synthdata.integrations.coco",
                 "synthdata.integrations.mot", "synthdata.integrations.tapvid", "synthdata.integrations.fiftyone",
                 "synthdata.integrations.torch_dataset", "synthdata.integrations.files"):
        module = import_module(name)
        objs += [(f"{name}.{n}", getattr(module, n)) for n in getattr(module, "__all__", [])]
    for name, obj in objs:
        if not (inspect.isclass(obj) or callable(obj)):
            continue  # constants and registries: documented where they are defined
        if not (inspect.getdoc(obj) or "").strip():
            missing.append(name)
        if inspect.isclass(obj):
            for member, value in vars(obj).items():
                if member.startswith("_") or member in getattr(obj, "model_fields", {}):
                    continue
                target = value.fget if isinstance(value, property) else getattr(value, "func", value)
                if callable(target) or isinstance(value, property):
                    if not (getattr(target, "__doc__", None) or "").strip():
                        missing.append(f"{name}.{member}")
    assert not missing, f"{len(missing)} public names lack a docstring: {missing}"


def test_export_progress_per_clip(tiny_dataset, tmp_path, capsys):
    """``export`` advances a bar per clip on stderr when progress is on, and prints nothing when off."""
    import synthdata

    ds = synthdata.open_dataset(tiny_dataset)
    summary = synthdata.export(ds, "mot", tmp_path / "on", progress=True)
    err = capsys.readouterr().err
    assert "export mot" in err and f"{len(ds)}/{len(ds)}" in err and summary
    synthdata.export(ds, "mot", tmp_path / "off", progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("bad", ["seed=1,abc", "clip.width=64,8", "clips=1,0"])
def test_a_sweep_with_one_bad_job_writes_nothing(tmp_path, bad):
    """Found by a new-user review: `-m seed=1,abc` made the whole first dataset, then refused the
    second. Every job is checked before any runs: one line naming the job, nothing written."""
    out = tmp_path / "sweep"
    tiny = [a for a in TINY if a.partition("=")[0] != bad.partition("=")[0]]  # each key once
    r = run_cli("generate", "-m", "recipe=shapes", f"out={out}", *tiny, "compute=sync", bad)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad.split('=')[0]}: ") and "(job 2/2: " in lines[0], r.stderr
    assert not out.exists() and "wrote" not in r.stdout


@pytest.mark.parametrize("args, field", [
    (["generate", "recipe=shapes", "clips=1", "out=~nosuchuser9/x"], "out"),
    (["verify", "~nosuchuser9/x"], "path"),
    (["validate", "~nosuchuser9/r.yaml"], "recipe"),
    (["export", "{dataset}", "--format", "coco", "--out", "~nosuchuser9/x"], "--out"),
])
def test_a_tilde_of_no_user_is_one_line(args, field, tiny_dataset):
    """Found by a review: ``out=~nouser/x`` (and verify, info, export) died in pathlib's RuntimeError,
    a traceback with exit 1."""
    r = run_cli(*[a.format(dataset=tiny_dataset) for a in args])
    assert r.returncode == 2 and r.stderr.startswith(f"error: {field}: cannot expand"), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_help_after_arguments_prints_the_commands_help(capsys):
    """Found by a review: ``synthdata generate recipe=shapes clips=2 out=x --help`` was refused as an
    unknown option (only a bare ``generate -h`` helped)."""
    from synthdata.cli import main

    for argv in (["generate", "recipe=shapes", "clips=2", "out=x", "--help"], ["ablate", "c.yaml", "out=x", "-h"]):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: synthdata {argv[0]}") and not Path("x").exists()


@pytest.mark.parametrize("argv,key", [
    (["generate", "recipe=shapes", "clips=2", "clips=3", "out=x", "--dry-run"], "clips"),
    (["generate", "recipe=shapes", "recipe=highway", "--cfg", "job"], "recipe"),
    (["generate", "recipe=shapes", "compute.workers=1", "compute.workers=2", "out=x", "--dry-run"], "compute.workers"),
    (["validate", "shapes", "clip.frames=4", "clip.frames=8"], "clip.frames"),
    (["validate", "shapes", "+clip.frames=4", "clip.frames=8"], "clip.frames"),
])
def test_a_key_given_twice_is_refused(capsys, argv, key):
    """Found by a review: the last of two values silently won (``clips=2 clips=3`` planned 3)."""
    from synthdata.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {key}: given twice"), err


def test_a_recipe_path_that_is_not_a_regular_file_is_named_so(tmp_path, capsys):
    """Found by a review: a FIFO named fifo.yaml was reported as "file not found"."""
    import os

    from synthdata.cli import main

    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    assert main(["validate", str(fifo)]) == 2
    assert capsys.readouterr().err.strip() == f"error: recipe: {fifo} is not a regular file (a pipe, device or socket)"


def test_gpus_the_machine_lacks_are_refused_before_a_cluster_starts(tmp_path):
    """Found by a review: ``compute.gpus=1`` without CUDA started a "gpu-0" worker that rendered on the
    CPU (0.31 clips/s instead of ~6) and printed its Dask log lines through ``-q``."""
    from synthdata.render.device import cuda_device_count

    if cuda_device_count():
        pytest.skip("this machine has CUDA GPUs")
    r = run_cli("-q", "generate", "recipe=shapes", *TINY, "clips=1", "progress=false", f"out={tmp_path / 'd'}",
                "compute.gpus=1", "compute.force=true")
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "error: compute.gpus: expected at most this machine's 0 CUDA GPU(s), got 1; leave it auto (0 here: CPU "
        "workers) or run where the GPUs are"], r.stderr
    assert not (tmp_path / "d").exists()


def test_a_sweep_keeps_plain_values_as_typed(tmp_path, capsys, monkeypatch):
    """``out=~/data`` in a sweep failed Hydra's grammar ("could not parse the sweep"): only the values
    that can sweep go through it, the rest keep their place and spelling (``~`` expands as elsewhere)."""
    from synthdata.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["generate", "-m", "recipe=shapes", "seed=1,2", "clips=1", "out=~/sweep", *TINY, "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "[1/2] recipe=shapes seed=1 clips=1 clip.frames=4" in err and "out=~/sweep/seed=2" in err
    assert not (tmp_path / "sweep").exists()


def test_dry_run_checks_the_scheduler_address_as_a_run_does(tmp_path):
    """Found by a docs review: ``--dry-run`` ("every check generate makes") passed an address where
    nothing listens; the run itself refused it."""
    with socket.socket() as s:  # a port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        r = run_cli("generate", "recipe=shapes", "clips=1", f"out={tmp_path / 'd'}", f"compute.address=tcp://127.0.0.1:{port}",
                    "--dry-run")
    assert r.returncode == 2 and r.stderr.startswith("error: compute.address: no Dask scheduler with workers at"), r.stderr
