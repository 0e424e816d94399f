"""MOTChallenge and COCO conventions, checked with the tools that read them (TrackEval, motmetrics,
configparser): 1-based MOT pixels, MOT17 class ids, seqinfo/seqmap, COCO xywh amodal boxes and track
ids unique across videos."""

from __future__ import annotations

import configparser
import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

import synthdata
from synthdata.integrations import export
from synthdata.integrations.mot import FIRST_EXTRA_ID, MOT17_CLASSES, mot_class_ids

from ..conftest import SYNC2, TINY


@pytest.fixture(scope="module")
def peds_dataset(tmp_path_factory) -> Path:
    """Driving classes with MOT17 counterparts: pedestrian, cyclist, car (2 clips, 64×48, 4 frames)."""
    out = tmp_path_factory.mktemp("ds") / "peds"
    synthdata.generate("pedestrians", clips=2, out=out, compute=SYNC2, progress=False,
                       overrides=[*TINY, "clip.width=64", "clip.height=48"])
    return out


@pytest.fixture
def numpy2_shims(monkeypatch):
    """motmetrics 1.4 and TrackEval 1.3 (the latest) still use aliases NumPy 2 removed: shimmed here only."""
    monkeypatch.setattr(np, "asfarray", lambda a, dtype=np.float64: np.asarray(a, dtype=dtype), raising=False)
    for name, alias in (("float", float), ("int", int), ("bool", bool)):
        if not hasattr(np, name):
            monkeypatch.setattr(np, name, alias, raising=False)


def _visible(clip) -> list[dict]:
    return [o for o in clip.objects().to_pylist() if o["visible_pixels"]]


def _tracker_file(path: Path, objects: list[dict]) -> None:
    """A MOTChallenge result file made from the dataset's own boxes (0-based pixels → 1-based), the way
    a tracker run on these frames writes it: ``frame, id, left, top, w, h, conf, -1, -1, -1``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{o['frame_index'] + 1},{o['track_id'] + 1},{x0 + 1},{y0 + 1},{x1 - x0},{y1 - y0},1,-1,-1,-1\n"
                            for o in objects for x0, y0, x1, y1 in [o["bbox_visible"]]))


def _trackeval(gt: Path, trackers: Path, **config) -> dict:
    import trackeval

    ev = trackeval.Evaluator({"USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False,
                              "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False,
                              "TIME_PROGRESS": False, "DISPLAY_LESS_PROGRESS": True})
    dataset = trackeval.datasets.MotChallenge2DBox({
        "GT_FOLDER": str(gt), "TRACKERS_FOLDER": str(trackers), "SKIP_SPLIT_FOL": True,
        "SEQMAP_FILE": str(gt / "seqmap.txt"), "PRINT_CONFIG": False, **config})
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"PRINT_CONFIG": False}),
               trackeval.metrics.Identity({"PRINT_CONFIG": False})]
    with contextlib.redirect_stdout(io.StringIO()):
        res, msg = ev.evaluate([dataset], metrics)
    assert msg["MotChallenge2DBox"]["self"] == "Success", msg
    return res["MotChallenge2DBox"]["self"]["COMBINED_SEQ"]


def test_mot_pixels_are_one_based_as_motmetrics_reads_them(tiny_dataset, tmp_path, numpy2_shims):
    """motmetrics' MOTChallenge loader subtracts 1 from bb_left/bb_top: what it reads back must be the
    dataset's own 0-based boxes, and a tracker reporting those boxes scores MOTA 1.0 against the export."""
    import motmetrics as mm

    ds = synthdata.open_dataset(tiny_dataset)
    export(ds, "mot", tmp_path / "mot")
    for clip in ds:
        gt = mm.io.loadtxt(str(tmp_path / "mot" / clip.clip_id / "gt" / "gt.txt"), fmt="mot15-2D", min_confidence=1)
        objs = _visible(clip)
        assert len(gt) == len(objs)
        for o in objs:
            x0, y0, x1, y1 = o["bbox_visible"]
            row = gt.loc[(o["frame_index"] + 1, o["track_id"] + 1)]
            np.testing.assert_allclose([row.X, row.Y, row.Width, row.Height], [x0, y0, x1 - x0, y1 - y0], atol=0.006)
        _tracker_file(tmp_path / "trk" / f"{clip.clip_id}.txt", objs)
        hyp = mm.io.loadtxt(str(tmp_path / "trk" / f"{clip.clip_id}.txt"), fmt="mot15-2D")
        acc = mm.utils.compare_to_groundtruth(gt, hyp, "iou", distth=0.01)  # near-exact overlap required
        summary = mm.metrics.create().compute(acc, metrics=["mota", "motp"], name=clip.clip_id)
        assert summary["mota"].iloc[0] == 1.0 and summary["motp"].iloc[0] < 1e-4


def test_mot_class_ids_follow_the_mot17_table(peds_dataset, tiny_dataset, tmp_path):
    """MOT17 ids where a class has one (pedestrian 1, cyclist = person on vehicle 2, car 3, …); classes
    without one from 14 up (above MOT17's 12 and TrackEval's 13 = crowd), all listed in classes.txt."""
    assert mot_class_ids(["car", "truck", "pedestrian", "sphere", "polyp", "cyclist"]) == {
        "car": (3, "car"), "truck": (3, "car"), "pedestrian": (1, "pedestrian"), "sphere": (14, "sphere"),
        "polyp": (15, "polyp"), "cyclist": (2, "person_on_vehicle")}
    ds = synthdata.open_dataset(peds_dataset)
    export(ds, "mot", tmp_path / "peds")
    want = {"pedestrian": 1, "cyclist": 2, "car": 3}
    for clip in ds:
        rows = (tmp_path / "peds" / clip.clip_id / "gt" / "gt.txt").read_text().split()
        objs = sorted(_visible(clip), key=lambda o: (o["frame_index"], o["track_id"]))
        assert [int(r.split(",")[7]) for r in rows] == [want[o["class_name"]] for o in objs]
    assert (tmp_path / "peds" / "classes.txt").read_text().splitlines() == [
        f"{n} {want[n]} {MOT17_CLASSES[want[n]]}" for n in ds.class_names]
    shapes = synthdata.open_dataset(tiny_dataset)
    export(shapes, "mot", tmp_path / "shapes")
    ids = {int(r.split(",")[7]) for clip in shapes
           for r in (tmp_path / "shapes" / clip.clip_id / "gt" / "gt.txt").read_text().split()}
    assert ids and min(ids) >= FIRST_EXTRA_ID == 14 and not ids & set(MOT17_CLASSES)


def test_mot_sequences_have_motchallenge_seqinfo_and_a_seqmap(tiny_dataset, tmp_path):
    ds = synthdata.open_dataset(tiny_dataset)
    export(ds, "mot", tmp_path / "mot")
    assert (tmp_path / "mot" / "seqmap.txt").read_text().split() == ["name", *(c.clip_id for c in ds)]
    for clip in ds:
        ini = configparser.ConfigParser()
        ini.optionxform = str  # MOTChallenge's keys are camelCase
        ini.read(tmp_path / "mot" / clip.clip_id / "seqinfo.ini")
        seq, row = dict(ini["Sequence"]), clip.row
        assert seq == {"name": clip.clip_id, "imDir": "img1", "frameRate": f"{row['fps']:g}",
                       "seqLength": str(row["num_frames"]), "imWidth": str(row["width"]),
                       "imHeight": str(row["height"]), "imExt": ".jpg"}
        images = sorted(p.name for p in (tmp_path / "mot" / clip.clip_id / "img1").iterdir())
        assert images == [f"{k:06d}.jpg" for k in range(1, row["num_frames"] + 1)]  # 1-based, like frames


def test_trackeval_mot17_scores_a_tracker_with_the_dataset_boxes_perfectly(peds_dataset, tmp_path, numpy2_shims):
    """TrackEval's MotChallenge2DBox, MOT17 rules (pedestrians evaluated, cyclists as distractors, class
    ids checked): the dataset's own pedestrian boxes as a tracker → HOTA = MOTA = IDF1 = 1."""
    ds = synthdata.open_dataset(peds_dataset)
    export(ds, "mot", tmp_path / "gt")
    n = 0
    for clip in ds:
        peds = [o for o in _visible(clip) if o["class_name"] == "pedestrian"]
        _tracker_file(tmp_path / "trackers" / "self" / "data" / f"{clip.clip_id}.txt", peds)
        n += len(peds)
    res = _trackeval(tmp_path / "gt", tmp_path / "trackers", BENCHMARK="MOT17")["pedestrian"]
    assert n > 10 and res["CLEAR"]["CLR_TP"] == n and res["CLEAR"]["CLR_FN"] == 0
    assert res["HOTA"]["HOTA"].min() == pytest.approx(1.0) and res["HOTA"]["LocA"].min() == pytest.approx(1.0)
    assert res["CLEAR"]["MOTA"] == 1.0 and res["Identity"]["IDF1"] == 1.0


def test_trackeval_class_agnostic_on_classes_without_a_mot17_id(tiny_dataset, tmp_path, numpy2_shims):
    """Classes outside MOT17's table (ids ≥ 14): TrackEval's MOT17 preprocessing refuses them (it
    evaluates pedestrians only); class-agnostic (``DO_PREPROC: False``) every box counts and scores 1."""
    import trackeval

    ds = synthdata.open_dataset(tiny_dataset)
    export(ds, "mot", tmp_path / "gt")
    for clip in ds:
        _tracker_file(tmp_path / "trackers" / "self" / "data" / f"{clip.clip_id}.txt", _visible(clip))
    res = _trackeval(tmp_path / "gt", tmp_path / "trackers", DO_PREPROC=False)["pedestrian"]
    assert res["CLEAR"]["CLR_TP"] == len([o for o in ds.objects.to_pylist() if o["visible_pixels"]])
    assert res["HOTA"]["HOTA"].min() == pytest.approx(1.0) and res["CLEAR"]["MOTA"] == 1.0
    with pytest.raises(trackeval.utils.TrackEvalException, match="invalid gt classes"):
        _trackeval(tmp_path / "gt", tmp_path / "trackers", BENCHMARK="MOT17")


def test_coco_amodal_boxes_are_xywh_and_track_ids_unique_across_videos(tiny_dataset, tmp_path):
    ds = synthdata.open_dataset(tiny_dataset)
    summary = export(ds, "coco", tmp_path / "coco")
    coco = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    objs = {(c.clip_id, o["frame_index"], o["track_id"]): o for c in ds for o in _visible(c)}
    videos = {v["id"]: v["name"] for v in coco["videos"]}
    frames = {im["id"]: im["frame_id"] for im in coco["images"]}
    same = 0
    for a in coco["annotations"]:
        o = objs[(videos[a["video_id"]], frames[a["image_id"]], a["clip_track_id"])]
        x0, y0, x1, y1 = o["bbox_amodal"]
        assert a["bbox_amodal"] == pytest.approx([x0, y0, x1 - x0, y1 - y0])  # [x, y, w, h] like bbox
        same += not o["occluded"] and not o["truncated"] and a["bbox_amodal"] == a["bbox"]
    assert same > 0  # an unoccluded, untruncated object: one box, written alike
    pairs = {(a["video_id"], a["clip_track_id"]): a["track_id"] for a in coco["annotations"]}
    assert len(set(pairs.values())) == len(pairs) == summary["tracks"]  # one id per (video, track), none shared
    assert len({a["clip_track_id"] for a in coco["annotations"]}) < len(pairs)  # clips reuse their own ids
    assert sorted(set(pairs.values())) == list(range(1, len(pairs) + 1))


def test_mot_visibility_counts_cropping_by_the_border(tiny_dataset, tmp_path):
    """MOT16/17's visibility counts occlusion and cropping; gt.txt had ``visible_fraction``, which counts
    in-frame pixels only: a half-cropped unoccluded object had visibility 1.0 (review, 2026-12-06)."""
    ds = synthdata.open_dataset(tiny_dataset)
    export(ds, "mot", tmp_path / "mot")
    cut = seen = 0
    for clip in ds:
        rows = {(o["frame_index"] + 1, o["track_id"] + 1): o for o in _visible(clip)}
        for line in (tmp_path / "mot" / clip.clip_id / "gt" / "gt.txt").read_text().splitlines():
            f, i, *_, vis = line.split(",")
            o = rows[(int(f), int(i))]
            if o["truncated"]:  # a sliver over the border may hold none of the volume's sample points: 0
                assert 0 <= o["truncation"] < 1
                assert float(vis) == pytest.approx(o["visible_fraction"] * (1 - o["truncation"]), abs=1e-4)
                cut += float(vis) < o["visible_fraction"]
            else:
                seen += 1
                assert float(vis) == pytest.approx(o["visible_fraction"], abs=1e-4)
    assert cut and seen  # the fixture has objects the border cuts and objects it does not


def test_coco_keypoints_are_pixel_indices(tracks_dataset, tmp_path):
    """COCO keypoints put a pixel's centre at an integer (detectron2 adds 0.5 when loading them); ours
    were written as the dataset's continuous coordinates (centres at +0.5), half a pixel off."""
    ds = synthdata.open_dataset(tracks_dataset)
    export(ds, "coco", tmp_path / "coco")
    coco = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    W, H = coco["videos"][0]["width"], coco["videos"][0]["height"]
    ours = {}
    for v, clip in enumerate(ds, start=1):
        for o in _visible(clip):
            ours[(v, o["frame_index"], o["track_id"])] = o["keypoints"]
    frame_of = {im["id"]: (im["video_id"], im["frame_id"]) for im in coco["images"]}
    checked = 0
    for a in coco["annotations"]:
        if not a.get("num_keypoints"):
            continue
        kps = ours[(*frame_of[a["image_id"]], a["clip_track_id"])]
        for p, (x, y, v) in zip(kps, np.reshape(a["keypoints"], (-1, 3))):
            if v:
                assert x == pytest.approx(min(max(p["x"] - 0.5, 0), W - 1), abs=1e-4)
                assert y == pytest.approx(min(max(p["y"] - 0.5, 0), H - 1), abs=1e-4)
                assert 0 <= x <= W - 1 and 0 <= y <= H - 1
                checked += 1
    assert checked > 20
