"""The dataset card: README.md (counts, class balance, visibility histogram) and preview.png
(a contact sheet of real clips with masks, visible boxes and amodal boxes drawn)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils

from .layout import Layout
from .atomic import atomic_path, atomic_write_bytes
from .manifest import Manifest
from .sizes import human_bytes
from .video import decode_mp4

__all__ = ["draw_labels", "contact_sheet", "write_card"]

PALETTE = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
                    [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [170, 110, 40]])


def draw_labels(frame: np.ndarray, objects: list[dict], scale: int = 2) -> Image.Image:
    """Blend visible masks, draw visible boxes (solid) and amodal boxes (thin, grey) on one frame.

    ``objects`` are rows of the objects table for this frame. Shape: frame (H,W,3) uint8.
    """
    img = frame.astype(np.float32)
    H, W = frame.shape[:2]
    for o in objects:
        if o["mask_rle"] and o["visible_pixels"]:
            m = mask_utils.decode({"counts": o["mask_rle"].encode(), "size": [H, W]}).astype(bool)
            img[m] = 0.55 * img[m] + 0.45 * PALETTE[o["track_id"] % len(PALETTE)]
    pil = Image.fromarray(img.astype(np.uint8)).resize((W * scale, H * scale), Image.NEAREST)
    draw = ImageDraw.Draw(pil)
    for o in objects:
        colour = tuple(int(c) for c in PALETTE[o["track_id"] % len(PALETTE)])
        if o["bbox_amodal"] is not None and o["occluded"]:
            draw.rectangle([v * scale for v in o["bbox_amodal"]], outline=(200, 200, 200), width=1)
        if o["bbox_visible"] is not None:
            x0, y0, x1, y1 = (v * scale for v in o["bbox_visible"])
            draw.rectangle([x0, y0, x1 - 1, y1 - 1], outline=colour, width=2)
            draw.text((x0 + 2, y0 + 1), f"{o['class_name']} #{o['track_id']}", fill=colour)
    return pil


def contact_sheet(root: Path, clip_rows: list[dict], frames_per_clip: int = 6, scale: int = 2) -> Image.Image:
    """Rows = clips, columns = evenly spaced frames, labels drawn."""
    tiles = []
    for row in clip_rows:
        video = decode_mp4(root / row["video_path"])
        objs = pq.read_table(Layout(root).part("objects", row["shard_index"]))
        objs = objs.filter(pc.equal(objs["clip_id"], row["clip_id"])).to_pylist()
        picks = np.linspace(0, len(video) - 1, min(frames_per_clip, len(video))).round().astype(int)
        tiles.append([draw_labels(video[k], [o for o in objs if o["frame_index"] == k], scale) for k in picks])
    w, h = tiles[0][0].size
    sheet = Image.new("RGB", (w * max(len(t) for t in tiles), h * len(tiles)), (255, 255, 255))
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            sheet.paste(tile, (c * w, r * h))
    return sheet


_COLUMNS = """| table | column | meaning |
|---|---|---|
| clips | `clip_id`, `clip_index`, `seed` | the clip, its index in the run and its own seed |
| clips | `split` | train / val / test (fixed by the run's seed and the clip index) |
| clips | `num_frames`, `fps`, `width`, `height`, `video_path` | the video |
| clips | `params` | JSON of everything sampled for the clip |
| frames | `K`, `cam_to_world` | intrinsics (3×3) and camera pose (4×4), row-major, OpenCV axes, world z up, metres |
| frames | `depth` | (H, W) float32 camera z-depth in metres, flattened row-major; +inf where nothing is hit |
| frames | `flow_fwd`, `flow_bwd` | (H, W, 2) float32 pixels to the next / previous frame |
| frames | `semantic`, `instance` | (H, W) class id / track id + 1; 0 background |
| objects | `track_id`, `class_id`, `class_name` | one row per object per frame |
| objects | `bbox_visible`, `bbox_amodal` | [x0, y0, x1, y1] pixels; amodal: the whole object's in-frame extent |
| objects | `visible_fraction`, `occluded`, `truncated`, `in_view` | visibility |
| objects | `mask_rle` | COCO compressed RLE of the visible mask |"""


def _front_matter(ds, license_id: str) -> str:
    """The Hugging Face dataset-card header: license, tags and one config per table, so
    ``datasets.load_dataset(dir)`` reads the Parquet tables (not the PNGs next to them)."""
    tables = [t for t in ("clips", "frames", "objects", "tracks") if ds.has_table(t) and (ds.root / t).is_dir()]
    configs = "".join(f"- config_name: {t}\n  data_files: {t}/*.parquet\n" + ("  default: true\n" if t == "clips" else "")
                      for t in tables)
    return f"""---
license: {license_id}
tags:
- synthetic
- video
- synthdata
task_categories:
- object-detection
- image-segmentation
- depth-estimation
configs:
{configs}---

"""


def write_card(layout: Layout, manifest: Manifest, max_clips: int = 3, license_id: str = "other") -> None:
    """README.md (with the Hugging Face header: ``license_id``, e.g. the recipe's ``output.license``)
    and preview.png, written atomically."""
    from .reader import SynthDataset

    ds = SynthDataset(layout.root)
    if len(ds):
        scale = max(1, 256 // max(ds.clips["width"][0].as_py(), ds.clips["height"][0].as_py()))
        sheet = contact_sheet(layout.root, ds.clips.slice(0, max_clips).to_pylist(), scale=scale)
        with atomic_path(layout.root / "preview.png") as tmp:
            sheet.save(tmp, format="PNG", compress_level=3)  # 0.18 → 0.07 s for a 1536×768 sheet, no larger
    info = ds.info()  # after the preview: its size counts
    readme = layout.root / "README.md"
    others = info["bytes"] - (readme.stat().st_size if readme.is_file() else 0)  # a rerun's old card is replaced
    hist, counts, edges = "", np.zeros(5, np.int64), np.linspace(0, 1, 6)
    for obj in ds.parts("objects", ["in_view", "visible_fraction"]):  # a part at a time: any size of dataset
        vf = np.array(obj.filter(obj["in_view"]).column("visible_fraction").to_pylist(), dtype=np.float64)
        counts += np.histogram(vf, bins=5, range=(0, 1))[0]
    if info["object_rows"]:
        hist = "\n".join(f"| {edges[i]:.1f}–{edges[i + 1]:.1f} | {counts[i]} |" for i in range(5))
    classes = "\n".join(f"| {c} | {n} |" for c, n in info["objects_per_class"].items())
    tracks = ", `tracks/`" if ds.has_table("tracks") else ""
    text = _front_matter(ds, license_id) + f"""# {manifest.recipe_name} — synthdata dataset

Generated by synthdata {manifest.synthdata_version} on {manifest.created} with backend `{manifest.backend}`
(device {manifest.device}). Recipe hash `{manifest.recipe_hash[:16]}`, root seed {manifest.seed}; the
resolved recipe is `recipe.yaml` (re-runnable as-is).

| | |
|---|---|
| clips | {info['clips']} of {info['clips_planned']} |
| frames | {info['frames']} |
| resolution | {info['resolution']} |
| object rows (per object per frame) | {info['object_rows']} ({info['visible_object_rows']} visible, {info['in_view_object_rows']} in view) |
| annotations | {', '.join(info['annotations'])} |
| size on disk | {{size}} |
| generation | {json.dumps(manifest.stats.get('clips_per_second_last_run'))} clips/s, {manifest.stats.get('wall_seconds_last_run')} s |

![preview](preview.png)

## Class balance (objects per class)

| class | objects |
|---|---|
{classes}

## Visible fraction of in-view objects

| visible fraction | rows |
|---|---|
{hist}

In the preview, each row is a clip and each column a frame: coloured overlays are visible masks,
coloured boxes the visible boxes (`class #track`), thin grey boxes the amodal boxes of occluded objects.

## Tables

Parquet tables `clips/`, `frames/`, `objects/`{tracks}; videos in `media/<clip_id>.mp4`. Any Parquet
reader opens them; with 🤗 Datasets, `load_dataset("<this folder>")` gives `clips` and
`load_dataset("<this folder>", "objects")` (or `"frames"`) the others. Format: synthdata's
docs/dataset-format.md (version {manifest.format_version}).

{_COLUMNS}
"""
    size = others + len(text.encode())
    for _ in range(3):  # the card counts itself: settle the figure's own digits
        size = others + len(text.replace("{size}", human_bytes(size)).encode())
    atomic_write_bytes(readme, text.replace("{size}", human_bytes(size)).encode())
