"""What this machine can still give a run, read the same way by every stage that checks memory."""

from __future__ import annotations

import os

__all__ = ["host_available_bytes"]


def host_available_bytes() -> int:
    """Bytes the host can still give: psutil's ``available``, else /proc/meminfo MemAvailable, else the
    physical total (platforms with neither)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
