"""FiftyOne with its real mongod, and the App in a real browser (Debian's Chromium via Playwright)."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import synthdata
from synthdata.errors import UserError
from synthdata.integrations.fiftyone import depth_from_inverse, from_fiftyone, import_fiftyone, to_fiftyone

from ..conftest import SYNC2, TINY, run_cli

fo = import_fiftyone()  # env from conftest: temp database dir, no tracking, no validation warning
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def fo_source(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fo") / "shapes_fo"
    synthdata.generate("shapes", clips=2, out=out, overrides=[*TINY, "clip.width=64", "clip.height=64",
                                                            "annotations.tracks.enabled=true",
                                                            "annotations.tracks.points=48"],
                       compute=SYNC2, progress=False)
    return out


@pytest.fixture(scope="module")
def fo_dataset(fo_source):
    """Built as ``synthdata fiftyone shapes_fo`` from the dataset's parent folder: the tests (and the
    App's server) then run from another directory, where relative map paths would not resolve."""
    here = os.getcwd()
    os.chdir(fo_source.parent)
    try:
        dataset = to_fiftyone(Path(fo_source.name), name="synthdata-test-shapes", overwrite=True)
    finally:
        os.chdir(here)
    yield dataset
    if fo.dataset_exists(dataset.name):
        fo.delete_dataset(dataset.name)


def test_mapping(fo_dataset, fo_source):
    ds = synthdata.open_dataset(fo_source)
    assert fo_dataset.media_type == "video" and fo_dataset.persistent and len(fo_dataset) == 2
    assert fo_dataset.default_classes == ["sphere", "cube", "cylinder"]
    assert fo_dataset.default_mask_targets[2] == "cube"
    sample = fo_dataset.first()
    row = ds.clip(0).row
    assert sample.clip_id == row["clip_id"] and sample.clip_seed == str(row["seed"]) and sample.split == row["split"] and sample.tags == [row["split"]]
    assert sample.metadata.frame_width == 64 and sample.metadata.total_frame_count == 4
    assert "counts" in sample.params
    assert set(sample.frames.keys()) == {1, 2, 3, 4}  # FiftyOne frames are 1-based
    frame = sample.frames[1]
    objs = [o for o in ds.clip(0).objects().to_pylist() if o["frame_index"] == 0]
    visible = [o for o in objs if o["visible_pixels"]]
    assert len(frame.detections.detections) == len(visible)
    for det in frame.detections.detections:
        o = next(o for o in visible if o["track_id"] == det.index)
        x0, y0, x1, y1 = o["bbox_visible"]
        np.testing.assert_allclose(det.bounding_box, [x0 / 64, y0 / 64, (x1 - x0) / 64, (y1 - y0) / 64])
        assert det.label == o["class_name"] and det.mask.shape == (y1 - y0, x1 - x0)
        assert int(det.mask.sum()) == o["visible_pixels"] and det.visible_fraction == pytest.approx(o["visible_fraction"])
    assert len(frame.amodal.detections) == sum(o["in_view"] for o in objs)
    assert Path(frame.segmentation.mask_path).is_file() and Path(frame.depth.map_path).is_file()
    assert fo_dataset.count("frames.detections.detections") == sum(
        o["visible_pixels"] > 0 for o in ds.objects.to_pylist())


def test_maps_load_from_any_directory(fo_dataset, fo_source):
    """mask_path/map_path are absolute, so get_mask()/get_map() (and the App's server) find them from any
    working directory; the segmentation is the semantic map, the depth heatmap decodes to metres."""
    clip = synthdata.open_dataset(fo_source).clip(0)
    semantic, depth = clip.map("semantic"), clip.map("depth")
    assert Path.cwd() != fo_source.parent
    for k, frame in sorted(fo_dataset.first().frames.items()):
        assert Path(frame.segmentation.mask_path).is_absolute() and Path(frame.depth.map_path).is_absolute()
        np.testing.assert_array_equal(frame.segmentation.get_mask(), semantic[k - 1])
        code = frame.depth.get_map()
        assert code.dtype == np.uint16 and frame.depth.encoding == "inverse_depth"
        got, d = depth_from_inverse(code, frame.depth.near_m), depth[k - 1]
        assert (np.isinf(got) == np.isinf(d)).all()
        near = frame.depth.near_m
        far = (d >= near) & (d <= 1000 * near)  # nearer than near_m saturates, and so does the horizon
        # 16-bit inverse depth: half a code step, relative error d / (near_m · 2 · 65535)
        rel = np.abs(got[far] - d[far]) / d[far]
        assert far.sum() > 1000 and (rel <= d[far] / (near * 2 * 65535) + 1e-5).all()


def test_depth_heatmap_spans_its_range(fo_dataset, fo_source):
    """The depth heatmap's values spread over its ``range`` (the App colours by it): not one flat colour.
    Codes of hit pixels: the 10th–90th percentile spread covers over a third of the range."""
    spreads = []
    for sample in fo_dataset:
        for frame in sample.frames.values():
            lo, hi = frame.depth.range
            code = frame.depth.get_map().astype(float)
            hit = np.clip(code[code > 0], lo, hi)  # 0 = sky / no hit, drawn transparent
            p10, p90 = np.percentile(hit, [10, 90])
            spreads.append((p90 - p10) / (hi - lo))
    assert min(spreads) > 1 / 3, spreads


def test_label_attributes_are_declared_for_the_app(fo_dataset):
    """Every per-label attribute is in the frame schema (the App's filter panel lists only declared fields)."""
    schema = fo_dataset.get_frame_field_schema(flat=True)
    kinds = {"detections.detections.occluded": fo.BooleanField, "detections.detections.truncated": fo.BooleanField,
             "detections.detections.visible_fraction": fo.FloatField, "detections.detections.truncation": fo.FloatField,
             "amodal.detections.occluded": fo.BooleanField,
             "tracks.keypoints.visible": fo.BooleanField, "tracks.keypoints.occluded_by": fo.IntField,
             "keypoints_cube.keypoints.visibility": fo.ListField, "depth.near_m": fo.FloatField}
    for path, kind in kinds.items():
        assert isinstance(schema.get(path), kind), (path, schema.get(path))
    for part in ("center", "size", "rotation"):
        assert isinstance(schema[f"detections.detections.box3d_{part}"], fo.ListField)
    assert not fo_dataset.get_dynamic_frame_field_schema()  # nothing left undeclared


def test_keypoints_and_point_tracks(fo_dataset, fo_source):
    """One keypoints field per class with its skeleton; point tracks as per-frame fo.Keypoints whose
    index is the track and whose visibility is the table's."""
    ds = synthdata.open_dataset(fo_source)
    cube = fo_dataset.skeletons["frames.keypoints_cube"]
    assert len(cube.labels) == 8 and len(cube.edges) == 12 and cube.labels == ds.skeletons["cube"]["keypoints"]
    objs = [o for o in ds.clip(0).objects().to_pylist() if o["frame_index"] == 1 and o["in_view"]]
    frame = fo_dataset.first().frames[2]
    got = [kp for name in ("sphere", "cube", "cylinder") if frame[f"keypoints_{name}"] is not None
           for kp in frame[f"keypoints_{name}"].keypoints]
    assert len(got) == len(objs)
    for kp in got:
        o = next(o for o in objs if o["track_id"] == kp.index)
        assert kp.visibility == [p["v"] for p in o["keypoints"]]
        for (x, y), p in zip(kp.points, o["keypoints"]):
            assert (np.isnan(x) and p["v"] == 0) or (x == pytest.approx(p["x"] / 64) and y == pytest.approx(p["y"] / 64))
    tracks = ds.clip(0).tracks().to_pandas()
    in_view = tracks[tracks.in_view & (tracks.frame_index == 1)]
    pts = frame.tracks.keypoints
    assert len(pts) == len(in_view) and sum(p.visible for p in pts) == int(in_view.visible.sum())
    p = pts[0]
    row = in_view[in_view.point_id == p.index].iloc[0]
    assert p.points[0] == pytest.approx([row.x / 64, row.y / 64]) and p.occluded_by == row.occluded_by
    all_tracks = ds.tracks.to_pandas()
    assert fo_dataset.count("frames.tracks.keypoints") == int(all_tracks.in_view.sum())
    from fiftyone import ViewField as F  # the query in docs/fiftyone.md

    behind = fo_dataset.filter_labels("frames.tracks", (F("visible") == False) & (F("occluded_by") >= 0))  # noqa: E712
    expected = all_tracks[all_tracks.in_view & ~all_tracks.visible & (all_tracks.occluded_by >= 0)]
    assert behind.count("frames.tracks.keypoints") == len(expected)


def test_round_trip_keeps_boxes_tracks_and_classes(fo_dataset, fo_source, tmp_path):
    back = from_fiftyone(fo_dataset, tmp_path / "back")
    src = synthdata.open_dataset(fo_source)

    def key(objs):
        return sorted((o["clip_id"], o["frame_index"], o["track_id"], o["class_name"],
                       tuple(round(v, 3) for v in o["bbox_visible"])) for o in objs if o["bbox_visible"] is not None
                      and (o.get("visible_pixels") or 0) > 0)

    assert key(back.objects.to_pylist()) == key(src.objects.to_pylist())
    assert back.class_names == src.class_names and len(back) == 2
    # found by a review: the split was dropped on import (and the error then blamed the format)
    assert back.clips.column("split").to_pylist() == src.clips.column("split").to_pylist()
    d, got = src.clip(0).map("depth"), back.clip(0).map("depth")  # the heatmaps read back as metres
    near = fo_dataset.first().frames[1].depth.near_m
    far = (d >= near) & (d <= 1000 * near)
    assert (np.isinf(got) == np.isinf(d)).all() and np.allclose(got[far], d[far], rtol=0.01)
    assert back.clip(0).video().shape == (4, 64, 64, 3)
    # masks survive too
    b = {(o["clip_id"], o["frame_index"], o["track_id"]): o["mask_rle"] for o in back.objects.to_pylist()}
    for o in src.objects.to_pylist():
        if o["visible_pixels"]:
            assert b[(o["clip_id"], o["frame_index"], o["track_id"])] == o["mask_rle"]


def test_an_imported_mask_is_scaled_to_its_box(fo_source, tmp_path):
    """Found by a review: FiftyOne's Detection.mask covers the box at any resolution (a 28×28 mask from
    Mask R-CNN); it was pasted unscaled from the box's corner, spilling out of the box."""
    import shutil

    src = synthdata.open_dataset(fo_source)
    video = tmp_path / "a.mp4"
    shutil.copyfile(src.root / src.clips.column("video_path")[0].as_py(), video)
    sample = fo.Sample(filepath=str(video))
    sample.compute_metadata()
    W, H = sample.metadata.frame_width, sample.metadata.frame_height
    sample.frames[1]["detections"] = fo.Detections(detections=[fo.Detection(
        label="car", bounding_box=[0.25, 0.25, 0.25, 0.125], mask=np.ones((28, 28), bool), index=3)])
    ds = fo.Dataset()
    try:
        ds.add_sample(sample)
        back = from_fiftyone(ds, tmp_path / "back")
    finally:
        ds.delete()
    row = next(o for o in back.objects.to_pylist() if o["mask_rle"])
    x0, y0, x1, y1 = row["bbox_visible"]
    assert row["visible_pixels"] == round(W / 4) * round(H / 8)  # the box's pixels, all of them
    from pycocotools import mask as mask_utils

    m = mask_utils.decode({"size": [H, W], "counts": row["mask_rle"].encode()})
    ys, xs = np.nonzero(m)
    assert xs.min() >= x0 and xs.max() < x1 and ys.min() >= y0 and ys.max() < y1


def test_an_import_without_metadata_takes_the_videos_own_frame_rate(fo_source, tmp_path):
    """Found by a review: a sample whose metadata was never computed was imported at 30 fps whatever its
    MP4 said (timestamps and clip fps wrong for a 12 fps clip)."""
    import shutil

    src = synthdata.open_dataset(fo_source)
    fps = src.clips.column("fps")[0].as_py()
    assert fps != 30
    video = tmp_path / "a.mp4"
    shutil.copyfile(src.root / src.clips.column("video_path")[0].as_py(), video)
    ds = fo.Dataset()
    try:
        ds.add_sample(fo.Sample(filepath=str(video)))  # no compute_metadata()
        assert ds.first().metadata is None
        back = from_fiftyone(ds, tmp_path / "back")
    finally:
        ds.delete()
    assert back.clips.column("fps")[0].as_py() == pytest.approx(fps)
    stamps = back.clip(0).frames().column("timestamp").to_pylist()
    assert stamps == pytest.approx([k / fps for k in range(len(stamps))])


def test_an_import_has_the_schema_and_encoding_of_a_generated_dataset(fo_dataset, fo_source, tmp_path):
    """from_fiftyone goes through the writer's table builder: same columns, types, class metadata and
    Parquet encoding per table as a generated dataset (the format's columns: label kinds that are not
    core, such as flow_valid, exist only where switched on and computable)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from synthdata.io.schemas import SCHEMAS

    back = from_fiftyone(fo_dataset, tmp_path / "back")
    src = synthdata.open_dataset(fo_source)
    for table in ("clips", "frames", "objects"):
        a = pq.ParquetFile(next((back.root / table).glob("*.parquet")))
        b = pq.ParquetFile(next((src.root / table).glob("*.parquet")))
        core = pa.schema([f for f in b.schema_arrow if f.name in SCHEMAS[table].names], metadata=b.schema_arrow.metadata)
        assert a.schema_arrow == core, table  # metadata (format, classes) included
        assert a.metadata.row_group(0).column(0).compression == b.metadata.row_group(0).column(0).compression


def test_python_api_and_overwrite(fo_source):
    d = synthdata.to_fiftyone(synthdata.open_dataset(fo_source), "synthdata-test-api")
    assert len(d) == 2
    mine = fo_source / "fiftyone" / "my_notes.txt"  # a rebuild replaces its own maps, never a user's file
    mine.write_text("mine")
    old_maps = sorted((fo_source / "fiftyone").rglob("*.png"))
    assert old_maps
    again = synthdata.to_fiftyone(synthdata.open_dataset(fo_source), "synthdata-test-api", overwrite=True)
    assert len(again) == 2 and fo.list_datasets().count("synthdata-test-api") == 1
    assert mine.read_text() == "mine" and sorted((fo_source / "fiftyone").rglob("*.png")) == old_maps
    mine.unlink()
    fo.delete_dataset("synthdata-test-api")


def test_existing_name_is_refused_unless_overwrite(fo_dataset, fo_source):
    with pytest.raises(UserError, match=r"^name: .*exists; .*overwrite=True"):  # the Python argument, not --name
        to_fiftyone(fo_source, name=fo_dataset.name)
    r = run_cli("fiftyone", str(fo_source), "--name", fo_dataset.name)
    assert r.returncode == 2 and r.stderr.startswith("error: --name: ") and "--overwrite" in r.stderr  # the flags
    assert len(fo.load_dataset(fo_dataset.name)) == 2


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_name_is_refused_not_replaced_by_the_default(fo_source, name):
    """Found by a review: ``--name ""`` built the dataset under the directory's name, as if no name was
    given (and could replace nothing the user asked for)."""
    before = set(fo.list_datasets())
    with pytest.raises(UserError, match=r"^name: expected a non-empty"):
        to_fiftyone(fo_source, name=name)
    r = run_cli("fiftyone", str(fo_source), "--name", name)
    assert r.returncode == 2 and r.stderr.startswith("error: --name: expected a non-empty")
    assert len(r.stderr.strip().splitlines()) == 1 and set(fo.list_datasets()) == before


def test_cli_bad_inputs(tmp_path, fo_source):
    r = run_cli("fiftyone", str(tmp_path))
    assert r.returncode == 2 and "not a synthdata dataset" in r.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run_cli("fiftyone", str(fo_source), "--name", "never-built", "--launch", "--port", str(port))
    assert r.returncode == 2 and r.stderr.startswith("error: --port") and len(r.stderr.strip().splitlines()) == 1
    assert not fo.dataset_exists("never-built")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")
def test_app_in_a_real_browser(fo_dataset, fo_source, tmp_path):
    """The App, served from another directory than the build's, in headless Chromium: labels draw and
    hide; the filter panel lists the visibility attributes and filtering by ``occluded`` changes what is
    drawn; the segmentation draws; the depth heatmap has contrast (near ground strong, far ground faint)."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    first = [o for o in synthdata.open_dataset(fo_source).objects.to_pylist() if o["frame_index"] == 0
             and o["visible_pixels"]]  # what the grid's thumbnails (frame 1) show
    assert 0 < sum(o["occluded"] for o in first) < len(first)
    port = _free_port()
    session = fo.launch_app(fo_dataset, port=port, address="127.0.0.1", remote=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"http://127.0.0.1:{port}/datasets/{fo_dataset.name}", timeout=120_000)
            page.get_by_text("2 samples").wait_for(timeout=120_000)  # the sample count
            for _ in range(3):
                if page.get_by_text("Dismiss", exact=True).count():
                    page.get_by_text("Dismiss", exact=True).first.click()
            grid = page.locator('[data-cy="spotlight-section-forward"]').first

            def shot() -> np.ndarray:
                page.wait_for_timeout(2500)
                return np.asarray(Image.open(io.BytesIO(grid.screenshot())).convert("RGB")).astype(int)

            def shot_until(ok, tries: int = 12) -> np.ndarray:
                """A screenshot once ``ok`` holds for it (the App draws overlays as their maps load: slower
                on a busy machine), else the last one."""
                for _ in range(tries):
                    img = shot()
                    if ok(img):
                        break
                return img

            def depth_contrast(img: np.ndarray) -> bool:  # each thumbnail: near ground strong, far faint
                for thumb in (slice(0, 150), slice(160, 310)):
                    rows = np.abs(img - bare)[:, thumb].sum(-1).mean(1)  # overlay strength per image row
                    drawn = rows[rows > 3]  # sky (code 0) is transparent
                    if not (len(drawn) > len(rows) / 2 and np.percentile(drawn, 90) > 3 * np.percentile(drawn, 10)):
                        return False
                return True

            def overlay_pixels(img: np.ndarray) -> int:
                r, g, b = img[..., 0], img[..., 1], img[..., 2]
                return int(((b > r + 40) & (b > g + 40)).sum())  # the detections' (blue-violet) overlay

            def toggle(field: str) -> None:
                page.locator(f'[data-cy="checkbox-{field}"]').first.click()

            thumbs = slice(0, 310)  # the two samples' thumbnails, side by side
            with_labels = overlay_pixels(shot())
            page.screenshot(path=str(tmp_path / "fiftyone-app.png"))  # as in docs/images/fiftyone-app.png
            others = ("frames.amodal", "frames.tracks", *(f"frames.keypoints_{c}" for c in fo_dataset.default_classes))
            for field in ("frames.detections", *others):
                toggle(field)
            bare = shot()
            without = overlay_pixels(bare)

            # the filter panel of frames.detections lists the attributes; filtering by occluded redraws
            page.locator('[data-cy="sidebar-field-arrow-enabled-frames.detections"]').first.click()
            panel = {c for c in page.eval_on_selector_all("[data-cy]", "els => els.map(e => e.dataset.cy)")
                     if c.startswith(("categorical-filter-frames.detections", "numeric-filter-frames.detections"))}
            toggle("frames.detections")
            all_dets = overlay_pixels(shot())
            occluded = page.locator('[data-cy="categorical-filter-frames.detections.detections.occluded"]').first
            occluded.locator('[data-cy="checkbox-True"]').click()
            only_occluded = overlay_pixels(shot())
            occluded.locator('[data-cy="checkbox-True"]').click()
            toggle("frames.detections")

            toggle("frames.segmentation")
            seg = shot_until(lambda img: np.abs(img - bare)[:, thumbs].mean() > 3)
            toggle("frames.segmentation")
            toggle("frames.depth")
            depth = shot_until(depth_contrast)
            browser.close()
        assert with_labels > 200 and without < with_labels / 4, (with_labels, without)
        assert (tmp_path / "fiftyone-app.png").stat().st_size > 10_000
        for attr in ("occluded", "truncated"):
            assert f"categorical-filter-frames.detections.detections.{attr}" in panel, panel
        for attr in ("visible_fraction", "box3d_center", "box3d_size", "box3d_rotation"):
            assert f"numeric-filter-frames.detections.detections.{attr}" in panel, panel
        assert 0 < only_occluded < 0.8 * all_dets, (only_occluded, all_dets)
        assert np.abs(seg - bare)[:, thumbs].mean() > 3  # the semantic map is drawn over the frames
        assert depth_contrast(depth), np.abs(depth - bare).sum(-1).mean(1)
    finally:
        session.close() if hasattr(session, "close") else None


def test_documented_queries_work(fo_dataset):
    """The recipes in docs/fiftyone.md: filter by visibility, trajectories, evaluate_detections."""
    from fiftyone import ViewField as F

    occluded = fo_dataset.filter_labels("frames.detections", F("occluded") == True)  # noqa: E712
    partly = fo_dataset.filter_labels("frames.detections", F("visible_fraction") < 0.5)
    total = fo_dataset.count("frames.detections.detections")
    assert 0 < occluded.count("frames.detections.detections") < total
    assert partly.count("frames.detections.detections") <= occluded.count("frames.detections.detections")
    tracks = fo_dataset.to_trajectories("frames.detections")
    assert len(tracks) == len({(s.clip_id, d.index) for s in fo_dataset for f in s.frames.values()
                               for d in f.detections.detections})
    result = fo_dataset.evaluate_detections("frames.detections", gt_field="frames.detections", eval_key="selfcheck",
                                            progress=False)
    counts = result.counts if hasattr(result, "counts") else None
    assert fo_dataset.sum("frames.selfcheck_tp") == total and fo_dataset.sum("frames.selfcheck_fp") == 0, counts
    fo_dataset.delete_evaluation("selfcheck")


def test_no_database_is_one_line_exit_2(fo_source, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "FIFTYONE_DATABASE_URI": "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=2000"}
    r = subprocess.run([sys.executable, "-m", "synthdata", "fiftyone", str(fo_source), "--name", "nodb"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith("error: database:")
    assert "Traceback" not in r.stderr


def test_fiftyone_imports_after_importlib_metadata():
    """``importlib_metadata`` (which dask and diffusers import) puts its finder on ``sys.meta_path``; from
    8.0 its metadata raises KeyError for a missing field, and FiftyOne's ``eta`` reads its absent
    "author" at import. In a run that imported it first (the test suite in some orders, a notebook),
    ``import fiftyone`` failed: the ``fiftyone`` extra keeps it below 8."""
    r = subprocess.run([sys.executable, "-c", "import importlib_metadata, fiftyone"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
