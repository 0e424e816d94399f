"""Long clips in windows of frames: memory that does not grow with the clip's length.

A clip is rendered, labelled, encoded and written whole unless it has more than :data:`WINDOW_PIXELS`
pixels (frames × width × height); then, when its recipe allows it, it is made window by window
(:func:`synthdata.run.pipeline.make_clip_in_windows`): each window of frames is rendered, labelled, appended
to the clip's MP4 and written as its own row group of the frames table, so a worker holds one window's
maps, never the clip's. A recipe allows it when

- its backend renders frames independently of the rest of the clip (``Settings.window_step``: the
  ray-caster, a batch of frames at a time, a rolling shutter's bands too; auto-exposure carries its
  state from window to window, sensor noise draws a stream per frame), and
- every enabled label reads a bounded number of neighbouring frames (``LabelKind.context``: a frame is
  labelled once its neighbours are rendered; the last frames rendered are carried into the next
  window's render, so every frame is rendered once; point ``tracks`` need the whole clip).

The rows written are the whole clip's, byte for byte (tested); the frames part differs in its row
groups (one per window). The window length is a function of the recipe and ``window_pixels``, so the
same command gives the same files on every machine.
"""

from __future__ import annotations

from ..annotate.kinds import label_context
from ..recipe.schema import RecipeSpec
from ..render.backend import backend_settings

__all__ = ["WINDOW_PIXELS", "window_frames"]

#: Clips of more pixels than this are made in windows of about this many pixels (2²³: 256²×128 frames,
#: 1280×720×9; a window's peak memory is the memory model's for a clip of that size).
WINDOW_PIXELS = 2**23


def whole_clips_because(spec: RecipeSpec) -> str | None:
    """Why ``spec``'s clips are made whole whatever their length (what a memory refusal adds), or None
    when they may be made in windows."""
    from ..annotate.kinds import enabled_kinds, switches
    from ..io.sinks import SINKS

    whole = [f"annotations.{k.name}" for k in enabled_kinds(switches(spec.annotations)) if k.context is None]
    if whole:
        return f"{', '.join(whole)} read{'s' if len(whole) == 1 else ''} the whole clip"
    if not getattr(SINKS.get(spec.output.sink, "output.sink"), "takes_windows", False):
        return f"output.sink {spec.output.sink} takes whole clips"
    if backend_settings(spec.backend).window_step(spec) <= 0:
        return f"backend {spec.backend.name} renders whole clips"
    return None


def window_frames(spec: RecipeSpec, pixels: int = WINDOW_PIXELS) -> int:
    """Frames per window for ``spec``'s clips: the most whole multiples of the backend's window step
    that fit ``pixels`` (at least one step); 0 when clips are made whole (they are not longer than
    ``pixels``, or the recipe does not allow windows: its backend, its labels, or its sink, which must
    say ``takes_windows``)."""
    c = spec.clip
    frame_px = c.width * c.height
    if c.frames * frame_px <= pixels or label_context(spec.annotations) is None:
        return 0
    from ..io.sinks import SINKS  # long clips only: short runs' start-up never pays for the writer's imports

    if not getattr(SINKS.get(spec.output.sink, "output.sink"), "takes_windows", False):
        return 0
    step = backend_settings(spec.backend).window_step(spec)
    if step <= 0:
        return 0
    n = max(step, pixels // frame_px // step * step)
    return n if n < c.frames else 0
