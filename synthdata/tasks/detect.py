"""``detect``: 2D detection per frame, CenterNet-style (Zhou et al. 2019): a class heatmap of box
centres plus box size and sub-pixel offset, read at full resolution from a small UNet; metric COCO mAP
(pycocotools, boxes of the visible parts; every frame is one COCO image).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import torch
import torch.nn.functional as F

from .base import Task, TaskScores
from .segment import UNet

__all__ = ["DetectTask", "coco_map"]


def _targets(labels: dict, T: int, H: int, W: int, K: int, device) -> tuple[torch.Tensor, ...]:
    """Heatmap (T,K,H,W) of Gaussian peaks at box centres, size (T,2,H,W), offset (T,2,H,W), mask (T,H,W)."""
    heat = torch.zeros(T, K, H, W, device=device)
    size = torch.zeros(T, 2, H, W, device=device)
    off = torch.zeros(T, 2, H, W, device=device)
    mask = torch.zeros(T, H, W, dtype=torch.bool, device=device)
    ys, xs = torch.arange(H, device=device)[:, None] + 0.5, torch.arange(W, device=device)[None] + 0.5
    for box, k, c in zip(labels["boxes"], labels["frame_index"], labels["class_id"]):
        x0, y0, x1, y1 = (float(v) for v in box)
        w, h = x1 - x0, y1 - y0
        if w <= 0 or h <= 0:
            continue
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        ix, iy = min(int(cx), W - 1), min(int(cy), H - 1)
        sigma = max(min(w, h) / 6, 0.5)
        g = torch.exp(-((xs - (ix + 0.5)) ** 2 + (ys - (iy + 0.5)) ** 2) / (2 * sigma ** 2))
        heat[k, c - 1] = torch.maximum(heat[k, c - 1], g)
        size[k, :, iy, ix] = torch.tensor([w, h], device=device)
        off[k, :, iy, ix] = torch.tensor([cx - ix - 0.5, cy - iy - 0.5], device=device)
        mask[k, iy, ix] = True
    return heat, size, off, mask


def _focal(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss on a sigmoid heatmap."""
    p = pred.sigmoid().clamp(1e-4, 1 - 1e-4)
    pos = gt.eq(1).float()
    pos_loss = (torch.log(p) * (1 - p) ** 2 * pos).sum()
    neg_loss = (torch.log(1 - p) * p ** 2 * (1 - gt) ** 4 * (1 - pos)).sum()
    return -(pos_loss + neg_loss) / pos.sum().clamp(min=1)


def coco_map(gt: list[tuple[int, int, list[float]]], dets: list[tuple[int, int, list[float], float]],
             num_images: int, num_classes: int, images: list[int] | None = None) -> tuple[dict[str, float], np.ndarray]:
    """COCO mAP@[.5:.95], AP50, and AP per class (NaN where a class has no ground truth), from
    ground truth (image, class, xyxy) and detections (image, class, xyxy, score); ``images`` restricts
    the evaluation to those image ids."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def ann(i, img, c, b, **extra):
        return {"id": i + 1, "image_id": img, "category_id": c, "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                "area": (b[2] - b[0]) * (b[3] - b[1]), "iscrowd": 0, **extra}

    if not dets:
        return {"mAP": 0.0, "AP50": 0.0}, np.full(num_classes, np.nan)
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {"images": [{"id": i} for i in range(num_images)],
                        "categories": [{"id": c} for c in range(1, num_classes + 1)],
                        "annotations": [ann(i, img, c, b) for i, (img, c, b) in enumerate(gt)]}
        coco.createIndex()
        res = coco.loadRes([{"image_id": img, "category_id": c, "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                             "score": s} for img, c, b, s in dets])
        ev = COCOeval(coco, res, "bbox")
        if images is not None:
            ev.params.imgIds = images
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    prec = ev.eval["precision"][:, :, :, 0, -1]  # (IoU thresholds, recall, class) at area=all, maxDets=100
    per_class = np.array([np.mean(p[p > -1]) if (p > -1).any() else np.nan for p in np.moveaxis(prec, 2, 0)])
    stats = [max(float(s), 0.0) for s in ev.stats[:2]]
    return {"mAP": stats[0], "AP50": stats[1]}, per_class


class DetectTask(Task):
    name = "detect"
    primary = "mAP"
    display_scale = 100.0  # a fraction, shown in percent points
    maps_needed = ()
    SIZES = {"tiny": {"width": 8, "depth": 2}, "small": {"width": 32, "depth": 3}}
    max_per_frame = 20

    def build(self, num_classes: int, size: str):
        model = UNet(num_classes + 4, **self.size(size))
        with torch.no_grad():  # start the heatmap at a low prior (CenterNet's bias init)
            model.head.bias[:num_classes].fill_(-2.19)
        model.num_classes = num_classes
        return model

    def _heads(self, model, videos):
        B, T = videos.shape[:2]
        out = model(videos.flatten(0, 1)).unflatten(0, (B, T))  # (B,T,K+4,H,W)
        K = model.num_classes
        return out[:, :, :K], out[:, :, K:K + 2], out[:, :, K + 2:]

    def loss(self, model, videos, labels):
        B, T, _, H, W = videos.shape
        heat, size, off = self._heads(model, videos)
        total = videos.new_zeros(())
        for b, lab in enumerate(labels):
            th, ts, to, m = _targets(lab, T, H, W, model.num_classes, videos.device)
            total = total + _focal(heat[b], th)
            if m.any():
                sel = m[:, None].expand_as(ts)
                total = total + 0.1 * F.l1_loss(size[b][sel], ts[sel]) + F.l1_loss(off[b][sel], to[sel])
        return total / B

    @torch.no_grad()
    def predict(self, model, videos):
        heat, size, off = self._heads(model, videos)
        p = heat.sigmoid()
        peaks = p * (F.max_pool2d(p.flatten(0, 1), 3, 1, 1).unflatten(0, p.shape[:2]) == p)
        out = []
        for b in range(videos.shape[0]):
            frames, boxes, scores, classes = [], [], [], []
            T, K, H, W = peaks[b].shape
            for k in range(T):
                s, idx = peaks[b, k].flatten().topk(min(self.max_per_frame, K * H * W))
                keep = s > 0.05
                s, idx = s[keep], idx[keep]
                c, rem = idx // (H * W), idx % (H * W)
                iy, ix = rem // W, rem % W
                cx = ix.float() + 0.5 + off[b, k, 0, iy, ix]
                cy = iy.float() + 0.5 + off[b, k, 1, iy, ix]
                w, h = size[b, k, 0, iy, ix].clamp(min=1), size[b, k, 1, iy, ix].clamp(min=1)
                frames.append(torch.full_like(c, k))
                boxes.append(torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1))
                scores.append(s)
                classes.append(c + 1)
            out.append({"frame": torch.cat(frames).cpu().numpy(), "box": torch.cat(boxes).float().cpu().numpy(),
                        "score": torch.cat(scores).float().cpu().numpy(), "class": torch.cat(classes).cpu().numpy()})
        return out

    def score(self, predictions, labels, class_names):
        T = max([int(lab["frame_index"].max()) + 1 for lab in labels if len(lab["frame_index"])] + [1])
        gt, dets, clip_images = [], [], []
        for c, (p, lab) in enumerate(zip(predictions, labels)):
            gt += [(c * T + int(k), int(cl), [float(v) for v in b])
                   for b, k, cl in zip(lab["boxes"], lab["frame_index"], lab["class_id"])]
            dets += [(c * T + int(k), int(cl), [float(v) for v in b], float(s))
                     for k, cl, b, s in zip(p["frame"], p["class"], p["box"], p["score"])]
            clip_images.append(list(range(c * T, (c + 1) * T)))
        n = len(predictions) * T
        summary, per_class = coco_map(gt, dets, n, len(class_names))
        per_clip = []
        for c, imgs in enumerate(clip_images):
            has_gt = any(g[0] in imgs for g in gt)
            if not has_gt:  # nothing to find: perfect when nothing was claimed
                per_clip.append(float(not any(d[0] in imgs for d in dets)))
            else:
                per_clip.append(coco_map(gt, dets, n, len(class_names), images=imgs)[0]["mAP"])
        cat = {k: np.concatenate([p[k] for p in predictions]) for k in ("frame", "box", "score", "class")}
        clip = np.concatenate([np.full(len(p["frame"]), c) for c, p in enumerate(predictions)])
        return TaskScores(
            primary=self.primary, summary=summary,
            per_class={n: float(v) for n, v in zip(class_names, per_class) if np.isfinite(v)},
            per_clip=np.array(per_clip),
            predictions={"kind": np.array("detect"), "det_clip": clip, "det_frame": cat["frame"], "det_box": cat["box"],
                         "det_score": cat["score"], "det_class": cat["class"]})
