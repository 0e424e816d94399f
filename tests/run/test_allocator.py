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


_HEAP_SCRIPT = """
import ctypes, sys
sys.path.insert(0, {root!r})
from synthdata.run.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]

def heap():
    for line in open("/proc/self/maps"):
        if line.rstrip().endswith("[heap]"):
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            return lo, hi

size = 20 << 20  # a trace batch's larger tensors: several MB to tens of MB
block = libc.malloc(size)
ctypes.memset(block, 1, size)
lo, hi = heap()
libc.free(block)
print(int(lo <= block < hi), hi - lo, heap()[1] - heap()[0])
"""

_REFAULT_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from tests.run.test_allocator import refaults
from synthdata.run.allocator import keep_freed_memory
assert keep_freed_memory()
print(refaults())
"""


def _in_fresh_process(script: str, mode: str = "keep") -> list[int]:
    """Run ``script`` in a fresh interpreter whose malloc takes no settings from the environment."""
    import os

    from ..conftest import REPO

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES", "LD_PRELOAD"))}
    out = subprocess.run([sys.executable, "-c", script.format(root=str(REPO)), mode], capture_output=True, text=True,
                         check=True, env=env).stdout.split()
    return [int(x) for x in out]


def test_large_blocks_come_from_the_heap_and_stay_there_when_freed():
    """The mechanism itself, independent of the machine's page size or huge pages: glibc's defaults serve
    a 20 MB block from a fresh mapping (unmapped again on free); tuned, it comes from the heap, and
    freeing it leaves the heap as large as it was, ready for the next batch."""
    in_heap, grown, after_free = _in_fresh_process(_HEAP_SCRIPT, "keep")
    assert in_heap == 1 and grown >= 20 << 20 and after_free == grown
    in_heap_default, _, _ = _in_fresh_process(_HEAP_SCRIPT, "default")
    assert in_heap_default == 0


def test_renders_after_the_first_hardly_fault_pages_in():
    """Two renders after a first fault almost no pages in (measured 2–216 here; 3 300–3 600 with glibc's
    defaults on this box, but the default's count depends on the machine's huge-page setting, so only
    the tuned count is bounded)."""
    (kept,) = _in_fresh_process(_REFAULT_SCRIPT)
    assert kept < 1000


def test_generate_in_process_keeps_freed_memory(tmp_path):
    keep_freed_memory.cache_clear()
    assert main(["generate", "recipe=shapes", "clips=1", f"out={tmp_path / 'd'}", "compute=sync", *TINY]) == 0
    assert keep_freed_memory.cache_info().currsize == 1
