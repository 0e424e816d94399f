"""Shared pieces of the file exporters: frame images and a staged, atomic output directory."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from PIL import Image

from ..errors import UserError, disk_full, user_path
from ..io.safety import check_output_folder

__all__ = ["staged_output", "write_frames"]


@contextmanager
def staged_output(out: Path) -> Iterator[Path]:
    """Yield a fresh staging folder; on success its contents appear at ``out`` (new or empty), on any
    failure it is removed and ``out`` is as it was. The staging folder is made by this call (never a
    name a user could own), beside ``out`` when ``out`` is new and inside it when ``out`` exists empty
    (so ``--out .`` works)."""
    out = user_path(out, "out") if isinstance(out, (str, os.PathLike)) else out
    check_output_folder(out, "out")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError("out", f"{out} exists and is not an empty directory")
    out = out.resolve()
    existed = out.exists()
    parent = out if existed else next(p for p in out.parents if p.exists())
    if not parent.is_dir():
        raise UserError("out", f"{parent} is a file, so {out} cannot be created")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError("out", f"{parent} is not writable")
    made = [p for p in out.parents if not p.exists()]  # the folders this call makes (deepest first)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".synthdata-export-", dir=out if existed else out.parent))
    except OSError as e:  # the permission bits said yes (root; procfs, read-only mounts)
        _remove_empty(made)
        raise UserError("out", f"cannot create {out}: {e.strerror or e}") from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 0700: the export is a folder like any other
    try:
        yield tmp
        if existed:
            for child in tmp.iterdir():
                os.replace(child, out / child.name)
            tmp.rmdir()
        else:
            try:
                os.rename(tmp, out)
            except OSError as e:  # another export (or the user) made it meanwhile: theirs stays
                raise UserError("out", f"{out} appeared while this export was written ({e.strerror or e}); "
                                       "nothing of this export was kept") from None
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty(made)
        if isinstance(exc, Exception) and disk_full(exc):
            raise UserError("out", f"no space left on the device of {out}; nothing of this export was kept. "
                                   "Free space and run it again") from None
        raise


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) that are still empty: the parents a failed export made."""
    for p in folders:
        try:
            p.rmdir()
        except OSError:  # not empty (someone else's files now), or gone
            return


def write_frames(video, folder: Path, ext: str = "jpg", start: int = 0) -> list[str]:
    """Decoded frames as images ``{index:06d}.{ext}`` (index from ``start``). Shape: video (T,H,W,3)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for k, frame in enumerate(video):
        name = f"{k + start:06d}.{ext}"
        Image.fromarray(frame).save(folder / name, quality=95)
        names.append(name)
    return names
