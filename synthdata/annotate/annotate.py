"""G-buffer → per-object labels for one clip (the whole clip at once, on the frames' device)."""

from __future__ import annotations

import numpy as np
import torch

from ..motion.types import Trajectories
from ..recipe.schema import AnnotationSpec
from ..render.types import Frames
from ..scene.types import Scene
from .box3d import boxes_3d
from .masks import encode_rle, mask_boxes, touches_border
from .types import Annotations

__all__ = ["annotate"]


def annotate(frames: Frames, scene: Scene, traj: Trajectories, spec: AnnotationSpec | None = None) -> Annotations:
    spec = spec or AnnotationSpec()
    T, (H, W) = frames.num_frames, frames.size
    N = len(scene.objects)
    ids = torch.arange(1, N + 1, device=frames.instance.device, dtype=frames.instance.dtype)
    visible = (frames.instance[:, None] == ids[None, :, None, None]).reshape(T * N, H, W)
    amodal = frames.amodal.reshape(T * N, H, W)
    vis_px = visible.sum((1, 2))
    amo_px = amodal.sum((1, 2))
    in_view = amo_px > 0
    frac = torch.where(in_view, vis_px / amo_px.clamp(min=1), torch.zeros_like(vis_px, dtype=torch.float32))
    class_table = torch.as_tensor(np.concatenate([[0], scene.objects.class_id]), device=frames.instance.device)
    sem_dtype = torch.uint8 if len(scene.class_names) < 256 else torch.int32
    semantic = class_table[frames.instance.long()].to(sem_dtype)
    rles = encode_rle(visible) if spec.masks else [""] * (T * N)
    np_ = lambda x: x.cpu().numpy()  # noqa: E731
    return Annotations(
        frame_index=np.repeat(np.arange(T, dtype=np.int32), N),
        track_id=np.tile(np.arange(N, dtype=np.int32), T),
        class_id=np.tile(scene.objects.class_id.astype(np.int32), T),
        bbox_visible=np_(mask_boxes(visible)),
        bbox_amodal=np_(mask_boxes(amodal)),
        visible_pixels=np_(vis_px).astype(np.int64),
        amodal_pixels=np_(amo_px).astype(np.int64),
        visible_fraction=np_(frac).astype(np.float32),
        occluded=np_(in_view & (vis_px < amo_px)),
        truncated=np_(in_view & touches_border(amodal)),
        in_view=np_(in_view),
        mask_rle=rles,
        box3d=boxes_3d(traj.object_poses, traj.camera_poses, scene.objects.half_size),
        semantic=np_(semantic).astype(np.uint8 if sem_dtype == torch.uint8 else np.uint16),
    )
