"""The output directory is the user's: --overwrite deletes only what the dataset owns, an existing `out`
is never removed or recreated, and one run at a time holds it (real files, real processes, no mocks)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import synthdata
from synthdata.errors import UserError
from synthdata.io.layout import Layout
from synthdata.run.outdir import OutLock

from ..conftest import REPO, SYNC2, TINY, run_cli


def _gen(out: Path, *extra: str, **kw):
    return synthdata.generate("shapes", clips=3, out=out, overrides=[*TINY, *extra], compute=SYNC2,
                              progress=False, **kw)


def _hashes(out: Path) -> dict[str, str]:
    m = json.loads((out / "dataset.json").read_text())
    return {rel: h for s in m["shards"] for rel, h in s["files"].items()}


def _plant_user_files(out: Path) -> dict[Path, str]:
    files = {out / "notes.txt": "my notes", out / "src" / "train.py": "print('mine')",
             out / "my_labels" / "labels.json": "{}", out / "media" / "mine.txt": "not a video"}
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return files


def test_overwrite_refuses_and_keeps_every_file_the_dataset_does_not_own(tmp_path, tiny_dataset):
    out = tmp_path / "ds"
    shutil.copytree(tiny_dataset, out)
    before = _hashes(out)
    planted = _plant_user_files(out)
    with pytest.raises(UserError, match="--overwrite refused") as info:
        _gen(out, "seed=5", overwrite=True)
    assert info.value.field == "out" and "which the dataset does not own" in str(info.value)
    assert all(p.read_text() == text for p, text in planted.items())
    assert _hashes(out) == before  # the dataset itself is untouched too
    for p in planted:  # once they are moved away, --overwrite replaces only the dataset's own files
        p.unlink()
    for d in ("src", "my_labels"):
        (out / d).rmdir()
    _gen(out, "seed=5", overwrite=True)
    assert json.loads((out / "dataset.json").read_text())["seed"] == 5


def test_overwrite_keeps_the_directory_itself(tmp_path, tiny_dataset):
    out = tmp_path / "ds"
    shutil.copytree(tiny_dataset, out)
    os.chmod(out, 0o750)
    inode = out.stat().st_ino
    _gen(out, "seed=2", overwrite=True)
    assert out.stat().st_ino == inode and (out.stat().st_mode & 0o777) == 0o750


def test_overwrite_never_follows_a_hostile_manifest_outside(tmp_path, tiny_dataset):
    """A manifest listing ../victim is refused as unreadable; the victim survives."""
    out = tmp_path / "ds"
    shutil.copytree(tiny_dataset, out)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    m = json.loads((out / "dataset.json").read_text())
    m["shards"][0]["files"]["../victim.txt"] = "0" * 64
    (out / "dataset.json").write_text(json.dumps(m))
    with pytest.raises(UserError, match="not a file of this layout"):
        _gen(out, "seed=5", overwrite=True)
    assert victim.read_text() == "keep me"


def test_existing_empty_out_is_used_in_place(tmp_path):
    out = tmp_path / "mnt"
    out.mkdir(mode=0o700)
    os.chmod(out, 0o710)
    inode = out.stat().st_ino
    _gen(out)
    assert out.stat().st_ino == inode and (out.stat().st_mode & 0o777) == 0o710
    assert synthdata.open_dataset(out).info()["clips"] == 3


def test_out_dot_and_a_symlinked_out(tmp_path):
    here = tmp_path / "cwd"
    here.mkdir()
    r = run_cli("generate", "recipe=shapes", "clips=2", "out=.", "compute=sync", "progress=false", *TINY, cwd=here)
    assert r.returncode == 0, r.stderr
    assert (here / "dataset.json").is_file() and here.is_dir()
    target = tmp_path / "real"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    _gen(link)
    assert link.is_symlink() and (target / "dataset.json").is_file()


def test_a_refused_run_removes_only_the_folders_it_created(tmp_path):
    """A bad compute address fails after the lock made `out`: the new folders go, nothing else does."""
    (tmp_path / "keep.txt").write_text("x")
    out = tmp_path / "new" / "deeper"
    with pytest.raises(UserError, match="compute.address.*refused"):  # at once, not after Dask's 30 s retries
        synthdata.generate("shapes", clips=1, out=out, overrides=TINY, progress=False,
                           compute={"address": "tcp://127.0.0.1:9", "shard_size": 1})
    assert not (tmp_path / "new").exists() and (tmp_path / "keep.txt").exists()


def test_a_second_run_is_refused_while_the_first_holds_out(tmp_path):
    out = tmp_path / "busy"
    with OutLock(out):
        with pytest.raises(UserError, match=rf"being written by another synthdata run \(pid {os.getpid()} on ") as info:
            _gen(out, "seed=1")
        assert info.value.field == "out"
        assert [p.name for p in out.iterdir()] == [".synthdata.lock"]
    _gen(out)  # free again once the holder is gone (its lock file too)
    assert not Layout(out).lock.exists()


def test_two_concurrent_cli_runs_into_one_out(tmp_path):
    """Two real processes, different seeds: exactly one writes, the other exits 2 naming the holder,
    and the manifest describes the files that are there."""
    out = tmp_path / "race"
    args = ["generate", "recipe=shapes", "clips=4", f"out={out}", "compute.shard_size=1", "progress=false", *TINY]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen([sys.executable, "-m", "synthdata", *args, "seed=1"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    end = time.time() + 120
    while not Layout(out).lock.exists() and time.time() < end and first.poll() is None:
        time.sleep(0.01)
    second = run_cli(*args, "seed=2")
    _, err1 = first.communicate(timeout=300)
    assert first.returncode == 0, err1
    assert second.returncode == 2 and "being written by another synthdata run" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1 and "Traceback" not in second.stderr
    assert run_cli("verify", str(out)).returncode == 0
    assert json.loads((out / "dataset.json").read_text())["seed"] == 1


def test_a_file_written_while_the_cluster_starts_survives(tmp_path):
    """No check-then-act window: a file dropped into the empty `out` after the run began is never lost."""
    out = tmp_path / "empty"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "synthdata", "generate", "recipe=shapes", "clips=2", f"out={out}",
                             "compute.workers=1", "progress=false", *TINY], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    end = time.time() + 120
    while not Layout(out).lock.exists() and time.time() < end and proc.poll() is None:
        time.sleep(0.005)
    (out / "arrived.txt").write_text("mine")
    _, err = proc.communicate(timeout=300)
    assert (out / "arrived.txt").read_text() == "mine"
    # either the run saw the file (one line, exit 2) or it had already claimed the folder as a dataset
    assert proc.returncode in (0, 2), err
    if proc.returncode == 2:
        assert "is not empty and is not a synthdata dataset" in err and "Traceback" not in err


# --- fuzz: whatever is in `out` beforehand, a run succeeds or refuses in one line, and loses nothing ---

from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from synthdata.io.ownership import _owned_dir  # noqa: E402

NAMES = st.sampled_from(["notes.txt", "dataset.json", "recipe.yaml", "README.md", "media", "clips", "media/a.mp4",
                         "clips/part-00000.parquet", "src/x.py", ".staging", ".synthdata.lock", "fiftyone/x.png",
                         "objects/part-00007.parquet", "preview.png", "media/../escape.txt"])
CONTENT = st.sampled_from([b"", b"user data", b"{}", b'{"format": "synthdata-dataset"}', b"\x00\xff"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(st.tuples(NAMES, CONTENT, st.sampled_from(["file", "dir", "symlink"])), max_size=4),
       overwrite=st.booleans(), with_dataset=st.booleans())
@example(entries=[(".staging", b"", "dir")], overwrite=True, with_dataset=True)  # the layout's own (empty) folder
def test_fuzz_out_states(tiny_dataset, tmp_path_factory, entries, overwrite, with_dataset):
    base = tmp_path_factory.mktemp("outs")
    out = base / "out"
    if with_dataset:
        shutil.copytree(tiny_dataset, out)
    else:
        out.mkdir()
    outside = base / "outside.txt"
    outside.write_bytes(b"outside")
    for name, content, kind in entries:
        path = out / name
        if path.exists() or path.is_symlink() or not path.resolve().is_relative_to(base):
            continue
        if any(p.exists() and not p.is_dir() for p in path.parents):  # e.g. a file `media`, then `media/a.mp4`
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "dir":
            path.mkdir()
        elif kind == "symlink":
            path.symlink_to(outside)
        else:
            path.write_bytes(content)
    def owned(p: Path) -> bool:  # the layout's folders (staging, media, …) and files; never a link
        rel = p.relative_to(out).as_posix()
        return not p.is_symlink() and (_owned_dir(rel) if p.is_dir() else Layout.owns(rel))

    before = {p: (p.read_bytes() if p.is_file() and not p.is_symlink() else None) for p in out.rglob("*") if not owned(p)}
    try:
        synthdata.generate("shapes", clips=1, out=out, overrides=[*TINY, "seed=3"], compute={"name": "sync"},
                           progress=False, overwrite=overwrite)
    except UserError as exc:
        assert "\n" not in str(exc)
    assert outside.read_bytes() == b"outside"
    for p, content in before.items():  # every file the dataset does not own is still there, unchanged
        assert p.exists() or p.is_symlink(), p
        if content is not None:
            assert p.read_bytes() == content


@pytest.mark.parametrize("greeting", [b"SSH-2.0-OpenSSH_9.2\r\n", b""], ids=["ssh-banner", "silent-http"])
def test_a_service_that_is_not_a_dask_scheduler_is_one_line_at_once(tmp_path, greeting):
    """Found by a review: ``compute.address`` at an SSH server gave a 20-frame traceback (Dask read its
    banner as a 2.8 EiB frame); at an HTTP server (silent until asked) the run hung for minutes. A
    scheduler speaks first: the probe reads its handshake header within 5 s."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    held = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            conn.sendall(greeting)

    threading.Thread(target=serve, daemon=True).start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(UserError, match=r"compute.address.*not a Dask scheduler"):
            synthdata.generate("shapes", clips=1, out=tmp_path / "d", overrides=TINY, progress=False,
                               compute={"address": f"tcp://127.0.0.1:{port}", "shard_size": 1})
    finally:
        server.close()
        for c in held:
            c.close()
    assert time.perf_counter() - t0 < 20 and not (tmp_path / "d").exists()


@pytest.mark.parametrize("rel", ["media/holiday.mp4", "clips/part-00099.parquet", "fiftyone/depth/myproj/000001.png"])
def test_overwrite_keeps_a_users_file_named_like_the_datasets_own(tmp_path, tiny_dataset, rel):
    """Found by a review: ownership went by the file name's pattern alone, so --overwrite deleted a user's
    ``media/holiday.mp4``. The dataset owns what its manifest lists and the files of the shards and
    clips it plans (recipe name, clip count); anything else is the user's and --overwrite refuses."""
    out = tmp_path / "ds"
    shutil.copytree(tiny_dataset, out)
    mine = out / rel
    mine.parent.mkdir(parents=True, exist_ok=True)
    mine.write_bytes(b"precious")
    with pytest.raises(UserError, match=rf"--overwrite refused: .*{rel}"):
        _gen(out, "seed=5", overwrite=True)
    assert mine.read_bytes() == b"precious"


def test_a_resume_never_writes_through_a_linked_folder(tmp_path, tiny_dataset):
    """Found by a review: with ``media`` (or a table's folder) a link to another folder, a resume wrote the
    clips' MP4s there, over that folder's files; verify said ok. Both now refuse."""
    out, victim = tmp_path / "ds", tmp_path / "victim"
    shutil.copytree(tiny_dataset, out)
    m = json.loads((out / "dataset.json").read_text())
    m["shards"], m["complete"] = m["shards"][:1], False  # a run to resume
    (out / "dataset.json").write_text(json.dumps(m))
    (out / "media").rename(victim)
    (out / "media").symlink_to(victim)
    theirs = {p: p.read_bytes() for p in victim.iterdir()}
    r = run_cli("verify", str(out))
    assert r.returncode != 0 and "outside the dataset" in r.stdout + r.stderr
    with pytest.raises(UserError, match=r"media is a symbolic link"):
        _gen(out)
    assert {p: p.read_bytes() for p in victim.iterdir()} == theirs


def test_a_run_killed_in_its_first_writes_can_be_run_again(tmp_path, tiny_dataset):
    """Found by a review: killed between recipe.yaml and the manifest (or inside the manifest's atomic
    write) a run left a folder every rerun refused ("not a synthdata dataset", --overwrite too). The
    manifest is written first now, and a folder holding only synthdata's temp files starts afresh."""
    out = tmp_path / "ds"
    out.mkdir()
    (out / ".synthdata.lock").write_text("")
    (out / ".dataset.json.a1b2c3.tmp").write_text('{"format": "synthdata-da')  # the killed atomic write
    _gen(out)
    assert not list(out.glob(".*.tmp")) and synthdata.open_dataset(out).manifest.complete
    (out / "recipe.yaml").unlink()  # killed after the manifest, before recipe.yaml: a resume writes it
    m = json.loads((out / "dataset.json").read_text())
    m["shards"], m["complete"] = m["shards"][:1], False
    (out / "dataset.json").write_text(json.dumps(m))
    _gen(out)
    assert (out / "recipe.yaml").is_file() and synthdata.open_dataset(out).manifest.complete


def test_a_staging_symlink_is_never_followed(tmp_path, tiny_dataset):
    out = tmp_path / "ds"
    shutil.copytree(tiny_dataset, out)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    (out / ".staging").symlink_to(victim, target_is_directory=True)
    with pytest.raises(UserError, match="symbolic link"):
        _gen(out)
    assert (victim / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("dataset", [True, False])
def test_a_lock_file_that_is_a_symlink_is_never_written_through(tmp_path, tiny_dataset, dataset):
    """Found by test_fuzz_out_states: a `.synthdata.lock` linking outside made the run truncate and
    write its pid into the file the link pointed at."""
    out = tmp_path / "ds"
    if dataset:
        shutil.copytree(tiny_dataset, out)
    else:
        out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    (out / ".synthdata.lock").symlink_to(victim)
    with pytest.raises(UserError, match=r"^out: .*\.synthdata\.lock is a symbolic link"):
        _gen(out)
    assert victim.read_text() == "mine" and (out / ".synthdata.lock").is_symlink()


def test_temp_files_of_a_killed_write_are_cleaned_by_the_rerun(tmp_path, tiny_dataset):
    """A run killed inside an atomic write leaves its temp file beside the target (``.dataset.json.*.tmp``,
    also the card's ``.README.md.*.tmp`` / ``.preview.png.*.tmp``). Resuming removes them (they are the
    dataset's own), ``--overwrite`` does not call them foreign, and a symlink of that name is not
    followed or removed (it is no temp file synthdata made)."""
    out = tmp_path / "ds"
    shutil.copytree(tiny_dataset, out)
    before = _hashes(out)
    stale = [".dataset.json.4l5z5hnb.tmp", ".README.md.k2j3h4g5.tmp", ".preview.png.a1b2c3d4.tmp", ".recipe.yaml.x_y_z_12.tmp"]
    for name in stale:
        (out / name).write_bytes(b"")
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    (out / ".dataset.json.linklink.tmp").symlink_to(victim)
    _gen(out)
    assert not any((out / name).exists() for name in stale)
    assert (out / ".dataset.json.linklink.tmp").is_symlink() and victim.read_text() == "mine"
    (out / ".dataset.json.linklink.tmp").unlink()
    assert _hashes(out) == before  # the dataset itself untouched
    (out / ".README.md.k2j3h4g5.tmp").write_bytes(b"")
    _gen(out, "seed=5", overwrite=True)  # the card's temp file is the dataset's: overwrite goes ahead
    assert not (out / ".README.md.k2j3h4g5.tmp").exists()


def test_an_out_inside_a_datasets_staging_is_refused(tmp_path, tiny_dataset):
    """Found by a new-user review: `out=d1/.staging` (or an export's --out there) was accepted, and the
    next resume or --overwrite of d1 deleted the dataset made in it, without a word."""
    from synthdata.integrations.coco import export_coco

    d1 = tmp_path / "d1"
    shutil.copytree(tiny_dataset, d1)
    for out in (d1 / ".staging", d1 / ".staging" / "deeper" / "ds"):
        with pytest.raises(UserError, match=r"^out: .*inside the staging folder of the dataset"):
            _gen(out)
        assert not out.exists()
        with pytest.raises(UserError, match=r"^out: .*inside the staging folder of the dataset"):
            export_coco(d1, out)
        assert not out.exists()
    r = run_cli("generate", "recipe=shapes", f"out={d1 / '.staging'}", *TINY)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize("overwrite", [False, True])
def test_files_synthdata_did_not_stage_survive_a_resume_and_overwrite(tmp_path, tiny_dataset, overwrite):
    """`.staging` is cleared on every run, but only of the shard folders synthdata stages there
    (`shard-NNNNN-xxxxxxxx`); anything else is foreign: the run refuses and names it."""
    d1 = tmp_path / "d1"
    shutil.copytree(tiny_dataset, d1)
    (d1 / ".staging" / "mine").mkdir(parents=True)
    (d1 / ".staging" / "mine" / "keep.txt").write_text("mine")
    (d1 / ".staging" / "shard-00001-0a1b2c3d" / "clips").mkdir(parents=True)  # a killed run's: removed
    (d1 / ".staging" / "shard-00001-0a1b2c3d" / "clips" / "part-00001.parquet").write_text("x")
    with pytest.raises(UserError, match=r"^out: .*\.staging/mine/"):
        _gen(d1, overwrite=overwrite)
    assert (d1 / ".staging" / "mine" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_dataset_with_a_torn_manifest_is_refused_naming_out(tmp_path, tiny_dataset, overwrite):
    """Found by a new-user review: the refusal named the field `dataset` and gave no way on."""
    out = tmp_path / "torn"
    shutil.copytree(tiny_dataset, out)
    (out / "dataset.json").write_text("{bad")
    with pytest.raises(UserError, match=r"^out: .*dataset\.json: not a readable manifest.*move it away") as info:
        _gen(out, overwrite=overwrite)
    assert info.value.field == "out" and (out / "dataset.json").read_text() == "{bad"


def test_a_run_too_big_for_the_disk_is_refused_before_it_starts(tmp_path):
    """Found by a review: nothing compared the plan's size with the free space (a 24 MB run on a 64 kB
    disk started, then failed shard by shard)."""
    r = run_cli("generate", "recipe=shapes", "clips=10000000", f"out={tmp_path / 'big'}", "compute=sync")
    assert r.returncode == 2 and r.stderr.startswith("error: out: 10000000 clips need about"), r.stderr
    assert re.search(r"need about [\d.]+ (GiB|TiB), but .* has [\d.]+ (B|KiB|MiB|GiB|TiB) free", r.stderr), r.stderr
    assert not (tmp_path / "big").exists()


@pytest.mark.parametrize("recipe", ["shapes", "highway"])
def test_the_plans_size_is_about_what_a_small_run_writes(tmp_path, recipe):
    """Found by a review: the estimate counted pixels only, 2.5–3.5× under what small runs write (the
    card's preview, the manifest, Parquet footers), so the disk check let runs start that could not
    finish; and its message said "0.00 GiB"."""
    from synthdata.run.plan import make_plan

    args = [*TINY, "clip.width=64", "clip.height=64"]
    out = tmp_path / "d"
    synthdata.generate(recipe, clips=2, out=out, overrides=args, compute=SYNC2, progress=False)
    written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    estimate = make_plan(synthdata.load_recipe(recipe, args), 2, tmp_path / "x", 2).estimated_bytes
    assert 0.7 * written < estimate < 1.5 * written, (estimate, written)


def _mount_tmpfs(where: Path, size: str) -> Path:
    """A real small disk at ``where`` (root only: skipped where mounting is not allowed); unmount it after."""
    where.mkdir(parents=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (not root)")
    return where


@pytest.fixture
def small_disk(tmp_path):
    """A 600 kB tmpfs."""
    mnt = _mount_tmpfs(tmp_path / "small", "600k")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_a_full_disk_is_one_line_and_keeps_what_was_committed(small_disk):
    """Found by a review: a disk filling up mid-run printed a traceback per shard (retried), or hid the
    cause ("ArrowInvalid: Operation on closed file"); the card's PIL error was uncaught."""
    out = small_disk / "d"
    r = run_cli("generate", "recipe=shapes", "clips=6", f"out={out}", "compute=sync", "compute.shard_size=1",
                "compute.force=true", "clip.frames=4", "clip.width=64", "clip.height=64", "device=cpu")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.startswith("error:")]
    assert lines == [ln for ln in r.stderr.strip().splitlines() if ln.strip()][-1:] and len(lines) == 1, r.stderr
    assert lines[0].startswith("error: out: no space left on the device of") and "re-run" in lines[0]
    m = json.loads((out / "dataset.json").read_text())
    assert 0 < len(m["shards"]) < 6 and not m["complete"]


def test_a_dangling_link_as_out_is_refused_and_nothing_is_made_where_it_points(tmp_path):
    """Found by a review: ``out`` a link to a missing folder: the run made that folder (and its parents),
    wherever the link pointed."""
    target = tmp_path / "nowhere" / "dir"
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(UserError, match=r"^out: .*symbolic link to .*does not exist"):
        _gen(tmp_path / "link")
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("size", ["120k", "180k", "220k"])
def test_a_disk_filling_at_any_step_is_one_line_and_a_rerun_finishes(tmp_path, size):
    """Found by a review, filling a disk of each size: the manifest write after a shard was committed
    raised a traceback (180k), and the card's warning itself crashed (``logger()``, 220k), leaving the
    finished run incomplete on every rerun. Each size: one line (exit 1) or done with a warning
    (exit 0); moved to a larger disk, the same command finishes and verifies."""
    mnt = _mount_tmpfs(tmp_path / "small", size)
    try:
        out = mnt / "d"
        args = ["recipe=shapes", "clips=1", "compute=sync", "compute.force=true", "clip.frames=4", "clip.width=64",
                "clip.height=64", "device=cpu", "progress=false"]
        r = run_cli("generate", *args, f"out={out}")
        assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr
        if r.returncode == 1:
            lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
            assert len(lines) == 1 and lines[0].startswith("error: out: no space left on the device of"), r.stderr
        else:
            assert "dataset card (README.md, preview.png) could not be written" in r.stderr
            assert json.loads((out / "dataset.json").read_text())["complete"]
        assert not (out / ".staging").exists() or not any((out / ".staging").iterdir())
        moved = tmp_path / "big" / "d"
        moved.parent.mkdir()
        shutil.copytree(out, moved, symlinks=True)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
    r = run_cli("generate", *args, f"out={moved}")
    assert r.returncode == 0, r.stderr
    assert run_cli("verify", str(moved)).returncode == 0 and (moved / "README.md").is_file()


def test_a_shard_failure_crosses_processes_without_its_chain(tmp_path):
    """Found by a review: on a full disk a Dask worker's ShardFailed sometimes reached the driver as a
    plain ``Exception('ShardFailed(…)')`` — Dask pickles an exception's chain (tblib) and the chained
    pyarrow error did not round-trip — so the no-space line became "writing failed: Exception: …".
    ``run_shard`` raises it unchained; through Dask's own error packing it comes back a ShardFailed."""
    from distributed.core import error_message
    from distributed.protocol import pickle as dask_pickle

    from synthdata.run.shard import ShardFailed, ShardJob, run_shard

    mnt = _mount_tmpfs(tmp_path / "small", "100k")
    try:
        spec = synthdata.load_recipe("shapes", ["clip.frames=4", "clip.width=64", "clip.height=64", "device=cpu"])
        out = mnt / "d"
        (out / ".staging").mkdir(parents=True)
        job = ShardJob(spec=spec, recipe_hash="0" * 64,
                       out=str(out), num_clips=1, shard_size=1)
        with pytest.raises(ShardFailed) as info:
            run_shard(job, 0)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
    exc = info.value
    assert exc.no_space and exc.__context__ is None and exc.__cause__ is None
    back = dask_pickle.loads(error_message(exc)["exception"].data)  # what the driver unpacks
    assert isinstance(back, ShardFailed) and back.no_space


@pytest.mark.parametrize("fmt", ["coco", "mot"])
def test_an_export_onto_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, tiny_dataset, fmt):
    """Found by a review: ``export`` onto a full disk ended in a traceback (files.py)."""
    mnt = _mount_tmpfs(tmp_path / "small", "20k")
    try:
        r = run_cli("export", str(tiny_dataset), "--format", fmt, "--out", str(mnt / "e"))
        left = list(mnt.iterdir())
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines() == [f"error: --out: no space left on the device of {mnt / 'e'}; nothing of this "
                                             "export was kept. Free space and run it again"], r.stderr
    assert left == []


def test_a_failed_run_says_why_from_python(tmp_path, monkeypatch):
    """Found by a docs review: from Python a failed run said only "1 shard(s) failed in …"; the cause
    was in ``.failures``."""
    from synthdata.run.generate import GenerationFailed

    monkeypatch.setenv("SYNTHDATA_POISON_CLIPS", "0")
    with pytest.raises(GenerationFailed, match=r"^1 shard\(s\) failed in .*: shard 0: clip shapes-000000 .*poisoned"):
        synthdata.generate("shapes", clips=1, out=tmp_path / "d", overrides=TINY, compute=SYNC2, progress=False)


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_users_file_inside_a_staged_shard_folder_survives(tmp_path, tiny_dataset, overwrite):
    """Found by a security review: a rerun removed ``.staging/shard-…`` folders whole, with whatever a
    user had put inside. Only the writer's own files (part files, MP4s) are synthdata's there."""
    d1 = tmp_path / "d1"
    shutil.copytree(tiny_dataset, d1)
    mine = d1 / ".staging" / "shard-00042-deadbeef" / "sub" / "thesis.tex"
    mine.parent.mkdir(parents=True)
    mine.write_text("precious")
    with pytest.raises(UserError, match=r"^out: .*\.staging/shard-00042-deadbeef/sub"):
        _gen(d1, overwrite=overwrite)
    assert mine.read_text() == "precious"


def test_overwrite_never_claims_a_users_file_by_a_forged_manifests_names(tmp_path, tiny_dataset):
    """Found by a security review: a manifest saying ``recipe_name: VID``, ``num_clips: 1000`` made every
    ``media/VID-000123.mp4`` of the user's "planned" and --overwrite deleted them. A planned clip's
    unlisted MP4 is the dataset's only when it carries synthdata's mark (a killed commit's leftover)."""
    out = tmp_path / "ds"
    shutil.copytree(tiny_dataset, out)
    m = json.loads((out / "dataset.json").read_text())
    m.update(recipe_name="VID", num_clips=1000, complete=False, shards=[])
    (out / "dataset.json").write_text(json.dumps(m))
    shutil.rmtree(out / "media")
    mine = out / "media" / "VID-000123.mp4"
    mine.parent.mkdir()
    _users_video(mine)  # a real MP4 of the user's (no synthdata mark)
    before = mine.read_bytes()
    with pytest.raises(UserError, match=r"--overwrite refused: .*media/VID-000123\.mp4"):
        _gen(out, "seed=5", overwrite=True)
    assert mine.read_bytes() == before


def _users_video(path: Path) -> None:
    import av
    import numpy as np

    with av.open(str(path), mode="w", format="mp4") as c:
        s = c.add_stream("libx264", rate=12)
        s.width = s.height = 32
        s.pix_fmt = "yuv420p"
        for i in range(3):
            f = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 40 * i, np.uint8), format="rgb24")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def test_a_killed_commits_unlisted_files_are_still_the_datasets(tmp_path):
    """The other side: a shard whose files were renamed into place but never listed (killed before the
    manifest) is the dataset's: --overwrite removes them, and a forged name is not needed to know it."""
    out = tmp_path / "ds"
    synthdata.generate("shapes", clips=4, out=out, overrides=TINY, compute=SYNC2, progress=False)
    m = json.loads((out / "dataset.json").read_text())
    dropped = m["shards"].pop()  # the manifest never heard of shard 1
    m["complete"] = False
    (out / "dataset.json").write_text(json.dumps(m))
    left = sorted(dropped["files"])
    assert all((out / rel).is_file() for rel in left) and any(rel.startswith("media/") for rel in left)
    synthdata.generate("shapes", clips=2, out=out, overrides=[*TINY, "seed=9"], compute=SYNC2, progress=False,
                       overwrite=True)
    assert not any((out / rel).exists() for rel in left)


def test_a_huge_or_misnamed_manifest_is_one_line(tmp_path, tiny_dataset, monkeypatch):
    """Found by a security review: a 500 MB dataset.json was read whole (1.1 GB) before it was refused;
    ``recipe_name`` (clip ids and file names come from it) took any string, escapes and ``../`` too."""
    import synthdata.io.manifest as manifest

    out = tmp_path / "ds"
    shutil.copytree(tiny_dataset, out)
    monkeypatch.setattr(manifest, "MAX_BYTES", 1000)
    with pytest.raises(UserError, match=r"^dataset: .*larger than 0 MiB"):
        synthdata.open_dataset(out)
    monkeypatch.undo()
    m = json.loads((out / "dataset.json").read_text())
    for name in ("../../ext/v", "a\x1b[31m"):
        (out / "dataset.json").write_text(json.dumps({**m, "recipe_name": name}))
        with pytest.raises(UserError, match=r"^dataset: .*recipe_name: expected a recipe name"):
            synthdata.open_dataset(out)
