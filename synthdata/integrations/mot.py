"""MOT Challenge files: one sequence per clip, ``<clip_id>/gt/gt.txt`` + ``seqinfo.ini`` + ``img1/``.

gt.txt rows: ``frame, id, bb_left, bb_top, bb_width, bb_height, conf, class, visibility`` with
1-based frames and ids (id = track_id + 1); only visible objects; visibility = visible fraction.
"""

from __future__ import annotations

from pathlib import Path

from .files import staged_output, write_frames

__all__ = ["export_mot"]


def export_mot(ds, out: Path) -> dict:
    """Write one MOT Challenge sequence per clip to ``out``; returns counts."""
    with staged_output(out) as tmp:
        rows_total = 0
        for clip in ds:
            row, seq = clip.row, tmp / clip.clip_id
            write_frames(clip.video(), seq / "img1", start=1)
            (seq / "gt").mkdir(parents=True)
            lines = []
            for o in sorted(clip.objects().to_pylist(), key=lambda o: (o["frame_index"], o["track_id"])):
                if not o["visible_pixels"]:
                    continue
                x0, y0, x1, y1 = o["bbox_visible"]
                lines.append(f"{o['frame_index'] + 1},{o['track_id'] + 1},{x0:.2f},{y0:.2f},{x1 - x0:.2f},{y1 - y0:.2f},"
                             f"1,{o['class_id']},{o['visible_fraction']:.4f}")
            (seq / "gt" / "gt.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
            (seq / "seqinfo.ini").write_text(
                f"[Sequence]\nname={clip.clip_id}\nimDir=img1\nframeRate={row['fps']:g}\nseqLength={row['num_frames']}\n"
                f"imWidth={row['width']}\nimHeight={row['height']}\nimExt=.jpg\n")
            rows_total += len(lines)
        (tmp / "classes.txt").write_text("\n".join(f"{i + 1} {n}" for i, n in enumerate(ds.class_names)) + "\n")
    return {"format": "mot", "sequences": len(ds), "boxes": rows_total, "path": str(out)}
