"""COCO and MOT exports, checked with the libraries people load them with (pycocotools, motmetrics)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

import synthdata
from synthdata.errors import UserError
from synthdata.integrations import export

from ..conftest import TINY, run_cli


def test_coco_loads_in_pycocotools_with_every_visible_object(tiny_dataset, tmp_path):
    ds = synthdata.open_dataset(tiny_dataset)
    summary = export(ds, "coco", tmp_path / "coco")
    coco = COCO(str(tmp_path / "coco" / "annotations.json"))
    visible = [o for o in ds.objects.to_pylist() if o["visible_pixels"]]
    assert len(coco.getAnnIds()) == len(visible) == summary["annotations"]
    assert len(coco.getImgIds()) == 12 and [c["name"] for c in coco.loadCats(coco.getCatIds())] == ds.class_names
    raw = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert len(raw["videos"]) == 3 and {"video_id", "frame_id"} <= set(raw["images"][0])
    # TAO's top-level tracks (found by a review: TAO/TrackEval loaders read them): one per track id used
    tracks = {t["id"]: t for t in raw["tracks"]}
    assert set(tracks) == {a["track_id"] for a in raw["annotations"]}
    assert all(tracks[a["track_id"]]["category_id"] == a["category_id"] and tracks[a["track_id"]]["video_id"]
               == a["video_id"] for a in raw["annotations"])
    for ann in coco.loadAnns(coco.getAnnIds()):
        m = coco.annToMask(ann)
        assert int(m.sum()) == ann["area"]
        x, y, w, h = mask_utils.toBbox(ann["segmentation"])
        assert ann["bbox"] == [x, y, w, h] and "track_id" in ann
        img = coco.loadImgs(ann["image_id"])[0]
        assert (tmp_path / "coco" / img["file_name"]).is_file()


def test_mot_scores_perfectly_against_itself(tiny_dataset, tmp_path, monkeypatch):
    import motmetrics as mm

    if not hasattr(np, "asfarray"):  # motmetrics 1.4.0 (latest) still calls np.asfarray, gone in NumPy 2
        monkeypatch.setattr(np, "asfarray", lambda a, dtype=np.float64: np.asarray(a, dtype=dtype), raising=False)
    ds = synthdata.open_dataset(tiny_dataset)
    export(ds, "mot", tmp_path / "mot")
    for clip in ds:
        seq = tmp_path / "mot" / clip.clip_id
        gt = mm.io.loadtxt(str(seq / "gt" / "gt.txt"), fmt="mot15-2D", min_confidence=-1)
        visible = [o for o in clip.objects().to_pylist() if o["visible_pixels"]]
        assert len(gt) == len(visible)
        acc = mm.utils.compare_to_groundtruth(gt, gt, "iou", distth=0.5)
        summary = mm.metrics.create().compute(acc, metrics=["mota", "idf1", "num_switches"], name=clip.clip_id)
        assert summary["mota"].iloc[0] == 1.0 and summary["idf1"].iloc[0] == 1.0
        assert summary["num_switches"].iloc[0] == 0
        ini = (seq / "seqinfo.ini").read_text()
        assert "seqLength=4" in ini and len(list((seq / "img1").glob("*.jpg"))) == 4


def test_export_refuses_a_used_directory_and_unknown_formats(tiny_dataset, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    with pytest.raises(UserError, match="^out: .*not an empty directory"):  # Python names its arguments
        export(synthdata.open_dataset(tiny_dataset), "coco", tmp_path / "used")
    with pytest.raises(UserError, match="^fmt: .*expected one of coco, mot, tapvid"):
        export(synthdata.open_dataset(tiny_dataset), "yolo", tmp_path / "y")
    r = run_cli("export", str(tiny_dataset), "--format", "coco", "--out", str(tmp_path / "used"))
    assert r.returncode == 2 and r.stderr.startswith("error: --out: ")  # the command line names its flags
    r = run_cli("export", str(tiny_dataset), "--format", "yolo", "--out", str(tmp_path / "y"))
    assert r.returncode == 2 and "did you mean" not in r.stderr and "expected one of coco, mot, tapvid" in r.stderr
    assert r.stderr.startswith("error: --format: ")
    assert not (tmp_path / "y").exists()
    r = run_cli("export", str(tiny_dataset), "--format", "coco", "--out", str(tmp_path / "ok"))
    assert r.returncode == 0 and json.loads(r.stdout)["annotations"] > 0


def test_exporter_names_are_known_before_any_exporter_is_imported():
    """The registry lists built-ins by name (imported on first use); storage never imports integrations."""
    code = ("import sys; from synthdata.integrations import EXPORTERS; import synthdata.io, synthdata.run.generate; "
            "names = EXPORTERS.names(); "
            "loaded = [m for m in sys.modules if m.startswith('synthdata.integrations.')]; "
            "print(names, loaded)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "['coco', 'mot', 'tapvid'] []"
    assert "coco or mot or tapvid" in run_cli("export", "--help").stdout


def test_coco_keypoints_evaluate_perfectly_against_themselves(tracks_dataset, tmp_path):
    """Categories carry names and a 1-based skeleton; COCOeval(keypoints) of GT vs itself is 1.0 per class."""
    import contextlib
    import io

    from pycocotools.cocoeval import COCOeval

    ds = synthdata.open_dataset(tracks_dataset)
    export(ds, "coco", tmp_path / "coco")
    coco = COCO(str(tmp_path / "coco" / "annotations.json"))
    cube = coco.loadCats(coco.getCatIds(catNms=["cube"]))[0]
    assert len(cube["keypoints"]) == 8 and len(cube["skeleton"]) == 12 and min(min(e) for e in cube["skeleton"]) == 1
    anns = coco.loadAnns(coco.getAnnIds())
    for a in anns:
        v = a["keypoints"][2::3]
        assert a["num_keypoints"] == sum(x > 0 for x in v) and set(v) <= {0, 1, 2}
    assert sum(a["num_keypoints"] for a in anns) > 50
    results = [{"image_id": a["image_id"], "category_id": a["category_id"], "keypoints": a["keypoints"], "score": 1.0}
               for a in anns if a["num_keypoints"]]
    dt = coco.loadRes(results)
    for cat in coco.loadCats(coco.getCatIds()):
        ev = COCOeval(coco, dt, iouType="keypoints")
        ev.params.catIds = [cat["id"]]
        ev.params.kpt_oks_sigmas = np.full(len(cat["keypoints"]), 0.05)
        with contextlib.redirect_stdout(io.StringIO()):
            ev.evaluate(), ev.accumulate(), ev.summarize()
        assert ev.stats[0] == pytest.approx(1.0), cat["name"]


def test_tapvid_files_hold_the_tracks(tracks_dataset, tmp_path):
    import pickle

    ds = synthdata.open_dataset(tracks_dataset)
    summary = export(ds, "tapvid", tmp_path / "tv")
    assert summary["tracks"] == 128 and summary["videos"] == 2
    with open(tmp_path / "tv" / "tapvid.pkl", "rb") as f:  # our own file, just written
        davis = pickle.load(f)
    clip = ds.clip(0)
    d = davis[clip.clip_id]
    tracks = clip.tracks().to_pandas()
    assert d["video"].shape == (6, 48, 48, 3) and d["points"].shape == (64, 6, 2) and d["occluded"].shape == (64, 6)
    row = tracks[(tracks.point_id == 5) & (tracks.frame_index == 2)].iloc[0]
    np.testing.assert_allclose(d["points"][5, 2], [row.x / 48, row.y / 48], rtol=1e-6)
    assert d["occluded"][5, 2] == (not row.visible)
    z = np.load(tmp_path / "tv" / "npz" / f"{clip.clip_id}.npz", allow_pickle=False)
    q = z["query_points"]  # (t, y, x) at each track's query frame, where the point is visible
    assert q.shape == (64, 3) and not z["occluded"][np.arange(64), q[:, 0].astype(int)].any()
    np.testing.assert_allclose(z["target_points"][np.arange(64), q[:, 0].astype(int)], q[:, [2, 1]])
    assert (z["video"] == d["video"]).all()
    r = run_cli("export", str(synthdata.open_dataset(tracks_dataset).root), "--format", "tapvid", "--out",
                str(tmp_path / "again"))
    assert r.returncode == 0, r.stderr


def test_tapvid_of_a_dataset_without_tracks_is_one_line(tiny_dataset, tmp_path):
    r = run_cli("export", str(tiny_dataset), "--format", "tapvid", "--out", str(tmp_path / "tv"))
    assert r.returncode == 2 and "annotations.tracks=true" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "tv").exists()


def test_coco_without_masks_has_no_rle_for_pycocotools_to_misread(tmp_path):
    """Found by a review: with ``annotations.masks=false`` every annotation carried ``{"counts": ""}``, an
    RLE pycocotools decodes from uninitialised memory (a 48×64 mask of 199 974 pixels). No mask is an
    empty polygon list, as detection-only COCO files write it; bbox evaluation is perfect against itself."""
    from pycocotools.cocoeval import COCOeval

    out = tmp_path / "nomask"
    synthdata.generate("shapes", clips=1, out=out, compute={"name": "sync"}, progress=False,
                       overrides=[*TINY, "annotations.masks=false", "annotations.amodal=false"])
    export(out, "coco", tmp_path / "coco")
    raw = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert raw["annotations"] and all(a["segmentation"] == [] for a in raw["annotations"])
    gt = COCO(str(tmp_path / "coco" / "annotations.json"))
    dt = gt.loadRes([{**a, "score": 1.0} for a in raw["annotations"]])
    ev = COCOeval(gt, dt, "bbox")
    ev.evaluate(), ev.accumulate(), ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_a_failed_export_leaves_no_folder_it_made(tmp_path):
    """Found by a review: the parent folders of a new ``out`` stayed behind, empty, after a failure."""
    from synthdata.integrations.files import staged_output

    with pytest.raises(RuntimeError, match="boom"):
        with staged_output(tmp_path / "a" / "b" / "out") as tmp:
            (tmp / "half.json").write_text("{")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_an_out_made_by_someone_else_meanwhile_is_one_line_and_kept(tmp_path):
    """Found by a review: two exports to one new ``out`` at once: the second died in ``os.rename`` with a
    traceback. Now one ``out`` error; the other export's files stay, this one's staging is gone."""
    from synthdata.integrations.files import staged_output

    out = tmp_path / "out"
    with pytest.raises(UserError, match=r"^out: .*appeared"):
        with staged_output(out) as tmp:
            (tmp / "mine.json").write_text("{}")
            out.mkdir()
            (out / "theirs.json").write_text("{}")
    assert sorted(p.name for p in out.iterdir()) == ["theirs.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_incomplete_dataset_exports_with_a_warning_and_an_empty_one_is_refused(tmp_path):
    """Found by a review: an interrupted run's dataset exported silently (0 of 6 clips: an empty
    annotations.json, exit 0)."""
    out = tmp_path / "ds"
    synthdata.generate("shapes", clips=2, out=out, overrides=TINY, compute={"name": "sync", "shard_size": 1},
                       progress=False)
    m = json.loads((out / "dataset.json").read_text())
    m["shards"], m["complete"] = m["shards"][:1], False
    (out / "dataset.json").write_text(json.dumps(m))
    r = run_cli("export", str(out), "--format", "mot", "--out", str(tmp_path / "part"))
    assert r.returncode == 0 and "incomplete dataset: 1 of 2 clips" in r.stderr
    m["shards"] = []
    (out / "dataset.json").write_text(json.dumps(m))
    r = run_cli("export", str(out), "--format", "coco", "--out", str(tmp_path / "none"))
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "no committed clips" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "none").exists()


def test_mot_walks_the_clips_once(tiny_dataset, tmp_path):
    """Found by a review: MOT iterated the dataset three times (sequences, seqmap, splits), so its
    progress bar ran three times over."""
    from synthdata.integrations.mot import export_mot

    class Counted:
        def __init__(self, ds):
            self.ds, self.walks = ds, 0

        def __getattr__(self, name):
            return getattr(self.ds, name)

        def __len__(self):
            return len(self.ds)

        def __iter__(self):
            self.walks += 1
            return iter(self.ds)

    ds = Counted(synthdata.open_dataset(tiny_dataset))
    export_mot(ds, tmp_path / "mot")
    assert ds.walks == 1 and (tmp_path / "mot" / "seqmap.txt").read_text().count("\n") == len(ds) + 1


def test_a_name_in_the_wrong_case_is_suggested():
    """Found by a review: ``--format COCO`` got no "did you mean 'coco'?" (``cocoo`` did): every unknown
    name (formats, recipes, pipelines, fields) suggests the same name in another case first."""
    with pytest.raises(UserError, match=r"^fmt: unknown export format 'COCO' \(did you mean 'coco'\?\)"):
        export("unused", "COCO", "unused")
    with pytest.raises(UserError, match=r"did you mean 'shapes'\?"):
        synthdata.load_recipe("SHAPES")
