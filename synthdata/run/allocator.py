"""glibc's malloc told to keep freed memory for reuse, in the processes that render.

The ray-caster allocates and frees tensors of several MB hundreds of times per trace batch. With
glibc's defaults a freed block at the top of the heap is handed back to the kernel as soon as more
than twice the largest freed block is free there, and the next batch faults the same pages in again,
zeroed: ~50 000 page faults and 0.07–0.2 s of kernel time per shapes 256²×24 clip (measured,
``benchmarks/results/allocator-cpu-2core.json``). Keeping up to :data:`TRIM_THRESHOLD` free at the
heap top, and serving blocks up to :data:`MMAP_THRESHOLD` (glibc's maximum) from the heap, makes the
same renders fault almost never; peak RSS stays what it was (a batch reuses the last one's blocks).

Applied where synthdata owns the process: the embedded Dask cluster's workers (a preload: this
module's :func:`dask_setup`) and the ``synthdata generate`` command. A Python program calling
:func:`synthdata.generate` in-process keeps its allocator as it is unless it calls
:func:`keep_freed_memory` itself (the setting is process-wide and lasts: memory freed after the run
stays with the process instead of going back to the system).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory", "dask_setup"]

#: mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: blocks up to this size come from the heap, not fresh mappings (32 MiB: the most glibc accepts)
MMAP_THRESHOLD = 32 * 2**20
#: free memory at the heap top kept before any is returned to the kernel
TRIM_THRESHOLD = 256 * 2**20


@functools.cache
def keep_freed_memory() -> bool:
    """Tune this process's glibc malloc as the module says; True when applied (Linux with glibc),
    False elsewhere (musl, macOS, Windows: nothing changes). Idempotent."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt, gnu = libc.mallopt, libc.gnu_get_libc_version  # glibc only: musl has no version call
    except (OSError, AttributeError):
        return False
    del gnu
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # both, or the fixed mmap threshold alone would turn off glibc's adaptive one with nothing in return
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def dask_setup(worker) -> None:  # noqa: ARG001 - Dask's preload hook
    keep_freed_memory()
