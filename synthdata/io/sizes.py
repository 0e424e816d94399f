"""Byte counts for people: ``human_bytes(13_002_342) == "12.4 MiB"`` (binary units, as ``du -h``)."""

from __future__ import annotations

__all__ = ["human_bytes"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_bytes(n: int) -> str:
    """``n`` bytes in the largest binary unit that keeps the number at least 1, one decimal."""
    value, unit = float(n), 0
    while abs(value) >= 1024 and unit < len(_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return f"{int(value)} B" if unit == 0 else f"{value:.1f} {_UNITS[unit]}"
