"""Ids and paths read from a dataset are untrusted: validate them before any path is built from them.

A dataset may come from anyone. A ``clip_id`` becomes a file or folder name in every exporter, and a
``video_path`` or a manifest's file list is opened or deleted relative to the dataset root, so a
hostile ``../../x`` or ``/etc/passwd`` must never get that far. Every reader and writer goes through
:func:`check_id` and :func:`inside`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from ..errors import UserError, user_path

__all__ = ["SAFE_ID", "check_id", "check_output_folder", "inside", "check_rel"]

#: Safe for a file name on every OS: starts with a letter or digit, then letters, digits, ``._-``.
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")


def check_id(value: object, field: str) -> str:
    """``value`` if it is a safe id, else a :class:`UserError` naming ``field``."""
    if not isinstance(value, str) or not SAFE_ID.match(value):
        raise UserError(field, f"expected an id of letters, digits, '.', '_' or '-' (at most 128, starting with a "
                               f"letter or digit), got {value!r}")
    return value


def check_rel(value: object, field: str) -> PurePosixPath:
    """A relative POSIX path with no ``..``, no empty or dot parts and no backslashes."""
    if not isinstance(value, str) or not value or "\\" in value or "\x00" in value:
        raise UserError(field, f"expected a relative path inside the dataset, got {value!r}")
    rel = PurePosixPath(value)
    if rel.is_absolute() or any(p in ("", ".", "..") for p in value.split("/")):
        raise UserError(field, f"expected a relative path inside the dataset, got {value!r}")
    return rel


def check_output_folder(value: object, field: str) -> Path:
    """An output folder as given (``str`` or ``os.PathLike``), checked before anything is made: a
    path the OS can hold, and not inside a synthdata dataset (its ``.staging`` is cleared by every run
    of it, its table folders are read whole, and ``--overwrite`` refuses what it does not own, so a
    dataset written inside another breaks both). The folder may be a dataset itself (a resume)."""
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)) or str(value).strip() == "":
        got = "an empty value" if isinstance(value, str) else f"{type(value).__name__} {value!r}"
        raise UserError(field, f"expected a folder path, got {got}")
    path = user_path(value, field)
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):  # new, or under a file: the callers say which
        pass
    except OSError as e:  # ENAMETOOLONG, ELOOP, EACCES…: no folder can be made there
        raise UserError(field, f"cannot use {str(path)[:200]}: {e.strerror or e}") from None
    if path.is_symlink() and not path.exists():  # a dangling link: its target would be made, wherever it points
        raise UserError(field, f"{str(path)[:200]} is a symbolic link to {os.readlink(path)[:200]!r}, which does not "
                               "exist; create that folder first or give its path")
    path = path.resolve()
    for p in path.parents:
        if (p / "dataset.json").is_file() or (p / ".synthdata.lock").exists():
            where = "the staging folder of the dataset" if ".staging" in path.relative_to(p).parts else "the dataset"
            raise UserError(field, f"{path} is inside {where} {p}; choose a folder outside it")
    return path


def inside(root: Path, value: object, field: str) -> Path:
    """``root / value`` after checking that it stays inside ``root`` (symlinks included)."""
    rel = check_rel(value, field)
    path = root / rel
    real_root = root.resolve()
    real = path.resolve()
    if real != real_root and real_root not in real.parents:
        raise UserError(field, f"{value!r} resolves outside the dataset ({real})")
    return path
