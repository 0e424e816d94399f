"""The one geometric mechanism: a per-frame homography applied to a clip and to every label.

Every geometric op (flip, crop/resize, affine, perspective, ParamCrop) only *samples* a homography
``A`` (T,3,3) mapping input pixel coordinates to output pixel coordinates (continuous, pixel centres
at i + 0.5); :func:`warp_item` applies it to everything, so all ops keep labels true the same way:

- RGB: bilinear (``kornia.geometry.transform.warp_perspective``); maps (semantic, instance, depth,
  normals, per-row masks): nearest, so ids are never blended and depth stays a depth of that surface;
- flow vectors are *transformed*, not only resampled: an output pixel p' comes from p = A_t⁻¹ p', the
  surface there moves to p + f in the next frame, which lands at A_{t+1}(p + f): the new flow is
  A_{t+1}(p + f) − p' (a horizontal flip negates dx; backward flow uses A_{t−1});
- visible boxes are the bounding boxes of the warped instance map (rows whose object left the image
  are dropped); amodal boxes, and boxes when no instance map is present, transform their corners;
  keypoints are mapped and get visibility 0 outside the image; point tracks (``points`` (P,T,2)) are
  mapped frame by frame and become not visible outside the image; a point no longer visible at its
  ``points_query_frame`` is queried at its nearest visible frame instead (-1 when it has none: as a
  window's, a query outside the clip);
- ``flow_valid`` is resampled and loses its bits where the warped flow now lands outside the image.

Shapes: video (T,3,H,W) uint8 or float; maps (T,H,W[,C]); boxes (M,4) xyxy with ``frame_index`` (M,).
"""

from __future__ import annotations

import torch

__all__ = ["warp_item", "apply_homography", "ROW_KEYS"]

#: per-row label keys that are filtered together when rows are dropped (``visible``: items of in-view rows)
ROW_KEYS = ("boxes", "boxes_amodal", "visible", "frame_index", "track_id", "class_id", "visible_fraction", "keypoints",
            "keypoint_visibility", "keypoint_flip", "masks")


def apply_homography(A: torch.Tensor, pts: torch.Tensor) -> torch.Tensor:
    """A (...,3,3) applied to points (...,N,2)."""
    h = torch.cat([pts, torch.ones_like(pts[..., :1])], -1) @ A.transpose(-1, -2)
    return h[..., :2] / h[..., 2:3].clamp(min=1e-9)


def _kornia_matrix(A: torch.Tensor) -> torch.Tensor:
    """Our pixel-centre convention (x + 0.5) → kornia's pixel-index convention."""
    shift = torch.eye(3, dtype=A.dtype, device=A.device)
    shift[:2, 2] = 0.5
    unshift = torch.eye(3, dtype=A.dtype, device=A.device)
    unshift[:2, 2] = -0.5
    return unshift @ A @ shift


def _warp(x: torch.Tensor, A: torch.Tensor, mode: str) -> torch.Tensor:
    """x (T,C,H,W) float warped by A (T,3,3) at the same size."""
    from kornia.geometry.transform import warp_perspective

    H, W = x.shape[-2:]
    return warp_perspective(x, _kornia_matrix(A).to(x.dtype), (H, W), mode=mode, padding_mode="zeros",
                            align_corners=True)


def _warp_map(m: torch.Tensor, A: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
    """A (T,H,W[,C]) map, nearest; pixels from outside the input get ``fill``."""
    chan = m.dim() == 4
    x = (m.permute(0, 3, 1, 2) if chan else m[:, None]).double()
    finite = torch.isfinite(x)
    inside = _warp(torch.ones_like(x[:, :1]), A, "nearest") > 0.5
    out = _warp(torch.where(finite, x, torch.zeros_like(x)), A, "nearest")
    was_finite = _warp(finite.double(), A, "nearest") > 0.5
    out = torch.where(was_finite, out, x.new_tensor(float("inf")))  # sky depth stays +inf
    out = torch.where(inside, out, x.new_tensor(fill))
    out = out.permute(0, 2, 3, 1) if chan else out[:, 0]
    return out.to(m.dtype)


def _warp_flow(flow: torch.Tensor, A: torch.Tensor, step: int) -> torch.Tensor:
    """(T,H,W,2) flow to frame t+step, for the output frames."""
    T, H, W, _ = flow.shape
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float64) + 0.5, torch.arange(W, dtype=torch.float64) + 0.5,
                            indexing="ij")
    grid = torch.stack([xs, ys], -1).reshape(1, -1, 2).to(flow.device)  # p'
    src = apply_homography(torch.linalg.inv(A.double()), grid)  # p (T,HW,2)
    f = _warp_map(flow, A, fill=float("nan")).double().reshape(T, -1, 2)  # f(p), nearest
    nxt = A.double()[torch.clamp(torch.arange(T) + step, 0, T - 1)]
    moved = apply_homography(nxt, src + f)
    return (moved - grid).reshape(T, H, W, 2).to(flow.dtype)


def _boxes_from_instance(instance: torch.Tensor, frame: torch.Tensor, track: torch.Tensor):
    """(M,4) bounding boxes of each row's object in the (T,H,W) instance map, and which are non-empty."""
    M = frame.shape[0]
    boxes = torch.zeros(M, 4, dtype=torch.float32)
    keep = torch.zeros(M, dtype=torch.bool)
    for r in range(M):
        ys, xs = torch.nonzero(instance[int(frame[r])] == int(track[r]) + 1, as_tuple=True)
        if len(xs):
            boxes[r] = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32)
            keep[r] = True
    return boxes, keep


def _corners(boxes: torch.Tensor, Af: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The (M,2) low and high corners of each box's four corners warped by its own ``Af`` (M,3,3)."""
    x0, y0, x1, y1 = boxes.double().unbind(-1)
    corners = torch.stack([torch.stack([x0, y0], -1), torch.stack([x1, y0], -1), torch.stack([x0, y1], -1),
                           torch.stack([x1, y1], -1)], 1)  # (M,4,2)
    moved = apply_homography(Af.double(), corners)
    return moved.min(1).values, moved.max(1).values


def _corner_boxes(boxes: torch.Tensor, Af: torch.Tensor, H: int, W: int):
    """Boxes warped by their corners and clamped to the frame, and which are non-empty (NaN: never)."""
    lo, hi = _corners(boxes, Af)
    out = torch.stack([lo[:, 0].clamp(0, W), lo[:, 1].clamp(0, H), hi[:, 0].clamp(0, W), hi[:, 1].clamp(0, H)], -1)
    keep = (out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])
    return out.float(), keep


def warp_item(video: torch.Tensor, labels: dict, A: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Apply the per-frame homographies ``A`` (T,3,3) to a clip and every label it has."""
    T, _, H, W = video.shape
    A = A.to(torch.float64)
    out_video = _warp(video.double(), A, "bilinear")
    out_video = out_video.round().clamp(0, 255).to(video.dtype) if not video.is_floating_point() else out_video.to(video.dtype)
    lab = dict(labels)
    special = {"depth", "flow_fwd", "flow_bwd", "points", "points_visible", *ROW_KEYS}
    for key, m in labels.items():  # every other (T,H,W[,C]) map: semantic, instance, road, lane, flow_valid, …
        if key not in special and isinstance(m, torch.Tensor) and m.dim() in (3, 4) and tuple(m.shape[:3]) == (T, H, W):
            lab[key] = _warp_map(m, A)
    if "depth" in lab:
        lab["depth"] = _warp_map(lab["depth"], A, fill=float("inf"))
    for key, step in (("flow_fwd", 1), ("flow_bwd", -1)):
        if key in lab:
            lab[key] = _warp_flow(lab[key], A, step)
    if "flow_valid" in lab:
        lab["flow_valid"] = _still_valid(lab["flow_valid"], lab.get("flow_fwd"), lab.get("flow_bwd"))
    if "frame_index" in lab:
        frame = lab["frame_index"]
        keep = _warp_rows(lab, A[frame.long()], H, W)
        if "keypoints" in lab and "keypoint_flip" in lab:  # a mirror swaps left and right keypoints
            mirrored = torch.linalg.det(A[frame.long(), :2, :2]) < 0  # (M,)
            order = torch.where(mirrored[:, None], lab["keypoint_flip"], torch.arange(lab["keypoints"].shape[1]))
            lab["keypoints"] = torch.gather(lab["keypoints"], 1, order[..., None].expand_as(lab["keypoints"]))
            if "keypoint_visibility" in lab:
                lab["keypoint_visibility"] = torch.gather(lab["keypoint_visibility"], 1, order)
        if "keypoints" in lab:
            kp = apply_homography(A[frame.long()], lab["keypoints"].double())  # (M,K,2)
            inside = (kp[..., 0] >= 0) & (kp[..., 0] < W) & (kp[..., 1] >= 0) & (kp[..., 1] < H)
            lab["keypoints"] = kp.to(labels["keypoints"].dtype)
            if "keypoint_visibility" in lab:
                lab["keypoint_visibility"] = torch.where(inside, lab["keypoint_visibility"], 0)
        if "masks" in lab:
            m = lab["masks"]
            lab["masks"] = torch.stack([_warp_map(m[r:r + 1].to(torch.uint8), A[int(frame[r]):int(frame[r]) + 1])[0]
                                        for r in range(m.shape[0])]).to(m.dtype) if m.shape[0] else m
        for key in ROW_KEYS:
            if key in lab:
                lab[key] = lab[key][keep]
    if "points" in lab:
        pts = apply_homography(A, lab["points"].transpose(0, 1).double()).transpose(0, 1)  # (P,T,2)
        inside = (pts[..., 0] >= 0) & (pts[..., 0] < W) & (pts[..., 1] >= 0) & (pts[..., 1] < H)
        lab["points"] = pts.to(labels["points"].dtype)
        if "points_visible" in lab:
            lab["points_visible"] = lab["points_visible"] & inside
            if "points_query_frame" in lab:
                lab["points_query_frame"] = _visible_query(lab["points_visible"], lab["points_query_frame"])
    return out_video, lab


def _warp_rows(lab: dict, Af: torch.Tensor, H: int, W: int) -> torch.Tensor:
    """Warp the per-row boxes in place (``Af``: each row's frame's homography) and say which rows stay.

    Visible boxes come from the warped instance map when the item has one (so they equal the mask's
    bounding box), else from their corners; amodal boxes from their corners. Items of visible rows keep
    the rows still showing; items of in-view rows (a ``visible`` key) keep those whose amodal box is
    still in the frame, hidden ones with a NaN visible box. ``visible_fraction`` (visible / amodal pixels
    in the frame) stays where the row's in-frame extent (its amodal box; the whole frame without one)
    lands whole in the output frame — a ratio of areas the warp scales alike — is 0 where nothing
    shows, and NaN where the warp cut into the extent: the amodal pixels left in the frame are unknown
    without an amodal mask."""
    M = Af.shape[0]
    extent = lab["boxes_amodal"] if "boxes_amodal" in lab else torch.tensor([[0.0, 0.0, W, H]]).expand(M, 4)
    lo, hi = _corners(extent, Af)
    eps = 1e-6 * max(H, W)
    whole = (lo >= -eps).all(-1) & (hi[:, 0] <= W + eps) & (hi[:, 1] <= H + eps)
    in_view = None
    if "boxes_amodal" in lab:
        lab["boxes_amodal"], in_view = _corner_boxes(lab["boxes_amodal"], Af, H, W)
    if "instance" in lab and "track_id" in lab:
        boxes, shown = _boxes_from_instance(lab["instance"], lab["frame_index"], lab["track_id"])
    elif "boxes" in lab:
        boxes, shown = _corner_boxes(lab["boxes"], Af, H, W)  # a NaN (hidden) box stays not shown
    else:
        boxes, shown = None, torch.ones(M, dtype=torch.bool)
    if "visible" in lab:  # in-view rows
        keep = in_view if in_view is not None else shown | ~lab["visible"]
        lab["visible"] = shown
        if boxes is not None:
            lab["boxes"] = torch.where(shown[:, None], boxes, torch.tensor(float("nan")))
    else:
        keep = shown
        if boxes is not None:
            lab["boxes"] = boxes
    if "visible_fraction" in lab:
        vf = lab["visible_fraction"]
        lab["visible_fraction"] = torch.where(~shown, torch.zeros_like(vf),
                                              torch.where(whole, vf, torch.full_like(vf, float("nan"))))
    return keep


def _still_valid(valid: torch.Tensor, fwd: torch.Tensor | None, bwd: torch.Tensor | None) -> torch.Tensor:
    """The warped ``flow_valid`` (bit 0 forward, bit 1 backward) without the bits whose warped flow lands
    outside the image (a flow the item does not carry keeps its resampled bit)."""
    T, H, W = valid.shape
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float64) + 0.5, torch.arange(W, dtype=torch.float64) + 0.5,
                            indexing="ij")
    out = valid.clone()
    for bit, flow in ((1, fwd), (2, bwd)):
        if flow is not None:
            tx, ty = xs + flow[..., 0].double(), ys + flow[..., 1].double()
            lands = (tx >= 0) & (tx < W) & (ty >= 0) & (ty < H)  # NaN flow: False
            out = torch.where(lands, out, out & ~bit)
    return out


def _visible_query(visible: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """Each point's query frame, moved to its nearest visible frame where it is not visible there
    (the earlier one on a tie); -1 for a point visible nowhere. Shape: visible (P,T), query (P,)."""
    P, T = visible.shape
    if T == 0:
        return query
    q = query.clamp(0, T - 1)
    in_clip = (query >= 0) & (query < T)
    dist = (torch.arange(T)[None, :] - q[:, None]).abs() * 2 + (torch.arange(T)[None, :] > q[:, None])
    dist = torch.where(visible, dist, torch.full_like(dist, 4 * T))
    best = dist.argmin(1)
    ok = visible[torch.arange(P), q] | ~in_clip  # a query outside the clip (a window's) stays as it was
    moved = torch.where(visible.any(1), best, torch.full_like(best, -1))
    return torch.where(ok, query, moved.to(query.dtype))
