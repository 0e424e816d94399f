"""One clip, top to bottom: seed → scene → trajectories → frames → annotations → ClipRecord.

This is the whole generator for a single clip; everything in it is a pure function of
(spec, recipe hash, clip index) and the backend's device type.
"""

from __future__ import annotations

from ..annotate import annotate
from ..io.records import ClipRecord
from ..motion import rollout
from ..recipe.schema import RecipeSpec
from ..render.backend import Backend
from ..render.types import Frames
from ..scene import sample_scene
from ..seeding import clip_rng, clip_seed
from .timing import StageTimer

__all__ = ["clip_id", "make_clip"]


def clip_id(spec: RecipeSpec, clip_index: int) -> str:
    """File-name-safe id, unique within a dataset."""
    return f"{spec.name}-{clip_index:06d}"


def make_clip(spec: RecipeSpec, recipe_hash: str, clip_index: int, backend: Backend,
              timer: StageTimer | None = None) -> ClipRecord:
    timer = timer or StageTimer()
    seed = clip_seed(recipe_hash, spec.seed, clip_index)
    rng = clip_rng(seed)
    c = spec.clip
    with timer("sample"):
        scene = sample_scene(spec, rng)
    with timer("rollout"):
        traj = rollout(scene, c.frames, c.fps, c.width, c.height, rng)
    with timer("render"):
        frames = backend.render(scene, traj, c.width, c.height)
    with timer("annotate"):
        labels = annotate(frames, scene, traj, spec.annotations)
        cpu = Frames(**{k: v.cpu() for k, v in vars(frames).items()})
    return ClipRecord(clip_id=clip_id(spec, clip_index), clip_index=clip_index, seed=seed, params=scene.params,
                      traj=traj, frames=cpu, annotations=labels)
