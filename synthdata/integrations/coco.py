"""COCO JSON with the video extensions (``videos``, ``video_id``, ``frame_id``, ``track_id``).

One image per frame (JPEG under ``images/<clip_id>/``), one annotation per *visible* object per frame
with its COCO RLE mask, ``bbox`` as [x, y, w, h] and ``area`` = visible pixels; visibility attributes
ride along. Loadable by ``pycocotools.coco.COCO``.
"""

from __future__ import annotations

import json
from pathlib import Path

from .files import staged_output, write_frames

__all__ = ["export_coco"]


def export_coco(ds, out: Path) -> dict:
    with staged_output(out) as tmp:
        categories = [{"id": i + 1, "name": n, "supercategory": "object"} for i, n in enumerate(ds.class_names)]
        videos, images, annotations = [], [], []
        for v, clip in enumerate(ds, start=1):
            row = clip.row
            videos.append({"id": v, "name": clip.clip_id, "width": row["width"], "height": row["height"],
                           "fps": row["fps"], "seed": row["seed"]})
            names = write_frames(clip.video(), tmp / "images" / clip.clip_id)
            first_image = len(images) + 1
            for k, name in enumerate(names):
                images.append({"id": first_image + k, "file_name": f"images/{clip.clip_id}/{name}", "width": row["width"],
                               "height": row["height"], "video_id": v, "frame_id": k})
            for o in clip.objects().to_pylist():
                if not o["visible_pixels"]:
                    continue
                x0, y0, x1, y1 = o["bbox_visible"]
                annotations.append({
                    "id": len(annotations) + 1, "image_id": first_image + o["frame_index"], "video_id": v,
                    "category_id": o["class_id"], "track_id": o["track_id"], "iscrowd": 0,
                    "bbox": [x0, y0, x1 - x0, y1 - y0], "area": o["visible_pixels"],
                    "segmentation": {"counts": o["mask_rle"], "size": [row["height"], row["width"]]},
                    "visible_fraction": o["visible_fraction"], "occluded": o["occluded"], "truncated": o["truncated"],
                    "bbox_amodal": o["bbox_amodal"], "box3d": o["box3d"],
                })
        coco = {"info": {"description": f"synthdata {ds.manifest.recipe_name}", "recipe_hash": ds.manifest.recipe_hash},
                "categories": categories, "videos": videos, "images": images, "annotations": annotations}
        (tmp / "annotations.json").write_text(json.dumps(coco))
    return {"format": "coco", "videos": len(videos), "images": len(images), "annotations": len(annotations),
            "path": str(out / "annotations.json")}
