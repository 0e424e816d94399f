"""Integrations: other tools' formats and APIs over the storage of record (:mod:`synthdata.io`).

Exporters to label formats (COCO, MOT, TAP-Vid), FiftyOne (export and import), and the torch ``Dataset``. The
dependency points one way: integrations read datasets through :mod:`synthdata.io`; storage never
imports an integration.

Exporters are ``fn(ds: SynthDataset, out: Path) -> dict`` (a summary) in one registry: the built-ins
are listed here by name (imported on first use) and third-party ones come through the
``synthdata.exporters`` entry-point group, so ``EXPORTERS.names()`` is complete before any is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..registry import Registry

__all__ = ["EXPORTERS", "export"]

ExporterFn = Callable[..., dict]
EXPORTERS: Registry[ExporterFn] = Registry("export format", "synthdata.exporters")
EXPORTERS.register_lazy("coco", "synthdata.integrations.coco:export_coco")
EXPORTERS.register_lazy("mot", "synthdata.integrations.mot:export_mot")
EXPORTERS.register_lazy("tapvid", "synthdata.integrations.tapvid:export_tapvid")


def export(ds: Any, fmt: str, out: str | Path, progress: bool | None = None) -> dict:
    """Write ``ds`` (a :class:`~synthdata.io.reader.SynthDataset`, or a dataset folder's path) in format
    ``fmt`` to the new or empty folder ``out``; returns the exporter's summary. ``progress``: a bar per
    clip on stderr (default: when stderr is a terminal)."""
    import os

    from ..io.reader import open_dataset
    from ..io.safety import check_output_folder
    from ..progress import TrackedDataset

    import logging

    from ..errors import UserError

    fn = EXPORTERS.get(fmt, "fmt")
    if isinstance(ds, (str, os.PathLike)):
        ds = open_dataset(ds)
    check_output_folder(out, "out")
    m = ds.manifest
    if len(ds) == 0:  # an interrupted run's first shard never committed: an export would be empty
        raise UserError("ds", f"{ds.root} has no committed clips ({m.num_clips} planned); re-run its generate "
                              "command to make them")
    if not m.complete:
        logging.getLogger("synthdata").warning(
            "exporting an incomplete dataset: %d of %d clips are committed (re-run its generate command to "
            "finish it)", len(ds), m.num_clips)
    return fn(TrackedDataset(ds, f"export {fmt}", progress), Path(out))
