"""Wall time of quick CLI commands as a user runs them (a fresh process each time), and what they import.

    python benchmarks/cli_startup.py --repeats 5 [--baseline /path/to/older/checkout]

Prints one JSON line: per command the median and min wall seconds over ``--repeats`` runs, the heavy
modules that were imported, and the same for ``--baseline`` (another checkout, run with this Python)
when given. The process load of a shared machine inflates both alike; compare the two, not the
absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("torch", "fiftyone", "diffusers", "distributed", "dask", "kornia", "av", "pyarrow", "hydra")
COMMANDS = {"validate": ["validate", "shapes"], "validate_highway": ["validate", "highway", "clip.frames=8"],
            "recipes": ["recipes"], "help": ["--help"]}


def _time(root: Path, args: list[str], repeats: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root)}
    walls = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "synthdata", *args], cwd=root, env=env, capture_output=True, text=True)
        walls.append(time.perf_counter() - t0)
        assert r.returncode == 0, r.stderr
    probe = (f"import sys, runpy; sys.argv = ['synthdata', *{args!r}]\n"
             "try:\n    runpy.run_module('synthdata', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True)
    return {"median_s": round(statistics.median(walls), 3), "min_s": round(min(walls), 3),
            "imports": json.loads(r.stderr.strip().splitlines()[-1].replace("'", '"'))}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--baseline", type=Path, help="an older checkout to compare against")
    a = p.parse_args()
    here = Path(__file__).resolve().parents[1]
    out = {"benchmark": "cli_startup", "repeats": a.repeats, "cores": os.cpu_count(),
           "loadavg_1min": round(os.getloadavg()[0], 2),
           "after": {k: _time(here, v, a.repeats) for k, v in COMMANDS.items()}}
    if a.baseline:
        out["before"] = {k: _time(a.baseline, v, a.repeats) for k, v in COMMANDS.items()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
