"""MOTChallenge files: one sequence per clip, ``<clip_id>/gt/gt.txt`` + ``seqinfo.ini`` + ``img1/``.

gt.txt rows, as MOT17 has them: ``frame, id, bb_left, bb_top, bb_width, bb_height, conf, class,
visibility`` — frames and ids 1-based (id = track_id + 1), **pixels 1-based** (``bb_left = x0 + 1``:
MOTChallenge numbers the top-left pixel 1, and its loaders — motmetrics, TrackEval's IoU — read it
so), ``conf`` = 1 (a valid annotation), ``class`` from :data:`MOT17_CLASSES` (see
:func:`mot_class_ids`), visibility as MOT16/17 count it, occlusion and cropping by the image border
together: ``visible_fraction`` (visible / in-frame amodal pixels) × (1 − ``truncation``) for an object
the border cuts (:mod:`synthdata.annotate.truncation`: the volume fraction projecting outside; a dataset
made without that column gives the visible fraction). Only visible objects, with their visible boxes.

Beside the sequences: ``seqmap.txt`` (the sequence list, TrackEval's ``SEQMAP_FILE``), one
``seqmap-<split>.txt`` per split (train/val/test, from the clips' ``split`` column) and
``classes.txt`` (``<synthdata class> <MOT id> <MOT name>`` per class, the mapping used).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .files import staged_output, write_frames

__all__ = ["MOT17_CLASSES", "TO_MOT17", "FIRST_EXTRA_ID", "export_mot", "mot_class_ids", "mot_visibility"]

#: MOT16/17's class table (TrackEval's names); 1 is the only evaluated class, 2/7/8/12 are distractors
MOT17_CLASSES = {1: "pedestrian", 2: "person_on_vehicle", 3: "car", 4: "bicycle", 5: "motorbike",
                 6: "non_mot_vehicle", 7: "static_person", 8: "distractor", 9: "occluder",
                 10: "occluder_on_ground", 11: "occluder_full", 12: "reflection"}
#: synthdata class names with a MOT17 counterpart. MOT17's ``car`` is its motor-vehicle class (vans,
#: trucks, buses too); a cyclist is a person on a vehicle; street furniture and trees are occluders.
TO_MOT17 = {"pedestrian": 1, "person": 1, "cyclist": 2, "rider": 2, "car": 3, "van": 3, "truck": 3, "bus": 3,
            "bicycle": 4, "motorbike": 5, "motorcycle": 5, "static_person": 7, "street_lamp": 9,
            "traffic_sign": 9, "traffic_light": 9, "tree": 9, "guard_rail": 9}
#: classes without a counterpart are numbered from here in class order: above MOT17's 1–12 and
#: TrackEval's 13 (``crowd``), so no id means two things
FIRST_EXTRA_ID = 14


def mot_class_ids(class_names: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Class name → (MOT id, MOT name): the MOT17 id where the class has one, else the next id from
    :data:`FIRST_EXTRA_ID` (the class keeps its own name)."""
    out, extra = {}, FIRST_EXTRA_ID
    for name in class_names:
        if name in TO_MOT17:
            out[name] = (TO_MOT17[name], MOT17_CLASSES[TO_MOT17[name]])
        else:
            out[name], extra = (extra, name), extra + 1
    return out


def mot_visibility(row: dict) -> float:
    """MOTChallenge's visibility of an objects-table row: occlusion and cropping by the border."""
    cut = row.get("truncation")
    if row["truncated"] and cut is not None and cut == cut:  # a NaN or missing truncation: the pixels alone
        return row["visible_fraction"] * (1.0 - cut)
    return row["visible_fraction"]


def export_mot(ds, out: Path) -> dict:
    """Write one MOT Challenge sequence per clip to ``out``; returns counts."""
    classes = mot_class_ids(ds.class_names)
    with staged_output(out) as tmp:
        rows_total, listed = 0, []
        for clip in ds:
            listed.append((clip.clip_id, clip.split))
            row, seq = clip.row, tmp / clip.clip_id
            write_frames(clip.video(), seq / "img1", start=1)
            (seq / "gt").mkdir(parents=True)
            lines = []
            for o in sorted(clip.objects().to_pylist(), key=lambda o: (o["frame_index"], o["track_id"])):
                if not o["visible_pixels"]:
                    continue
                x0, y0, x1, y1 = o["bbox_visible"]
                lines.append(f"{o['frame_index'] + 1},{o['track_id'] + 1},{x0 + 1:.2f},{y0 + 1:.2f},{x1 - x0:.2f},"
                             f"{y1 - y0:.2f},1,{classes[o['class_name']][0]},{mot_visibility(o):.4f}")
            (seq / "gt" / "gt.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
            (seq / "seqinfo.ini").write_text(
                f"[Sequence]\nname={clip.clip_id}\nimDir=img1\nframeRate={row['fps']:g}\nseqLength={row['num_frames']}\n"
                f"imWidth={row['width']}\nimHeight={row['height']}\nimExt=.jpg\n")
            rows_total += len(lines)
        (tmp / "seqmap.txt").write_text("name\n" + "".join(f"{cid}\n" for cid, _ in listed))
        splits: dict[str, list[str]] = {"train": [], "val": [], "test": []}  # every split's list, even empty
        for cid, split in listed:  # one sequence list per split (the clips table's split column), as MOTChallenge has
            if split:
                splits.setdefault(split, []).append(cid)
        for name, ids in splits.items():
            (tmp / f"seqmap-{name}.txt").write_text("name\n" + "".join(f"{i}\n" for i in ids))
        (tmp / "classes.txt").write_text("".join(f"{n} {i} {m}\n" for n, (i, m) in classes.items()))
    return {"format": "mot", "sequences": len(ds), "boxes": rows_total, "path": str(out)}
