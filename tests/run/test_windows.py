"""Long clips made in windows of frames (run/windows.py): the same rows, video and labels as the whole
clip, one window in memory at a time."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

import synthdata
from synthdata.errors import UserError
from synthdata.annotate import LABEL_KINDS, LabelKind, label_context, maps_read
from synthdata.io.layout import Layout
from synthdata.io.sinks import SINKS
from synthdata.render.backend import Backend, make_backend
from synthdata.run.memory import clip_bytes
from synthdata.run.shard import ShardJob, run_shard
from synthdata.run.windows import window_frames
from tests.conftest import make_tiny_clip, run_cli, tiny_spec

SMALL = ["clip.frames=11", "clip.width=32", "clip.height=24", "backend.frame_batch=2"]


def _bits(table: pa.Table) -> bytes:
    """The table's values bit for bit (NaN flows included), whatever its row groups."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table.combine_chunks())
    return sink.getvalue().to_pybytes()


def _shard(spec, out, window_pixels):
    job = ShardJob(spec=spec, recipe_hash=spec.content_hash(), out=str(out), num_clips=2, shard_size=2,
                   window_pixels=window_pixels)
    run_shard(job, 0)
    return Layout(out)


@pytest.mark.parametrize("recipe,extra", [
    ("shapes", ["annotations.normals=true"]),
    ("highway", ["annotations.road=true", "annotations.lane=true", "annotations.lane_lines=true"]),
    ("pedestrians", []),  # swinging legs: part motion accumulates over the clip; keypoints read it
    ("night_rain", []),  # auto-exposure (scene meter) adapts frame after frame: its state is carried
    ("colonoscopy", []),  # the sensor meter's closed loop, a field stop, a fisheye lens, the lumen march
    ("shapes", ["+backend.sensor_noise={shot: 0.05, read: 0.02}"]),  # a noise stream per frame
    # a rolling shutter: each batch's bands at their own instants; labels projected at the rows' instants
    ("highway", ["backend.rolling_shutter=0.6", "backend.rolling_bands=3", "annotations.road=true",
                 "annotations.lane_lines=true"]),
    ("pedestrians", ["backend.rolling_shutter=0.5"]),  # keypoints at the rows' instants, swinging legs
])
def test_a_clip_made_in_windows_writes_what_the_whole_clip_writes(tmp_path, recipe, extra):
    spec = tiny_spec(recipe, *SMALL, *extra)
    assert label_context(spec.annotations) == 1  # flow_valid reads the next and the previous frame
    assert window_frames(spec, 32 * 24 * 4) == 4  # 11 frames: windows 0-3, 4-7, 8-10
    whole = _shard(spec, tmp_path / "whole", 2**30)
    windows = _shard(spec, tmp_path / "windows", 32 * 24 * 4)
    for table in ("clips", "frames", "objects"):
        a = pq.read_table(whole.part(table, 0))
        b = pq.read_table(windows.part(table, 0))
        assert a.num_rows > 0 and _bits(a) == _bits(b), table
    assert pq.ParquetFile(whole.part("frames", 0)).metadata.num_row_groups == 2  # a row group per clip …
    assert pq.ParquetFile(windows.part("frames", 0)).metadata.num_row_groups == 6  # … or per window
    for clip in ("000000", "000001"):
        a = (whole.root / "media" / f"{spec.name}-{clip}.mp4").read_bytes()
        assert a == (windows.root / "media" / f"{spec.name}-{clip}.mp4").read_bytes()


def test_windows_of_one_frame(tmp_path):
    """The shortest windows: every frame waits for the next one to be labelled (flow_valid's context)."""
    spec = tiny_spec("shapes", "clip.frames=5", "clip.width=32", "clip.height=24", "backend.frame_batch=1")
    assert window_frames(spec, 32 * 24) == 1
    whole, windows = _shard(spec, tmp_path / "whole", 2**30), _shard(spec, tmp_path / "windows", 32 * 24)
    for table in ("clips", "frames", "objects"):
        assert _bits(pq.read_table(whole.part(table, 0))) == _bits(pq.read_table(windows.part(table, 0))), table
    for clip in ("000000", "000001"):
        assert (whole.root / "media" / f"shapes-{clip}.mp4").read_bytes() == \
            (windows.root / "media" / f"shapes-{clip}.mp4").read_bytes()


def test_which_recipes_are_made_in_windows():
    long = ["clip.frames=400", "clip.width=64", "clip.height=64"]
    assert window_frames(tiny_spec("shapes", *long)) == 0  # 1.6 M pixels: whole clips
    n = window_frames(tiny_spec("shapes", *long), 64 * 64 * 100)
    assert n == 96 and n % 8 == 0  # whole trace batches (frame_batch 8)
    assert window_frames(tiny_spec("shapes", *long), 64 * 64 * 3) == 8  # at least one batch
    assert window_frames(tiny_spec("shapes", *long), 64 * 64 * 450) == 0  # the clip fits
    assert window_frames(tiny_spec("shapes", *long, "annotations.tracks.enabled=true"), 64 * 64 * 100) == 0  # whole clip
    assert window_frames(tiny_spec("shapes", *long, "backend.rolling_shutter=0.5"), 64 * 64 * 100) == 96  # batch-local
    noisy = tiny_spec("shapes", *long, "+backend.sensor_noise={shot: 0.01, read: 0.002}")
    assert window_frames(noisy, 64 * 64 * 100) == 96  # a noise stream per frame
    assert window_frames(tiny_spec("colonoscopy", *long), 64 * 64 * 100) == 96  # auto-exposure carries its state
    SINKS.register("wholeclip_test_sink", lambda *a, **k: None)  # a sink that does not say takes_windows
    try:  # gets whole clips, and the memory estimate counts them whole
        spec = tiny_spec("shapes", *long, "output.sink=wholeclip_test_sink")
        assert window_frames(spec, 64 * 64 * 100) == 0 and clip_bytes(spec, 64 * 64 * 100) == clip_bytes(spec, 2**40)
    finally:
        SINKS._items.pop("wholeclip_test_sink")
    LABEL_KINDS.register("contextless_test_kind", LabelKind(name="contextless_test_kind", table="objects",
                                                            compute=lambda frames, scene, traj: None))
    try:  # a kind that does not say which frames it reads is labelled on whole clips
        spec = tiny_spec("shapes", *long, "+annotations.contextless_test_kind=true")
        assert label_context(spec.annotations) is None and window_frames(spec, 64 * 64 * 100) == 0
    finally:
        LABEL_KINDS._items.pop("contextless_test_kind")


def test_the_memory_estimate_of_a_windowed_clip_does_not_grow_with_its_length():
    short, long = (tiny_spec("highway", f"clip.frames={t}", "clip.width=640", "clip.height=360") for t in (250, 1000))
    assert clip_bytes(short) == clip_bytes(long)
    assert clip_bytes(long, 2**40) > 3 * clip_bytes(long)  # whole clips: it does
    tracks = tiny_spec("highway", "clip.frames=1000", "clip.width=640", "clip.height=360",
                       "annotations.tracks.enabled=true")
    assert clip_bytes(tracks) > 3 * clip_bytes(long)


def test_a_dataset_of_windowed_clips_reads_as_the_whole_clips(tmp_path):
    """The real run (generate → manifest → reader): a windowed dataset verifies, and every clip reads
    back as the whole-clip dataset's (maps, labels, video)."""
    over = [*SMALL, "device=cpu"]
    synthdata.generate("shapes", clips=2, out=tmp_path / "a", overrides=over, progress=False, compute={"name": "sync"})
    synthdata.generate("shapes", clips=2, out=tmp_path / "b", overrides=over, progress=False,
                       compute={"name": "sync", "window_pixels": 32 * 24 * 4})
    a, b = (synthdata.open_dataset(tmp_path / d, verify="full") for d in "ab")
    assert pq.ParquetFile(b.layout.part("frames", 0)).metadata.num_row_groups == 3  # 3 windows of clip 0
    for ca, cb in zip(a, b):
        assert cb.frames().column("frame_index").to_pylist() == list(range(11))
        for name in ("depth", "flow_fwd", "instance", "flow_valid"):
            assert np.array_equal(ca.map(name), cb.map(name), equal_nan=name != "instance"), name
        assert ca.objects().equals(cb.objects()) and np.array_equal(ca.video(), cb.video())


@pytest.mark.parametrize("value", ["0", "lots", "true", "-5"])
def test_bad_window_pixels_names_the_field(value, tmp_path):
    r = run_cli("generate", "recipe=shapes", "clips=1", f"out={tmp_path / 'd'}", "clip.frames=4", "clip.width=32",
                "clip.height=32", "device=cpu", f"compute.window_pixels={value}")
    assert r.returncode == 2 and "compute.window_pixels" in r.stderr and "auto" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "d").exists()


def test_a_backends_window_is_its_clips_frames():
    """The ray-caster's own windows (traced in the clip's batches) and the base class's default (the
    whole clip, cut) give the clip's frames, every field."""
    spec = tiny_spec("shapes", *SMALL)
    backend = make_backend(spec.backend, "cpu")
    backend.keep = maps_read(spec.annotations)  # as on the shard path: amodal maps reduced to coverage
    clip = make_tiny_clip(spec)
    want = backend.render(clip.scene, clip.traj).frames(3, 8)
    for f in (backend.render_window(clip.scene, clip.traj, 3, 8), Backend.render_window(backend, clip.scene, clip.traj, 3, 8)):
        assert f.num_frames == 5 and f.coverage is not None
        for name in ("rgb", "instance", "depth", "flow_fwd", "flow_bwd"):
            assert torch.equal(getattr(f, name).nan_to_num(), getattr(want, name).nan_to_num()), name
        for name in ("boxes", "pixels", "border"):
            assert torch.equal(getattr(f.coverage, name).nan_to_num(), getattr(want.coverage, name).nan_to_num()), name


def test_a_windowed_clip_reports_progress_window_by_window(tmp_path):
    """A long clip moves the bar as its windows are written, not once at its end: the shard reports the
    fraction of the clip written after each window (11 frames in windows of 4: labelled 3, 7, 11)."""
    from synthdata.run.events import listen_clips

    spec = tiny_spec("shapes", *SMALL)
    job = ShardJob(spec=spec, recipe_hash=spec.content_hash(), out=str(tmp_path), num_clips=2, shard_size=2,
                   window_pixels=32 * 24 * 4, progress_topic="t-windows")
    seen: list[tuple[int, float]] = []
    with listen_clips("t-windows", lambda s, n: seen.append((s, n))):
        run_shard(job, 0)
    assert seen == [(0, 3 / 11), (0, 7 / 11), (0, 1), (0, 1 + 3 / 11), (0, 1 + 7 / 11), (0, 2)]
    assert isinstance(seen[2][1], int)  # whole clips are reported as a count


def test_windows_encode_in_the_background_with_overlap(tmp_path, monkeypatch):
    """``compute.overlap``: a window is encoded and written in the writer's thread while the next one
    renders (GPU nodes encode MP4 on the CPU), and the shard is the same bytes as without overlap."""
    import threading

    from synthdata.io import video

    threads: set[str] = set()
    add = video.Mp4Writer.add

    def spy(self, frames):
        threads.add(threading.current_thread().name)
        return add(self, frames)

    monkeypatch.setattr(video.Mp4Writer, "add", spy)
    spec = tiny_spec("shapes", *SMALL)
    layouts = []
    for overlap in (False, True):
        job = ShardJob(spec=spec, recipe_hash=spec.content_hash(), out=str(tmp_path / str(overlap)), num_clips=2,
                       shard_size=2, window_pixels=32 * 24 * 4, overlap=overlap)
        run_shard(job, 0)
        layouts.append(Layout(tmp_path / str(overlap)))
        assert all(name.startswith("synthdata-encode") for name in threads) == overlap, threads
        threads.clear()
    for table in ("clips", "frames", "objects"):
        assert _bits(pq.read_table(layouts[0].part(table, 0))) == _bits(pq.read_table(layouts[1].part(table, 0)))
    for clip in ("000000", "000001"):
        assert (layouts[0].root / "media" / f"shapes-{clip}.mp4").read_bytes() == \
            (layouts[1].root / "media" / f"shapes-{clip}.mp4").read_bytes()


def test_dry_run_says_how_windows_were_rounded(tmp_path):
    """Windows are whole trace batches: ``--dry-run`` prints the pixels a window holds, not only the
    request (3072 asked at 32×24 with 2-frame batches → 4 frames, 3072; 1 asked → 2 frames, 1536)."""
    import json

    for asked, frames in ((3072, 4), (1, 2)):
        r = run_cli("generate", "recipe=shapes", "clips=1", f"out={tmp_path / 'd'}", *SMALL, "device=cpu",
                    f"compute.window_pixels={asked}", "--dry-run")
        assert r.returncode == 0, r.stderr
        memory = json.loads(r.stdout)["memory"]
        assert memory["window_frames"] == frames and memory["window_pixels"] == frames * 32 * 24
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("extra,why", [
    (["annotations.tracks.enabled=true"], "(made whole, not in windows: annotations.tracks reads the whole clip)"),
    ([], None),
    (["backend.rolling_shutter=0.5"], None),  # its bands are traced batch by batch: windows too
])
def test_a_memory_refusal_says_why_a_long_clip_is_not_made_in_windows(extra, why):
    """Found by a new-user review: the refusal never said that rolling shutter or point tracks force
    whole clips, the one thing that would have let the clip through."""
    from synthdata.run.compute import ComputeSpec
    from synthdata.run.memory import check_resources

    spec = tiny_spec("shapes", "clip.frames=280", "clip.width=1280", "clip.height=720", *extra)
    compute = ComputeSpec(name="sync")
    if why is None:  # made in windows: it fits where the whole clip would not
        check_resources(spec, compute, available=4 * 2**30)
        return
    with pytest.raises(UserError, match="need about") as info:
        check_resources(spec, compute, available=4 * 2**30)
    assert why in info.value.message, info.value.message
