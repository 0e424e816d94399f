"""One benchmark point in a fresh process (one torch thread): its wall seconds and the JSON object its
last stdout line prints (peak RSS read from /proc inside it, say)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fresh_point(code: str, args: list[str]) -> tuple[float, dict]:
    """Run ``python -c code *args`` from the repository root with ``OMP_NUM_THREADS=1``. → (wall s, JSON)."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "OMP_NUM_THREADS": "1"}, check=True)
    return time.perf_counter() - t0, json.loads(r.stdout.strip().splitlines()[-1])
