"""Each arm's predictions in the evaluation set's FiftyOne dataset, evaluated there, so failures can
be browsed per arm.

The evaluation set is exported with :func:`synthdata.to_fiftyone` (dataset name
``<ablation>-eval``, replaced on each report), then every arm adds one label field, ``pred_<arm>``,
with the predictions of its first seed, and FiftyOne's own evaluation runs on it with eval key
``eval_<arm>``: ``evaluate_segmentations`` on frame masks, ``evaluate_detections`` on frame
detections, ``evaluate_classifications`` on the clip label.

Predictions come from each run's ``predictions.npz`` (written by :mod:`.runs`, never unpickled):
``kind`` (segment | detect | classify) and, by kind, ``masks`` (C,T,H,W) class ids; ``det_clip``,
``det_frame``, ``det_box`` (M,4) xyxy pixels, ``det_score``, ``det_class`` (1-based); ``probs`` (C,K)
and ``target`` (C,) 1-based.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

__all__ = ["predictions_to_fiftyone", "field_name"]


def field_name(arm: str) -> str:
    """FiftyOne field names are identifiers: ``pred_<arm>`` with other characters as ``_``."""
    return "pred_" + re.sub(r"\W", "_", arm)


def _load(run_dir: Path) -> dict[str, np.ndarray]:
    with np.load(run_dir / "predictions.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _rel_box(box, W: int, H: int) -> list[float]:
    x0, y0, x1, y1 = (float(v) for v in box)
    return [x0 / W, y0 / H, (x1 - x0) / W, (y1 - y0) / H]


def _add_segment(fo, dataset, field: str, pred: dict, order: dict[str, int]) -> None:
    masks = pred["masks"]
    for sample in dataset.iter_samples(autosave=True, progress=False):
        m = masks[order[sample["clip_id"]]]
        for k, frame in sample.frames.items():
            frame[field] = fo.Segmentation(mask=m[k - 1].astype(np.uint8))


def _add_detect(fo, dataset, field: str, pred: dict, order: dict[str, int], class_names: list[str]) -> None:
    for sample in dataset.iter_samples(autosave=True, progress=False):
        c = order[sample["clip_id"]]
        W, H = sample.metadata.frame_width, sample.metadata.frame_height
        mine = pred["det_clip"] == c
        for k, frame in sample.frames.items():
            sel = np.flatnonzero(mine & (pred["det_frame"] == k - 1))
            frame[field] = fo.Detections(detections=[
                fo.Detection(label=class_names[int(pred["det_class"][i]) - 1],
                             bounding_box=_rel_box(pred["det_box"][i], W, H), confidence=float(pred["det_score"][i]))
                for i in sel])


def _add_classify(fo, dataset, field: str, pred: dict, order: dict[str, int], class_names: list[str]) -> None:
    for sample in dataset.iter_samples(autosave=True, progress=False):
        c = order[sample["clip_id"]]
        p = pred["probs"][c]
        sample[field] = fo.Classification(label=class_names[int(p.argmax())], confidence=float(p.max()))
        if "target" in pred:
            sample["gt_clip_class"] = fo.Classification(label=class_names[int(pred["target"][c]) - 1])


def predictions_to_fiftyone(result, opened, name: str | None = None):
    """Add every arm's predictions to the evaluation set's FiftyOne dataset and evaluate them there;
    returns the ``fo.Dataset``."""
    from ...integrations.fiftyone import import_fiftyone, to_fiftyone

    fo = import_fiftyone()
    dataset = to_fiftyone(opened.eval, name=name or f"{result.spec.name}-eval", overwrite=True)
    order = {cid: i for i, cid in enumerate(opened.eval.clip_ids)}
    classes = list(opened.class_names)
    seed = result.spec.seeds[0]
    for arm in dict.fromkeys(r.arm for r in result.runs):
        field, key = field_name(arm), "eval_" + field_name(arm)[5:]
        pred = _load(result.out / "runs" / arm / f"seed-{seed}")
        kind = str(pred["kind"])
        if kind == "segment":
            _add_segment(fo, dataset, field, pred, order)
            dataset.evaluate_segmentations(f"frames.{field}", gt_field="frames.segmentation", eval_key=key,
                                           mask_targets=dataset.default_mask_targets, progress=False)
        elif kind == "detect":
            _add_detect(fo, dataset, field, pred, order, classes)
            dataset.evaluate_detections(f"frames.{field}", gt_field="frames.detections", eval_key=key,
                                        classes=classes, progress=False)
        elif kind == "classify":
            _add_classify(fo, dataset, field, pred, order, classes)
            if dataset.has_field("gt_clip_class"):
                dataset.evaluate_classifications(field, gt_field="gt_clip_class", eval_key=key, progress=False)
    return dataset
