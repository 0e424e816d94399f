"""malloc keeps freed memory in the processes that render (synthdata/run/allocator.py): the next trace
batch reuses the last one's pages instead of faulting fresh zeroed ones in."""

from __future__ import annotations

import subprocess
import sys

import pytest

from synthdata.cli import main
from synthdata.run.allocator import keep_freed_memory

from ..conftest import TINY

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc: Linux only")


def refaults(size: int = 64) -> int:
    """Page faults of two renders of a shapes clip (size² × 4 frames, one torch thread) after a first
    one: what a worker's next clips cost in pages faulted in afresh."""
    import resource

    import torch

    import synthdata
    from synthdata.render import make_backend
    from synthdata.run.pipeline import layout_clip
    from synthdata.run.timing import StageTimer

    torch.set_num_threads(1)
    spec = synthdata.load_recipe("shapes", ["clip.frames=4", f"clip.width={size}", f"clip.height={size}", "device=cpu"])
    backend = make_backend(spec.backend, spec.device)
    lay = layout_clip(spec, 0, StageTimer())
    backend.render(lay.scene, lay.traj)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(2):
        backend.render(lay.scene, lay.traj)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from tests.run.test_allocator import refaults
from synthdata.run.allocator import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else None
print(applied, refaults())
"""


def _in_fresh_process(mode: str) -> tuple[str, int]:
    from ..conftest import REPO

    out = subprocess.run([sys.executable, "-c", _SCRIPT.format(root=str(REPO)), mode], capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0], int(out[1])


def test_kept_memory_is_reused_where_the_default_faults_it_in_again():
    applied, kept = _in_fresh_process("keep")
    _, default = _in_fresh_process("default")
    assert default > 1000  # glibc's defaults do fault the renders' pages in again (else this shows nothing)
    assert applied == "True" and kept * 4 < default  # measured: 2–216 against 3 300–3 600


def test_generate_in_process_keeps_freed_memory(tmp_path):
    keep_freed_memory.cache_clear()
    assert main(["generate", "recipe=shapes", "clips=1", f"out={tmp_path / 'd'}", "compute=sync", *TINY]) == 0
    assert keep_freed_memory.cache_info().currsize == 1
