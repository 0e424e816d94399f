"""Frames: what a backend produces for one clip — RGB plus a G-buffer, all on the backend's device.

Shape: T frames of H×W; N objects. ``instance`` is 0 for background and i+1 for object i (visible
surface at the pixel centre). ``amodal`` is every object's full coverage, occluders ignored
(in a tube or lumen only its part in the free space: what is inside the wall is embedded, not hidden).
A renderer told which maps its caller reads (the shard path: the recipe's labels, see
:func:`synthdata.annotate.maps_read`) may leave the :data:`OPTIONAL_MAPS` it does not read None; for
``amodal`` it then gives ``coverage``, the per-frame boxes and pixel counts the labels use.
``depth`` is camera z-depth in metres (+inf for sky). Flows are (dx, dy) in pixels from a pixel centre
to where the same surface point lands in the next (fwd) / previous (bwd) frame; NaN where it goes
behind the camera. ``surface`` is the hit point in the owning object's frame (world frame for the
environment), the anchor for textures, flow and point tracks; on a swinging part (limbs) it is the
point at the part's rest pose, and ``part`` (only when some part swings, else None) gives the render
primitive index (:func:`synthdata.motion.parts.part_poses` order; -1 environment and sky) whose motion
moves it. ``row_time`` (rolling shutter only) says when each row was exposed: every map is then at
those instants, and flow is between the same row's instants of consecutive frames.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from ..lazy import torch
from .coverage import Coverage

__all__ = ["Frames", "OPTIONAL_MAPS"]

#: Clip-size maps a renderer may leave out (None) when its caller does not read them: a byte per object
#: (amodal) or 12 bytes (normals, surface) per clip pixel that no enabled label needs.
OPTIONAL_MAPS = frozenset({"amodal", "normals", "surface", "part"})


#: Frames fields that are not per frame (not sliced or concatenated by frames)
_PER_CLIP = ("row_time", "coverage", "exposure_state")


@dataclass
class Frames:
    rgb: torch.Tensor  # (T,H,W,3) uint8
    instance: torch.Tensor  # (T,H,W) int32
    amodal: torch.Tensor | None  # (T,N,H,W) bool; None when only ``coverage`` was kept
    depth: torch.Tensor  # (T,H,W) float32
    normals: torch.Tensor | None  # (T,H,W,3) float32, world frame, 0 for sky
    flow_fwd: torch.Tensor  # (T,H,W,2) float32
    flow_bwd: torch.Tensor  # (T,H,W,2) float32
    surface: torch.Tensor | None  # (T,H,W,3) float32
    part: torch.Tensor | None = None  # (T,H,W) int32, only when some part swings
    row_time: torch.Tensor | None = None  # (H,) float64 exposure instant of each row, frames after the frame time; None: global shutter
    coverage: Coverage | None = None  # the amodal maps' per-frame summary, when the renderer reduced them as it went
    exposure_state: torch.Tensor | None = None  # () float64: auto-exposure after the last frame, where a later window continues

    def frames(self, first: int, stop: int, copy: bool = False) -> "Frames":
        """Frames ``first`` … ``stop - 1`` of these (per-frame fields sliced; ``row_time`` is per row; the
        exposure state stays the last frame's).
        ``copy``: tensors of their own, so keeping them does not keep these frames' buffers alive."""
        def cut(x):
            return None if x is None else x[first:stop].clone() if copy else x[first:stop]

        cov = self.coverage
        return replace(self, **{f.name: cut(getattr(self, f.name)) for f in fields(self)
                                if f.name not in _PER_CLIP},
                       coverage=None if cov is None else Coverage(cut(cov.boxes), cut(cov.pixels), cut(cov.border)))

    @staticmethod
    def cat(parts: list["Frames"]) -> "Frames":
        """Consecutive frames of one clip as one (per-frame fields concatenated; ``row_time`` the first's,
        the exposure state the last's)."""
        def join(xs):
            return None if xs[0] is None else torch.cat(xs)

        covs = [p.coverage for p in parts]
        return replace(parts[0], **{f.name: join([getattr(p, f.name) for p in parts]) for f in fields(parts[0])
                                    if f.name not in _PER_CLIP},
                       coverage=None if covs[0] is None else Coverage.cat(covs), exposure_state=parts[-1].exposure_state)

    def amodal_coverage(self, edge: torch.Tensor | None = None) -> Coverage:
        """Boxes, pixel counts and border contact of every object's amodal coverage, per frame; border:
        the image's, or ``edge`` (a field stop's, :func:`~.coverage.view_edge`), which a renderer that
        reduced its coverage already used."""
        return self.coverage if self.coverage is not None else Coverage.of(self.amodal, edge)

    @property
    def num_frames(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(H, W)."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[2])
