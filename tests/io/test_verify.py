"""A shard is trusted only when its files match dataset.json: truncated, tampered, swapped and deleted
files are caught by `synthdata verify`, `open_dataset`, `info`, `export`, and remade on resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import synthdata
from synthdata.errors import UserError

from ..conftest import SYNC2, TINY, run_cli


def _hashes(out: Path) -> dict[str, str]:
    m = json.loads((out / "dataset.json").read_text())
    return {rel: h for s in m["shards"] for rel, h in s["files"].items()}


@pytest.fixture
def ds(tmp_path, tiny_dataset) -> Path:
    out = tmp_path / "ds"
    shutil.copytree(tiny_dataset, out)
    return out


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _flip_byte(p: Path) -> None:
    """Same size, different content: only a content hash sees it."""
    b = bytearray(p.read_bytes())
    b[len(b) // 2] ^= 0xFF
    p.write_bytes(bytes(b))


def _swap(a: Path, b: Path) -> None:
    tmp = a.with_suffix(".swap")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)


TAMPER = {
    "truncated parquet": (lambda d: _truncate(d / "objects" / "part-00001.parquet"), "objects/part-00001.parquet", "size"),
    "deleted video": (lambda d: (d / "media" / "shapes-000000.mp4").unlink(), "media/shapes-000000.mp4", "missing"),
    "swapped videos": (lambda d: _swap(d / "media" / "shapes-000000.mp4", d / "media" / "shapes-000002.mp4"),
                       "media/shapes-000000.mp4", "size"),
}


@pytest.mark.parametrize("name", list(TAMPER))
def test_quick_checks_refuse_a_damaged_dataset_and_resume_remakes_it(ds, tiny_dataset, name):
    tamper, rel, problem = TAMPER[name]
    tamper(ds)
    with pytest.raises(UserError, match="do not match dataset.json") as info:
        synthdata.open_dataset(ds)
    assert rel in str(info.value) or "file(s)" in str(info.value)
    r = run_cli("info", str(ds))
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    v = run_cli("verify", str(ds))
    assert v.returncode == 1 and f"mismatch: {rel}: {problem}" in v.stdout
    m = synthdata.generate("shapes", clips=3, out=ds, overrides=TINY, compute=SYNC2, progress=False)
    assert m.stats["shards_remade_after_verify"] and _hashes(ds) == _hashes(tiny_dataset)
    assert run_cli("verify", str(ds)).returncode == 0


def test_same_size_tampering_needs_the_full_check_and_export_does_it(ds, tmp_path, tiny_dataset):
    _flip_byte(ds / "media" / "shapes-000001.mp4")
    synthdata.open_dataset(ds)  # sizes match: the quick check passes
    with pytest.raises(UserError, match="content hash differs"):
        synthdata.open_dataset(ds, verify="full")
    r = run_cli("export", str(ds), "--format", "mot", "--out", str(tmp_path / "mot"))
    assert r.returncode == 2 and "content hash differs" in r.stderr and not (tmp_path / "mot").exists()
    assert run_cli("verify", str(ds), "--quick").returncode == 0
    v = run_cli("verify", str(ds))
    assert v.returncode == 1 and "media/shapes-000001.mp4: content hash differs (shard 0)" in v.stdout
    synthdata.generate("shapes", clips=3, out=ds, overrides=TINY, compute=SYNC2, progress=False)
    assert _hashes(ds) == _hashes(tiny_dataset) and run_cli("verify", str(ds)).returncode == 0


def test_verify_of_a_sound_dataset(tiny_dataset):
    r = run_cli("verify", str(tiny_dataset))
    assert r.returncode == 0 and r.stdout.startswith("ok: 9 files in 2 shards match")


def test_verify_says_when_a_dataset_is_incomplete(ds):
    """Found by a new-user review: an interrupted run's dataset (0 of 12 clips committed) verified as
    a bare "ok"; its files are sound, but the line must say the run is not finished."""
    m = json.loads((ds / "dataset.json").read_text())
    m["shards"], m["complete"] = m["shards"][:1], False
    (ds / "dataset.json").write_text(json.dumps(m))
    done = m["shards"][0]["clip_stop"] - m["shards"][0]["clip_start"]
    r = run_cli("verify", str(ds))
    assert r.returncode == 0 and r.stdout.startswith("ok: ")
    assert f"incomplete: {done} of {m['num_clips']} clips are committed" in r.stdout, r.stdout


def test_format_1_0_manifests_without_sizes_still_open(ds):
    m = json.loads((ds / "dataset.json").read_text())
    m["format_version"] = "1.0"
    for s in m["shards"]:
        s.pop("sizes")
    (ds / "dataset.json").write_text(json.dumps(m))
    assert len(synthdata.open_dataset(ds)) == 3
    (ds / "media" / "shapes-000000.mp4").unlink()  # existence is still checked
    with pytest.raises(UserError, match="missing"):
        synthdata.open_dataset(ds)


def test_a_manifest_marked_complete_with_shards_missing_is_refused(ds):
    """Found by a review: ``num_clips`` raised by a shard's worth in dataset.json (its shards and hashes
    untouched) verified as ok, and ``info`` said complete with clips missing."""
    m = json.loads((ds / "dataset.json").read_text())
    m["shards"] = m["shards"][:1]  # still "complete": a shard's clips are gone from the listing
    (ds / "dataset.json").write_text(json.dumps(m))
    r = run_cli("verify", str(ds))
    assert r.returncode == 2 and "marked complete with" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_swapped_parts_with_swapped_hashes_are_found(ds):
    """Found by a review: two shards' part files swapped, their hashes (and sizes) swapped in dataset.json
    too, verified as ok and reordered the clips. A shard's clips table must hold its own clips."""
    m = json.loads((ds / "dataset.json").read_text())
    a, b = (ds / "clips" / "part-00000.parquet"), (ds / "clips" / "part-00001.parquet")
    tmp = ds / "swap"
    a.rename(tmp), b.rename(a), tmp.rename(b)
    s0, s1 = m["shards"][0], m["shards"][1]
    for key in ("files", "sizes"):
        r0, r1 = "clips/part-00000.parquet", "clips/part-00001.parquet"
        s0[key][r0], s1[key][r1] = s1[key][r1], s0[key][r0]
    (ds / "dataset.json").write_text(json.dumps(m))
    r = run_cli("verify", str(ds))
    assert r.returncode == 1 and "not this shard's clips" in r.stdout, r.stdout + r.stderr
