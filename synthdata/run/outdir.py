"""The output directory: what a run may write, resume or delete there, and one run at a time.

Rules (docs/security.md): a run never removes a directory it did not create; ``--overwrite`` deletes
only files the layout owns (:meth:`Layout.owns`) and refuses, naming the file, when anything else is
there; an exclusive lock (``flock`` on ``<out>/.synthdata.lock``) is held for the whole run and the
checks are repeated under it, so there is no check-then-act window.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

from ..errors import UserError
from ..io.layout import TEMP_FILE, Layout
from ..errors import user_path
from ..io.safety import check_output_folder
from ..io.manifest import Manifest
from ..io.ownership import Owned, foreign_entries, linked_folders, remove_owned
from ..recipe.schema import RecipeSpec
from .plan import Plan

__all__ = ["OutLock", "foreign_entries", "prepare_out", "remove_owned"]


def prepare_out(plan: Plan, spec: RecipeSpec, overwrite: bool) -> tuple[Layout, Manifest | None]:
    """Decide what to do with ``out``, writing nothing: new, resume, or refuse.

    Returns the layout and the manifest to resume from (None for a fresh dataset). Raises
    :class:`UserError` for a directory that holds something else, a different run without
    ``--overwrite``, or an ``--overwrite`` that would delete a file the dataset does not own.
    """
    from ..io.reader import read_manifest

    root = user_path(plan.out, "out")
    check_output_folder(root, "out")
    if root.exists() and not root.is_dir():
        raise UserError("out", f"{root} exists and is not a directory")
    root = root.resolve()
    layout = Layout(root)
    OutLock.refuse_if_held(root)
    present = [p for p in root.iterdir() if p.name != ".synthdata.lock"] if root.is_dir() else []
    if present and all(TEMP_FILE.match(p.name) and p.is_file() and not p.is_symlink() for p in present):
        present = []  # a run killed in its first write (only its temp files): start afresh (they go)
    if present:
        if not layout.is_dataset():
            raise UserError("out", f"{root} is not empty and is not a synthdata dataset; choose an empty or new directory")
        try:
            old = read_manifest(layout)
        except UserError as exc:  # without its manifest nothing tells the dataset's files from anyone's
            raise UserError("out", f"{exc.message}; a dataset without a readable manifest can be neither resumed "
                                   "nor overwritten: move it away (or restore dataset.json) or choose another out") from None
        linked = linked_folders(layout)
        if linked:  # a resume (or an overwrite) would write through it, over whatever is there
            raise UserError("out", f"{root / linked[0]} is a symbolic link; a dataset's folders must be its own: move the "
                                   "link away (or replace it by the folder it points to)")
        same = (old.recipe_hash, old.seed, old.num_clips) == (plan.recipe_hash, plan.seed, plan.clips)
        same_shards = plan.shard_size_auto or old.shard_size == plan.shard_size  # auto resumes as planned
        if same and same_shards and not overwrite:
            staged = layout.foreign_staged()
            if staged:
                more = f" and {len(staged) - 1} more" if len(staged) > 1 else ""
                raise UserError("out", f"{root} holds {staged[0]!r}{more}, which synthdata did not stage there; "
                                       "every run clears .staging: move it away")
            return layout, old
        if same and not overwrite:
            raise UserError("out", f"{root} holds this run planned with shard size {old.shard_size}, not "
                                   f"{plan.shard_size}; leave compute.shard_size at auto (or set {old.shard_size}) "
                                   "to resume it, or pass --overwrite")
        if not overwrite:
            differs = [f"{what} {was} (this run: {now})" for what, was, now, same_value in (
                ("recipe", f"{old.recipe_name} {old.recipe_hash[:12]}", f"{spec.name} {plan.recipe_hash[:12]}",
                 old.recipe_hash == plan.recipe_hash),
                ("seed", old.seed, plan.seed, old.seed == plan.seed),
                ("clips", old.num_clips, plan.clips, old.num_clips == plan.clips)) if not same_value]
            raise UserError("out", f"{root} holds a different run: {', '.join(differs)}; pass --overwrite or choose "
                                   "another out")
        foreign = foreign_entries(layout, Owned.of(old, layout.root))
        if foreign:
            more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
            raise UserError("out", f"--overwrite refused: {root} holds {foreign[0]!r}{more}, which the dataset does "
                                   "not own; move it away or choose another out")
    probe = root if root.exists() else next(p for p in root.parents if p.exists())
    if not probe.is_dir():
        raise UserError("out", f"{probe} is a file, so {root} cannot be created")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError("out", f"{probe} is not writable")
    return layout, None


class OutLock:
    """Exclusive, non-blocking lock on ``out`` for the whole run; creates ``out`` (and parents) if
    missing and, on a failure before anything else was written, removes only what it created."""

    _held: set[Path] = set()  # lock files held by this process

    def __init__(self, root: Path):
        self.root = Path(root)
        self.path = Layout(self.root).lock
        self.created: list[Path] = []
        self.fd: int | None = None

    def __enter__(self) -> "OutLock":
        missing = [p for p in (self.root, *self.root.parents) if not p.exists()]
        for p in reversed(missing):
            try:
                p.mkdir()
                self.created.append(p)
            except FileExistsError:
                pass
            except OSError as e:  # the permission bits said yes (root; procfs, read-only mounts): one line
                self._cleanup()
                raise UserError("out", f"cannot create {p}: {e.strerror or e}") from None
        while True:
            try:  # never through a link: the lock file is truncated and written
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
            except OSError as e:
                self._cleanup()
                if e.errno == errno.ELOOP:
                    raise self._linked() from None
                raise UserError("out", f"cannot write in {self.root}: {e.strerror or e}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                self._cleanup()
                raise self._busy() from None
            try:  # the lock file may have been unlinked by its last holder between open and flock
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        self.fd = fd
        OutLock._held.add(self.path)
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())
        return self

    @classmethod
    def refuse_if_held(cls, root: Path) -> None:
        """Raise the 'in use' error when another process holds ``root``'s lock (creates nothing)."""
        lock = cls(root)
        if lock.path in cls._held:  # this process's own run
            return
        try:
            fd = os.open(lock.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise lock._linked() from None
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise lock._busy() from None
        finally:
            os.close(fd)

    def _linked(self) -> UserError:
        return UserError("out", f"{self.path} is a symbolic link; expected a synthdata lock file there "
                                "(remove the link)")

    def _busy(self) -> UserError:
        return UserError("out", f"{self.root} is being written by another synthdata run ({self.holder()}); "
                                "wait for it to finish or choose another out")

    def holder(self) -> str:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as f:
                info = json.loads(f.read(4096))
            return f"pid {int(info['pid'])} on {str(info['host'])[:64]} since {str(info['since'])[:32]}"
        except (OSError, ValueError, KeyError, TypeError):
            return "holder unknown"

    def _cleanup(self) -> None:
        for p in reversed(self.created):  # only folders this lock made, and only when empty
            try:
                p.rmdir()
            except OSError:
                break

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # still holding it: a waiter re-checks the inode
        finally:
            OutLock._held.discard(self.path)
            os.close(self.fd)
            self.fd = None
        if exc_type is not None:
            self._cleanup()
