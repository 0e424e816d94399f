"""Wall time of CLI commands as a user runs them (a fresh process each time), and what they import.

    python benchmarks/cli_startup.py --repeats 5 [--baseline /path/to/older/checkout] [--only generate_local_1]

Jobs, timed only when named with ``--only``: ``readme_job`` is the README's first command itself (4
clips of shapes at 256²×24); ``shards_16_default`` / ``shards_16_size8`` give the cost of one-clip
shards (16 small clips, the default shard size against 8-clip shards).

Prints one JSON line: per command the median and min wall seconds over ``--repeats`` runs, the heavy
modules the command's own process imported, and the same for ``--baseline`` (another checkout, run
with this Python) when given. ``generate`` is timed on a tiny clip (shapes, 2 frames of 32×32) into a
fresh folder, with the CLI's default ``compute=local`` (an embedded Dask cluster) and with
``compute=sync``: the 1-clip wall is the command's fixed start-up, the 2-clip wall minus it the cost
of one more clip (``derived``). ``info`` and ``verify`` read a small dataset made once beforehand.
Runs of the two checkouts alternate, so a shared machine's load inflates both alike; compare the
two, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

HEAVY = ("torch", "fiftyone", "diffusers", "distributed", "dask", "kornia", "av", "pyarrow", "hydra")
TINY = ["recipe=shapes", "clip.frames=2", "clip.width=32", "clip.height=32"]
OUT = "{out}"  # replaced by a fresh folder per run
DATASET = "{dataset}"  # replaced by the small dataset made beforehand
COMMANDS = {
    "validate": ["validate", "shapes"], "validate_highway": ["validate", "highway", "clip.frames=8"],
    "recipes": ["recipes"], "help": ["--help"], "info": ["info", DATASET], "verify": ["verify", DATASET],
    "generate_local_1": ["generate", *TINY, "clips=1", f"out={OUT}"],
    "generate_local_2": ["generate", *TINY, "clips=2", f"out={OUT}"],
    "generate_sync_1": ["generate", *TINY, "clips=1", "compute=sync", f"out={OUT}"],
    "generate_sync_2": ["generate", *TINY, "clips=2", "compute=sync", f"out={OUT}"],
    # the README's first command (its job, not start-up: 4 clips of shapes at the recipe's 256²×24)
    "readme_job": ["generate", "recipe=shapes", "clips=4", f"out={OUT}", "device=cpu"],
    # the cost of small shards: 16 small clips with the default shard size (16 one-clip shards since
    # shard_size auto; two 8-clip shards before) and as two 8-clip shards
    "shards_16_default": ["generate", "recipe=shapes", "clips=16", "clip.frames=8", "clip.width=64", "clip.height=64",
                          f"out={OUT}", "device=cpu"],
    "shards_16_size8": ["generate", "recipe=shapes", "clips=16", "clip.frames=8", "clip.width=64", "clip.height=64",
                        f"out={OUT}", "device=cpu", "compute.shard_size=8"],
}
#: jobs, not start-up: timed only when named with --only
JOBS = ("readme_job", "shards_16_default", "shards_16_size8")
# the driver's imports only: a probe run in-process (spawned workers re-import a guarded __main__)
PROBE = ("import sys, runpy\nif __name__ == '__main__':\n    sys.argv = ['synthdata', *{args!r}]\n"
         "    try:\n        runpy.run_module('synthdata', run_name='__main__')\n    except SystemExit:\n        pass\n"
         "    print(sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)\n")


def _args(args: list[str], scratch: Path, dataset: Path) -> list[str]:
    return [a.replace(OUT, str(scratch / "out")).replace(DATASET, str(dataset)) for a in args]


def _once(root: Path, args: list[str], scratch: Path) -> float:
    shutil.rmtree(scratch / "out", ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(root)}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "synthdata", *args], cwd=root, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    assert r.returncode == 0, (args, r.stderr)
    return wall


def _imports(root: Path, args: list[str], scratch: Path) -> list[str]:
    shutil.rmtree(scratch / "out", ignore_errors=True)
    script = scratch / "probe.py"
    script.write_text(PROBE.format(args=args, heavy=HEAVY))
    env = {**os.environ, "PYTHONPATH": str(root)}
    r = subprocess.run([sys.executable, str(script)], cwd=root, env=env, capture_output=True, text=True)
    return json.loads(r.stderr.strip().splitlines()[-1].replace("'", '"'))


def _summary(walls: list[float], imports: list[str]) -> dict:
    return {"median_s": round(statistics.median(walls), 3), "min_s": round(min(walls), 3), "imports": imports}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--baseline", type=Path, help="an older checkout to compare against")
    p.add_argument("--only", nargs="*", choices=sorted(COMMANDS), help="time these commands only")
    a = p.parse_args()
    here = Path(__file__).resolve().parents[1]
    roots = {"after": here, **({"before": a.baseline.resolve()} if a.baseline else {})}
    names = a.only or [n for n in COMMANDS if n not in JOBS]
    with tempfile.TemporaryDirectory(prefix="synthdata-startup-") as tmp:
        scratch, dataset = Path(tmp), Path(tmp) / "dataset"
        subprocess.run([sys.executable, "-m", "synthdata", "generate", *TINY, "clips=2", "compute=sync",
                        f"out={dataset}"], cwd=here, env={**os.environ, "PYTHONPATH": str(here)}, check=True,
                       capture_output=True)
        walls: dict[str, dict[str, list[float]]] = {k: {n: [] for n in names} for k in roots}
        for _ in range(a.repeats):  # interleaved: before and after see the same load
            for name in names:
                for which, root in roots.items():
                    walls[which][name].append(_once(root, _args(COMMANDS[name], scratch, dataset), scratch))
        result = {which: {n: _summary(walls[which][n], _imports(root, _args(COMMANDS[n], scratch, dataset), scratch))
                          for n in names} for which, root in roots.items()}
    for which in roots:
        r, d = result[which], {}
        for mode in ("local", "sync"):
            if f"generate_{mode}_1" in r and f"generate_{mode}_2" in r:
                d[f"generate_{mode}_fixed_s"] = r[f"generate_{mode}_1"]["median_s"]
                d[f"generate_{mode}_per_clip_s"] = round(r[f"generate_{mode}_2"]["median_s"] - r[f"generate_{mode}_1"]["median_s"], 3)
        r["derived"] = d
    try:
        from _machine import machine

        info = machine()
    except ImportError:
        info = {"cores": os.cpu_count()}
    print(json.dumps({"benchmark": "cli_startup", "repeats": a.repeats, "machine": info,
                      "loadavg_1min": round(os.getloadavg()[0], 2), **result}))


if __name__ == "__main__":
    main()
