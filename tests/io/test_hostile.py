"""Hostile datasets are data: ids and paths that try to leave the dataset (or the export folder) are
refused with one line, and nothing is written or read outside. Includes a hypothesis fuzz over damaged
manifests and Parquet parts."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import synthdata
from synthdata.errors import UserError
from synthdata.io.manifest import sha256_file

from ..conftest import run_cli


def _rewrite_clips(ds: Path, **columns) -> None:
    """Replace columns of the clips part of shard 0 and re-sign the manifest (a forger's dataset)."""
    path = ds / "clips" / "part-00000.parquet"
    t = pq.read_table(path)
    for name, values in columns.items():
        t = t.set_column(t.column_names.index(name), name, pa.array(values, t.schema.field(name).type))
    pq.write_table(t, path)
    _resign(ds)


def _resign(ds: Path) -> None:
    m = json.loads((ds / "dataset.json").read_text())
    for s in m["shards"]:
        for rel in s["files"]:
            p = ds / rel
            if p.is_file():
                s["files"][rel], s["sizes"][rel] = sha256_file(p), p.stat().st_size
    (ds / "dataset.json").write_text(json.dumps(m))


@pytest.fixture
def ds(tmp_path, tiny_dataset) -> Path:
    out = tmp_path / "sandbox" / "ds"
    shutil.copytree(tiny_dataset, out)
    return out


def _files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.mark.parametrize("fmt", ["mot", "coco"])
def test_traversing_clip_id_never_leaves_the_export_folder(ds, tmp_path, fmt):
    _rewrite_clips(ds, clip_id=["../../../escaped", "shapes-000001"])
    before = _files_under(tmp_path)
    r = run_cli("export", str(ds), "--format", fmt, "--out", str(tmp_path / "sandbox" / "exp"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "clips[0].clip_id: expected an id of letters" in r.stderr
    assert _files_under(tmp_path) == before  # nothing written anywhere


def test_absolute_or_foreign_video_path_is_never_read(ds, tmp_path):
    secret = tmp_path / "secret.mp4"
    shutil.copy(ds / "media" / "shapes-000000.mp4", secret)
    for bad in (str(secret), "../../secret.mp4", "media/shapes-000001.mp4"):
        _rewrite_clips(ds, video_path=[bad, "media/shapes-000001.mp4"])
        with pytest.raises(UserError, match=r"clips\[0\].video_path"):
            synthdata.open_dataset(ds).clip(0).video()


def test_fiftyone_export_refuses_a_traversing_id(ds):
    _rewrite_clips(ds, clip_id=["..", "shapes-000001"])
    with pytest.raises(UserError, match="clip_id"):
        synthdata.to_fiftyone(synthdata.open_dataset(ds), name="hostile-ids")
    assert not (ds / "fiftyone").exists()


def test_media_symlink_out_of_the_dataset_is_not_trusted(ds, tmp_path):
    target = tmp_path / "elsewhere.mp4"
    shutil.move(ds / "media" / "shapes-000000.mp4", target)
    (ds / "media" / "shapes-000000.mp4").symlink_to(target)
    with pytest.raises(UserError, match="not a regular file"):
        synthdata.open_dataset(ds)


# --- fuzz: a damaged or forged dataset gives a dataset or one UserError, nothing else -----------------

JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(),
                                 st.text(max_size=20), st.sampled_from(["../x", "/etc/passwd", "1.0", "1.1"])),
                       lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                       max_leaves=8)
MANIFEST_KEYS = ["format", "format_version", "num_clips", "shard_size", "class_names", "shards", "recipe",
                 "annotations", "complete", "seed"]
SHARD_KEYS = ["index", "clip_start", "clip_stop", "files", "rows", "sizes"]


def _consume(root: Path) -> None:
    """What a user does with a dataset: open, info, read every clip, export."""
    d = synthdata.open_dataset(root)
    d.info()
    for clip in d:
        clip.objects()
        clip.frames()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(MANIFEST_KEYS + [f"shards.0.{k}" for k in SHARD_KEYS]), value=JSONISH)
@example(key="class_names", value=[])  # found by this fuzz: the object rows' class check met an empty list
def test_fuzz_forged_manifest(tiny_dataset, tmp_path_factory, key, value):
    root = tmp_path_factory.mktemp("fz") / "ds"
    shutil.copytree(tiny_dataset, root)
    m = json.loads((root / "dataset.json").read_text())
    node, *path = key.split(".")
    if path:
        m["shards"][0][path[1]] = value
    else:
        m[node] = value
    (root / "dataset.json").write_text(json.dumps(m))
    outside = _files_under(root.parent.parent)
    try:
        _consume(root)
    except UserError as exc:
        assert "\n" not in str(exc)
    assert _files_under(root.parent.parent) == outside


COLUMN_VALUES = {
    "clip_id": st.one_of(st.text(max_size=12), st.sampled_from(["..", "../a", "/abs", "a/b", ".hidden", "ok-1"])),
    "video_path": st.one_of(st.text(max_size=20), st.sampled_from(["/etc/passwd", "../x.mp4", "media/../../x.mp4"])),
    "shard_index": st.integers(-5, 5),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(column=st.sampled_from(sorted(COLUMN_VALUES)), data=st.data(), truncate=st.integers(0, 3))
def test_fuzz_forged_parquet(tiny_dataset, tmp_path_factory, column, data, truncate):
    root = tmp_path_factory.mktemp("fz") / "ds"
    shutil.copytree(tiny_dataset, root)
    values = [data.draw(COLUMN_VALUES[column]) for _ in range(2)]
    _rewrite_clips(root, **{column: values})
    if truncate:  # and a torn objects part, re-signed so only the reader can catch it
        p = root / "objects" / "part-00000.parquet"
        p.write_bytes(p.read_bytes()[: p.stat().st_size // (truncate + 1)])
        _resign(root)
    watch = root.parent.parent  # the whole temp area: a traversal from export/ lands in here
    outside = _files_under(watch)
    export = root.parent / "export"
    try:
        _consume(root)
        from synthdata.integrations import export as run_export

        run_export(synthdata.open_dataset(root), "mot", export)
        assert all(".." not in p for p in _files_under(export))
    except UserError as exc:
        assert "\n" not in str(exc)
        assert not export.exists()
    mine = export.relative_to(watch).as_posix()
    assert all(p == mine or p.startswith(mine + "/") for p in _files_under(watch) - outside)


def _rewrite_objects(ds: Path, row: int, **values) -> None:
    """Set one row's values in the objects part of shard 0 and re-sign (a forger's dataset)."""
    path = ds / "objects" / "part-00000.parquet"
    t = pq.read_table(path)
    for name, value in values.items():
        col = t.column(name).to_pylist()
        col[row] = value
        t = t.set_column(t.column_names.index(name), name, pa.array(col, t.schema.field(name).type))
    pq.write_table(t, path, row_group_size=max(1, t.num_rows))
    _resign(ds)


def _refused_everywhere(root: Path, tmp_path: Path, pattern: str, cli: bool) -> None:
    """Each command a user runs on the dataset (through the CLI, or its Python API): one line (exit 2),
    nothing left behind."""
    if cli:
        for args in (["export", str(root), "--format", "mot", "--out", str(tmp_path / "m")],
                     ["export", str(root), "--format", "coco", "--out", str(tmp_path / "c")],
                     ["fiftyone", str(root), "--name", f"hostile-{tmp_path.name}"]):
            r = run_cli(*args)
            lines = r.stderr.strip().splitlines()
            assert r.returncode == 2 and len(lines) == 1 and re.search(pattern, lines[0]), (args, r.stderr[-2000:])
    else:
        from synthdata.integrations import export

        for fmt, out in (("mot", tmp_path / "m"), ("coco", tmp_path / "c")):
            with pytest.raises(UserError) as info:
                export(synthdata.open_dataset(root), fmt, out)
            assert re.search(pattern, str(info.value)) and "\n" not in str(info.value)
    assert not (tmp_path / "m").exists() and not (tmp_path / "c").exists()
    assert not (root / "fiftyone").exists()  # a failed FiftyOne build leaves none of its maps


@pytest.mark.parametrize("values,pattern,cli", [
    ({"class_name": "../x"}, r"class_name '\.\./x' is not one of the dataset's classes", True),
    ({"class_id": 99}, r"class_id does not match class_name", False),
    ({"mask_rle": "garbage!!"}, r"mask_rle holds something other than a COCO compressed RLE", True),
    ({"mask_rle": "0" * 100_000}, r"mask_rle holds something other than a COCO compressed RLE", False),
])
def test_forged_object_rows_are_one_line(ds, tmp_path, values, pattern, cli):
    """Found by a security review: an unknown class name was a KeyError traceback (MOT, FiftyOne), a
    garbage RLE a pycocotools traceback that left the FiftyOne maps written so far, and a mask string
    of any length went through (a 23 kB part made a 401 MB COCO file)."""
    visible = pq.read_table(ds / "objects" / "part-00000.parquet").column("visible_pixels").to_pylist()
    _rewrite_objects(ds, visible.index(next(v for v in visible if v)), **values)
    _refused_everywhere(ds, tmp_path, pattern, cli)


def test_a_clip_row_whose_size_does_not_fit_its_maps_is_one_line(ds, tmp_path):
    """Found by a security review: width = height = 2³¹−1 passed, then FiftyOne and evaluate failed
    with a traceback; 40 × 40 (not the maps' 32 × 32) does too."""
    n = pq.read_table(ds / "clips" / "part-00000.parquet").num_rows
    _rewrite_clips(ds, width=[2**31 - 1] * n, height=[2**31 - 1] * n)
    r = run_cli("info", str(ds))
    assert r.returncode == 2 and r.stderr.strip() == "error: clips[0].width: expected an integer in [1, 16384], got 2147483647"
    _rewrite_clips(ds, width=[40] * n, height=[40] * n)
    r = run_cli("evaluate", str(ds), "--seg-steps", "2")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "does not fit a 40×40 frame" in lines[0], r.stderr[-2000:]


def test_a_decompression_bomb_is_refused_before_it_is_read(ds, tmp_path):
    """Found by a security review: 400 MiB of one character in ``mask_rle`` zstd-compressed to a 23 kB
    part; export read it whole (3 GB) and wrote a 401 MB COCO file."""
    path = ds / "objects" / "part-00000.parquet"
    t = pq.read_table(path)
    col = t.column("mask_rle").to_pylist()
    col[0] = "a" * (80 << 20)
    t = t.set_column(t.column_names.index("mask_rle"), "mask_rle", pa.array(col, pa.string()))
    pq.write_table(t, path, compression="zstd")
    assert path.stat().st_size < 1 << 20
    _resign(ds)
    r = run_cli("export", str(ds), "--format", "coco", "--out", str(tmp_path / "c"))
    assert r.returncode == 2 and re.search(r"column mask_rle expands from .* to 80\.\d MiB", r.stderr), r.stderr[-1500:]
    assert not (tmp_path / "c").exists()
