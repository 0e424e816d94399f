"""Exporters to other label formats, by name (``synthdata export <dir> --format NAME --out DIR``).

Each exporter is ``fn(ds: SynthDataset, out: Path) -> dict`` (a summary); third-party exporters register
through the ``synthdata.exporters`` entry-point group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ...registry import Registry

__all__ = ["EXPORTERS", "export"]

ExporterFn = Callable[..., dict]
EXPORTERS: Registry[ExporterFn] = Registry("export format", "synthdata.exporters")


def export(ds, fmt: str, out: str | Path) -> dict:
    from . import coco as _coco  # noqa: F401  (registers)
    from . import mot as _mot  # noqa: F401  (registers)

    return EXPORTERS.get(fmt, "--format")(ds, Path(out))
