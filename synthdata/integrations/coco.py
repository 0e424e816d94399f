"""COCO JSON with the video extensions (``videos``, ``video_id``, ``frame_id``, ``track_id``).

One image per frame (JPEG under ``images/<clip_id>/``), one annotation per *visible* object per frame
with its COCO RLE mask, ``bbox`` and ``bbox_amodal`` as [x, y, w, h] and ``area`` = visible pixels;
visibility attributes ride along. ``track_id`` is unique across the whole file (numbered 1, 2, … in
order of first appearance, video by video, as TAO and BDD100K number theirs), ``clip_track_id`` is
the dataset's own track id within its clip. With keypoints, a category with a skeleton carries ``keypoints`` (names) and ``skeleton``
(1-based edges) and its annotations ``keypoints`` [x, y, v]·K and ``num_keypoints`` (COCO visibility:
v = 0 is written as 0, 0, 0; x, y as COCO's pixel indices: the dataset's value − 0.5, see :func:`_keypoints`). Loadable by ``pycocotools.coco.COCO``; ``COCOeval(iouType="keypoints")``
runs per category with ``params.kpt_oks_sigmas`` of that category's K.
"""

from __future__ import annotations

import json
from pathlib import Path

from .files import staged_output, write_frames

__all__ = ["export_coco"]


def _skeleton(sk: dict | None) -> dict:
    return {} if not sk else {"keypoints": sk["keypoints"], "skeleton": [[i + 1, j + 1] for i, j in sk["skeleton"]]}


def _keypoints(kps: list[dict] | None, width: int, height: int) -> dict:
    """COCO keypoints are pixel indices (a pixel's centre is an integer, in [0, W−1]; detectron2 adds 0.5
    on loading and subtracts it on export), where ours are continuous (centres at +0.5, as the boxes):
    shifted by −0.5 and kept on the image's pixels."""
    if not kps:
        return {}

    def index(v: float, size: int) -> float:
        return min(max(v - 0.5, 0.0), size - 1.0)
    flat = [v for p in kps for v in ((index(p["x"], width), index(p["y"], height), 2 if p["v"] == 2 else 1)
                                     if p["v"] else (0, 0, 0))]
    return {"keypoints": flat, "num_keypoints": sum(1 for p in kps if p["v"])}


def _xywh(box: list[float] | None) -> list[float] | None:
    return None if box is None else [box[0], box[1], box[2] - box[0], box[3] - box[1]]


def export_coco(ds, out: Path) -> dict:
    """Write COCO JSON (video extensions, RLE masks, keypoints) and frame JPEGs to ``out``; returns counts."""
    with staged_output(out) as tmp:
        skeletons = ds.skeletons
        categories = [{"id": i + 1, "name": n, "supercategory": "object", **_skeleton(skeletons.get(n))}
                      for i, n in enumerate(ds.class_names)]
        videos, images, annotations, tracks, track_rows = [], [], [], {}, {}
        for v, clip in enumerate(ds, start=1):
            row = clip.row
            videos.append({"id": v, "name": clip.clip_id, "width": row["width"], "height": row["height"],
                           "fps": row["fps"], "seed": row["seed"], "split": clip.split})
            names = write_frames(clip.video(), tmp / "images" / clip.clip_id)
            first_image = len(images) + 1
            for k, name in enumerate(names):
                images.append({"id": first_image + k, "file_name": f"images/{clip.clip_id}/{name}", "width": row["width"],
                               "height": row["height"], "video_id": v, "frame_id": k})
            for o in clip.objects().to_pylist():
                if not o["visible_pixels"]:
                    continue
                track = tracks.setdefault((v, o["track_id"]), len(tracks) + 1)
                track_rows.setdefault(track, {"id": track, "category_id": o["class_id"], "video_id": v})
                annotations.append({
                    "id": len(annotations) + 1, "image_id": first_image + o["frame_index"], "video_id": v,
                    "category_id": o["class_id"], "track_id": track, "clip_track_id": o["track_id"], "iscrowd": 0,
                    "bbox": _xywh(o["bbox_visible"]), "area": o["visible_pixels"],
                    # no mask (annotations.masks off): no polygon, as detection-only COCO files write it
                    "segmentation": {"counts": o["mask_rle"], "size": [row["height"], row["width"]]}
                    if o["mask_rle"] else [],
                    "visible_fraction": o["visible_fraction"], "occluded": o["occluded"], "truncated": o["truncated"],
                    "bbox_amodal": _xywh(o["bbox_amodal"]), "box3d": o["box3d"],
                    **_keypoints(o.get("keypoints"), row["width"], row["height"]),
                })
        coco = {"info": {"description": f"synthdata {ds.manifest.recipe_name}", "recipe_hash": ds.manifest.recipe_hash},
                "categories": categories, "videos": videos, "images": images, "annotations": annotations,
                "tracks": list(track_rows.values())}  # TAO's top-level track list (its loaders read it)
        (tmp / "annotations.json").write_text(json.dumps(coco))
    return {"format": "coco", "videos": len(videos), "images": len(images), "annotations": len(annotations),
            "tracks": len(tracks), "path": str(out / "annotations.json")}
