"""One clip, top to bottom: seed → scene → trajectories → frames → annotations → ClipRecord.

This is the whole generator for a single clip; everything in it is a pure function of
(spec, clip index) and the backend's device type. The clip's seed comes from the recipe's
*layout* hash, so every backend sees the same scenes for the same recipe and seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

from ..annotate import annotate, label_context, window_of
from ..io.records import ClipRecord
from ..motion import Trajectories, rollout
from ..recipe.schema import RecipeSpec
from ..render.backend import Backend
from ..scene import Scene, sample_scene
from ..seeding import clip_rng, clip_seed
from .timing import StageTimer

__all__ = ["ClipLayout", "clip_id", "make_clip_in_windows", "layout_clip", "make_clip", "make_clips"]


def clip_id(spec: RecipeSpec, clip_index: int) -> str:
    """File-name-safe id, unique within a dataset."""
    return f"{spec.name}-{clip_index:06d}"


@dataclass
class ClipLayout:
    """A clip before rendering: its seed, the sampled scene and the rolled-out motion."""

    clip_index: int
    seed: int
    scene: Scene
    traj: Trajectories


def layout_clip(spec: RecipeSpec, clip_index: int, timer: StageTimer, layout_hash: str | None = None) -> ClipLayout:
    seed = clip_seed(layout_hash or spec.layout_hash(), spec.seed, clip_index)
    rng = clip_rng(seed)
    c = spec.clip
    with timer("sample"):
        scene = sample_scene(spec, rng)
    with timer("rollout"):
        traj = rollout(scene, c.frames, c.fps, rng)
    return ClipLayout(clip_index, seed, scene, traj)


def make_clips(spec: RecipeSpec, clip_indices: Sequence[int], backend: Backend,
               timer: StageTimer | None = None) -> list[ClipRecord]:
    """Several clips with one ``render_many`` call (backends that batch across clips use it)."""
    timer = timer or StageTimer()
    layout_hash = spec.layout_hash()
    layouts = [layout_clip(spec, i, timer, layout_hash) for i in clip_indices]
    with timer("render"):
        frames = list(backend.render_many([(lay.scene, lay.traj) for lay in layouts]))
    records = []
    for k, lay in enumerate(layouts):
        f, frames[k] = frames[k], None  # a clip's G-buffer goes as soon as it is annotated (amodal, surface …)
        with timer("annotate"):
            labels = annotate(f, lay.scene, lay.traj, spec.annotations)
            rgb = f.rgb.cpu().numpy()
        del f
        records.append(ClipRecord(clip_id=clip_id(spec, lay.clip_index), clip_index=lay.clip_index, seed=lay.seed,
                                  params=lay.scene.params, traj=lay.traj, rgb=rgb, annotations=labels))
    return records


def make_clip(spec: RecipeSpec, clip_index: int, backend: Backend, timer: StageTimer | None = None) -> ClipRecord:
    return make_clips(spec, [clip_index], backend, timer)[0]


def make_clip_in_windows(spec: RecipeSpec, clip_index: int, backend: Backend, frames: int,
                         timer: StageTimer | None = None) -> Iterator[ClipRecord]:
    """One long clip as records of consecutive frames, first to last (run/windows.py). The clip is
    rendered ``frames`` frames at a time, each frame once; a frame is labelled once the neighbours its
    labels read (``label_context``) are rendered too, so each record lags its render window by that
    many frames, and the last few frames rendered (with their own context) are carried into the next
    render (``render_window(before=…)``). A record's ``traj`` is the clip's :meth:`~Trajectories.window`
    of its frames. The rows are the whole clip's, byte for byte, when the recipe allows windows."""
    timer = timer or StageTimer()
    lay = layout_clip(spec, clip_index, timer)
    T, ctx = lay.traj.num_frames, label_context(spec.annotations)
    if ctx is None:
        raise ValueError("a label of this recipe needs the whole clip (LabelKind.context None)")
    carry, done, exposure = None, 0, None  # frames rendered, not all labelled; frames labelled; auto-exposure
    for first in range(0, T, frames):
        stop = min(first + frames, T)
        with timer("render"):
            f = backend.render_window(lay.scene, lay.traj, first, stop, before=carry, exposure_state=exposure)
        exposure = f.exposure_state
        lo = first - (carry.num_frames if carry is not None else 0)  # f holds frames lo … stop - 1
        label = T if stop == T else max(stop - ctx, done)  # frames done … label - 1 have their context
        keep = max(min(label - ctx, stop), lo)  # the next frames' context starts here
        carry = f.frames(keep - lo, stop - lo, copy=True) if keep < stop < T else None  # not f's buffers
        if label > done:
            with timer("annotate"):
                labels = window_of(annotate(f, lay.scene, lay.traj.window(lo, stop), spec.annotations),
                                   done - lo, label - lo)
                rgb = f.rgb[done - lo:label - lo].cpu().numpy()
        del f
        if label > done:
            record = ClipRecord(clip_id=clip_id(spec, clip_index), clip_index=clip_index, seed=lay.seed,
                                params=lay.scene.params, traj=lay.traj.window(done, label), rgb=rgb, annotations=labels)
            del rgb, labels
            done = label
            yield record
            del record  # before the next window renders: one window in memory (the caller drops its own too)
