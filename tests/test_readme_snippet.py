"""The README's Python snippet, saved as a plain script (no ``__main__`` guard) and run as a user would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_python() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) == 1, "the README has one Python snippet; this test runs it"
    return blocks[0]


def test_readme_snippet_is_small_and_unguarded():
    code = readme_python()
    assert not re.search(r"^if __name__", code, re.M)  # the point: it must work without a guard
    frames = [int(x) for x in re.findall(r"clip\.frames=(\d+)", code)]
    clips = [int(x) for x in re.findall(r"clips=(\d+)", code)]
    assert frames and max(frames) <= 8 and clips and max(clips) <= 4  # small enough to run in CI


@pytest.mark.slow
def test_readme_snippet_runs_as_a_script(tmp_path):
    """Before the API defaulted to threads, this died with ``RuntimeError: Nanny failed to start``:
    Dask's spawned workers re-imported the unguarded script."""
    script = tmp_path / "snippet.py"
    script.write_text(readme_python() + "\nassert video.ndim == 4 and video_t.shape[1] == 3 and len(objects) > 0\n"
                      "print('snippet ok', tuple(video.shape), ds.info()['clips'])\n")
    env = os.environ | {"PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Nanny" not in r.stderr
    assert re.search(r"snippet ok \(8, 128, 128, 3\) 2", r.stdout), r.stdout
    assert (tmp_path / "data" / "colon" / "dataset.json").is_file()


def test_api_default_runs_on_threads_with_the_same_bytes(tmp_path):
    """The API's default executor (threads in this process) writes the bytes ``compute=sync`` writes."""
    import synthdata

    from .conftest import TINY

    small = {"shard_size": 1}
    a = synthdata.generate("shapes", clips=2, out=tmp_path / "threads", overrides=TINY, progress=False)
    b = synthdata.generate("shapes", clips=2, out=tmp_path / "sync", overrides=TINY, progress=False,
                           compute={"name": "sync", **small})
    c = synthdata.generate("shapes", clips=2, out=tmp_path / "threads2", overrides=TINY, progress=False,
                           compute={"name": "threads", "workers": 2, **small})
    assert a.stats["executor"] == "threads" and c.stats["workers_last_run"] == 2
    files = lambda m: {k: v for s in m.shards for k, v in s.files.items()}  # noqa: E731
    assert files(b) == files(c) and len(files(c)) > 0
    assert sorted(set(files(a).values())) != [] and a.num_clips == 2
