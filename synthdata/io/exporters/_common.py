"""Shared pieces of the file exporters: frame images and a safe output directory."""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

from ...errors import UserError

__all__ = ["finish_dir", "prepare_dir", "write_frames"]


def prepare_dir(out: Path) -> Path:
    """``out`` must be new or empty; exports are written to a sibling temp dir and renamed at the end."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError("--out", f"{out} exists and is not an empty directory")
    tmp = out.parent / f".{out.name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def finish_dir(tmp: Path, out: Path) -> None:
    if out.exists():
        out.rmdir()
    tmp.rename(out)


def write_frames(video, folder: Path, ext: str = "jpg", start: int = 0) -> list[str]:
    """Decoded frames as images ``{index:06d}.{ext}`` (index from ``start``). Shape: video (T,H,W,3)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for k, frame in enumerate(video):
        name = f"{k + start:06d}.{ext}"
        Image.fromarray(frame).save(folder / name, quality=95)
        names.append(name)
    return names
