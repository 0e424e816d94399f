"""``evaluate_generated``: label fidelity, temporal consistency and (for refine runs) closeness to the
source, for a generated synthdata dataset. All weight-free: the segmentation net is trained here on a
training dataset, PSNR/SSIM come from kornia.metrics, the warp error uses the ground-truth flow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from ..classes import class_table
from ..io.reader import SynthDataset, open_dataset
from ..progress import track
from .metrics import confusion, iou_from_confusion, video_psnr, video_ssim, warp_error
from .segmenter import Segmenter, train_segmenter

__all__ = ["evaluate_generated", "segmenter_for", "frames_and_labels"]


def _open(path: str | Path, field: str) -> SynthDataset:
    return open_dataset(path, field=field)


def _rgb(clip) -> torch.Tensor:
    return torch.from_numpy(clip.video()).permute(0, 3, 1, 2).float() / 255  # (T,3,H,W)


def frames_and_labels(ds: SynthDataset, class_names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Every frame of a dataset (N,3,H,W) in [0, 1] and its semantic map (N,H,W) in ``class_names`` ids."""
    table = torch.from_numpy(class_table(ds.class_names, class_names))
    imgs, labs = [], []
    for clip in ds:
        imgs.append(_rgb(clip))
        labs.append(table[torch.from_numpy(clip.map("semantic").astype(np.int64))])
    return torch.cat(imgs), torch.cat(labs)


def segmenter_for(train: str | Path, steps: int = 300, seed: int = 0, device: str = "cpu") -> Segmenter:
    ds = _open(train, "train")
    names = list(ds.class_names)
    images, labels = frames_and_labels(ds, names)
    return train_segmenter(images, labels, names, steps=steps, seed=seed, device=device)


def _check_same_layouts(gen, ref, reference) -> None:
    """A reference must hold the same clips, not just the same ids (every run of a recipe names its clips
    shapes-000000, …): the same clip seed (the layout's), frame count and size, else PSNR, SSIM and
    the warp error compare unrelated videos (or fail on a size mismatch)."""
    cols = ("clip_id", "seed", "num_frames", "width", "height")
    theirs = {r["clip_id"]: r for r in ref.clips.select(list(cols)).to_pylist()}
    for mine in gen.clips.select(list(cols)).to_pylist():
        other = theirs[mine["clip_id"]]
        for key, what in (("seed", "seed (its layout)"), ("num_frames", "frame count"), ("width", "width"),
                          ("height", "height")):
            if mine[key] != other[key]:
                raise UserError("reference", f"{reference}'s clip {mine['clip_id']} is another clip: its {what} is "
                                             f"{other[key]}, the generated one's {mine[key]}; give a reference made "
                                             "from the same recipe, seed and clip size")


def evaluate_generated(generated: str | Path, train: str | Path | None = None, reference: str | Path | None = None,
                       segmenter: Segmenter | None = None, seg_steps: int = 300, device: str = "cpu") -> dict:
    """Metrics of a generated dataset (JSON-able dict):

    - ``label_fidelity_miou``: a segmenter trained on ``train`` (or given) applied to the generated
      frames, mean IoU against their layout; ``train_miou`` is the same net on its own training
      frames (the ceiling for this segmenter).
    - ``warp_error`` (and ``warp_error_reference`` for ``reference``): mean |frame t − warped t−1|
      along the ground-truth flow, intensities in [0, 1].
    - ``psnr``/``ssim`` against ``reference`` clip by clip (same clip ids), e.g. the ray-cast run a
      refine-mode run started from.
    """
    gen = _open(generated, "generated")
    out: dict = {"clips": len(gen), "generated": str(generated)}
    if segmenter is None and train is not None:
        segmenter = segmenter_for(train, seg_steps, device=device)
    ref = _open(reference, "reference") if reference is not None else None
    if ref is not None:
        missing = set(gen.clip_ids) - set(ref.clip_ids)
        if missing:
            raise UserError("reference", f"{reference} lacks clips {sorted(missing)[:3]}; generate it with the same "
                                         "recipe and seed (clip layouts then match)")
        _check_same_layouts(gen, ref, reference)
    warp, warp_ref, psnrs, ssims = [], [], [], []
    K = len(segmenter.class_names) + 1 if segmenter else 0
    cm = torch.zeros(K, K, dtype=torch.float64)
    for clip in track(gen, "evaluate", "clips"):
        rgb = _rgb(clip)
        flow_bwd = torch.from_numpy(clip.map("flow_bwd").astype(np.float32))
        inst = torch.from_numpy(clip.map("instance").astype(np.int64))
        warp.append(warp_error(rgb, flow_bwd, inst))
        if segmenter is not None:
            table = torch.from_numpy(class_table(gen.class_names, segmenter.class_names))
            target = table[torch.from_numpy(clip.map("semantic").astype(np.int64))]
            cm += confusion(segmenter.predict(rgb), target, K).double()
        if ref is not None:
            src = _rgb(ref.clip(clip.clip_id))
            warp_ref.append(warp_error(src, flow_bwd, inst))
            psnrs.append(video_psnr(rgb, src))
            ssims.append(video_ssim(rgb, src))
    out["warp_error"] = float(np.nanmean(warp))
    if segmenter is not None:
        iou = iou_from_confusion(cm)
        out["label_fidelity_miou"] = float(iou.nanmean())
        out["per_class_iou"] = {n: float(v) for n, v in zip(["background", *segmenter.class_names], iou)}
        if train is not None:
            images, labels = frames_and_labels(_open(train, "train"), segmenter.class_names)
            out["train_miou"] = float(iou_from_confusion(confusion(segmenter.predict(images), labels, K)).nanmean())
    if ref is not None:
        out.update(warp_error_reference=float(np.nanmean(warp_ref)), psnr=float(np.mean(psnrs)),
                   ssim=float(np.mean(ssims)))
    return out
