"""G-buffer → per-object labels for one clip (vectorised over the clip, per-pixel passes in frame chunks:
:mod:`.chunks`; on the frames' device)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from ..motion.types import Trajectories
from ..recipe.schema import AnnotationSpec
from ..render.coverage import view_edge
from ..render.types import Frames
from ..scene.optics import field_view
from ..scene.types import Scene
from .kinds import LABEL_KINDS, enabled_kinds, switches
from .chunks import frame_chunks
from .masks import instance_rles, instance_stats
from .types import Annotations

__all__ = ["annotate", "maps_read", "window_of"]

#: what :func:`annotate` itself reads of ``Frames`` (amodal coverage through ``amodal_coverage()``)
_CORE_READS = frozenset({"rgb", "instance", "depth", "flow_fwd", "flow_bwd", "coverage"})


def maps_read(spec: AnnotationSpec) -> frozenset[str] | None:
    """The ``Frames`` fields the labels of ``spec`` read: :func:`annotate`'s own and every enabled
    kind's (``LabelKind.reads``); None when an enabled kind does not say (then every map is needed). A
    renderer may leave the other optional maps out (``RaycastBackend.keep``)."""
    reads = [k.reads for k in enabled_kinds(switches(spec))]
    return None if any(r is None for r in reads) else _CORE_READS.union(*reads)


_ROWS = ("frame_index", "track_id", "class_id", "bbox_visible", "bbox_amodal", "visible_pixels", "amodal_pixels",
         "visible_fraction", "occluded", "truncated", "in_view", "mask_rle")
_MAPS = ("semantic", "depth", "flow_fwd", "flow_bwd", "instance")


def window_of(a: Annotations, lo: int, hi: int) -> Annotations:
    """Frames ``lo`` … ``hi - 1`` of ``a``: the labels of a window annotated with context frames on
    each side (:func:`~.kinds.label_context`), without them. Kinds with a table of their own need the whole
    clip and are refused."""
    N = a.num_objects
    labels = {}
    for name, v in a.labels.items():
        table = LABEL_KINDS.get(name).table
        if table not in ("objects", "frames"):
            raise ValueError(f"label kind {name!r} has a table of its own: it labels whole clips only")
        labels[name] = v[lo * N:hi * N] if table == "objects" else v[lo:hi]
    return replace(a, **{f: getattr(a, f)[lo * N:hi * N] for f in _ROWS if getattr(a, f) is not None},
                   **{f: getattr(a, f)[lo:hi] for f in _MAPS if getattr(a, f) is not None},
                   num_frames=hi - lo, labels=labels)


def _host(x: torch.Tensor, on: bool, dtype=None) -> np.ndarray | None:
    if not on:
        return None
    x = x.cpu().numpy()
    return x.astype(dtype) if dtype is not None else x


def annotate(frames: Frames, scene: Scene, traj: Trajectories, spec: AnnotationSpec | None = None) -> Annotations:
    """Every label of one clip, on the host, honouring the recipe's ``annotations`` switches (a label
    switched off is ``None``; visibility flags are always derived, from amodal coverage); every enabled
    registered label kind (:mod:`.kinds`) lands in ``labels``."""
    spec = spec or AnnotationSpec()
    T, N = frames.num_frames, len(scene.objects)
    vis_px, vis_box = instance_stats(frames.instance, N)  # (T,N), (T,N,4)
    cov = frames.amodal_coverage(view_edge(field_view(scene)))  # truncated: cut by the image or a field stop
    amo_box, amo_px, border = cov.boxes, cov.pixels, cov.border  # (T,N,4), (T,N), (T,N)
    in_view = amo_px > 0
    frac = torch.where(in_view, vis_px / amo_px.clamp(min=1), torch.zeros_like(vis_px, dtype=torch.float32))
    class_table = torch.as_tensor(np.concatenate([[0], scene.objects.class_id]), device=frames.instance.device)
    sem_dtype = torch.uint8 if len(scene.class_names) < 256 else torch.int32
    semantic = torch.empty(frames.instance.shape, dtype=sem_dtype, device=frames.instance.device)
    for c in frame_chunks(T, frames.instance.shape[1] * frames.instance.shape[2]):  # int64 indices a chunk at a time
        semantic[c] = class_table[frames.instance[c].long()]
    rles = instance_rles(frames.instance, N) if spec.masks else [""] * (T * N)

    def rows(x: torch.Tensor) -> np.ndarray:  # (T,N,...) → (T·N,...) on the host
        return x.reshape(T * N, *x.shape[2:]).cpu().numpy()

    return Annotations(
        frame_index=np.repeat(np.arange(traj.first, traj.first + T, dtype=np.int32), N),  # a window's: the clip's
        track_id=np.tile(np.arange(N, dtype=np.int32), T),
        class_id=np.tile(scene.objects.class_id.astype(np.int32), T),
        bbox_visible=rows(vis_box),
        bbox_amodal=rows(amo_box) if spec.amodal else None,
        visible_pixels=rows(vis_px).astype(np.int64),
        amodal_pixels=rows(amo_px).astype(np.int64) if spec.amodal else None,
        visible_fraction=rows(frac).astype(np.float32),
        occluded=rows(in_view & (vis_px < amo_px)),
        truncated=rows(in_view & border),
        in_view=rows(in_view),
        mask_rle=rles,
        semantic=_host(semantic, spec.semantic, np.uint8 if sem_dtype == torch.uint8 else np.uint16),
        depth=_host(frames.depth, spec.depth),
        flow_fwd=_host(frames.flow_fwd, spec.flow),
        flow_bwd=_host(frames.flow_bwd, spec.flow),
        instance=_host(frames.instance, spec.instance, np.uint16),
        num_frames=T,
        num_objects=N,
        labels={k.name: k.compute(frames, scene, traj, *((spec,) if k.uses_spec else ()))
                for k in enabled_kinds(switches(spec))},
    )

