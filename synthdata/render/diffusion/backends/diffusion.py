"""``backend=diffusion``: the ray-caster samples the layout, a trained generator paints the pixels.

Labels come from the ray-cast G-buffer exactly as with ``backend=raycast``; only ``rgb`` is replaced.
``render_many`` samples a whole batch of clips in one denoising loop (the shard runner calls it with
``backend.clip_batch`` clips); ``render`` is the one-clip case of the same code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Optional, Sequence

from ....lazy import torch
from pydantic import Field

from ....motion.types import Trajectories
from ....scene.types import Scene
from ...backend import BACKENDS
from ...types import Frames
from .base import GeneratorBackend, GeneratorSettings, semantic_of

if TYPE_CHECKING:
    from ....recipe.schema import RecipeSpec

__all__ = ["DiffusionBackend", "DiffusionSettings", "semantic_table"]


def semantic_table(recipe_classes: Sequence[str], model_classes: Sequence[str]) -> torch.Tensor:
    """Recipe class id (0 = background) → the model's class id, matched by name."""
    from ....classes import class_table

    return torch.from_numpy(class_table(recipe_classes, model_classes, missing=None))


class DiffusionSettings(GeneratorSettings):
    """``backend=diffusion``: ``checkpoint`` is a directory written by ``synthdata train-generator``;
    ``scheduler`` defaults to the checkpoint's; ``init: raycast`` refines the noised ray-cast render
    (SDEdit) with ``strength`` in (0, 1] (1 = pure noise); ``allow_resize`` samples a clip size other
    than the checkpoint's training size (refused otherwise)."""

    checkpoint: Optional[str] = None
    scheduler: Optional[Literal["dpmsolver", "ddim", "flowmatch"]] = None
    init: Literal["noise", "raycast"] = "noise"
    strength: float = Field(0.5, gt=0.0, le=1.0)
    allow_resize: bool = False


class DiffusionBackend(GeneratorBackend):
    name = "diffusion"
    Settings = DiffusionSettings
    settings: DiffusionSettings

    @classmethod
    def check(cls, spec: "RecipeSpec") -> list[tuple[str, str]]:
        """Everything that can be known from JSON before weights load or a GPU is touched: the
        checkpoint's classes, VAE, size, scheduler, memory."""
        from ....errors import UserError
        from ..model.checkpoint import check_checkpoint
        from ..model.memory import check_fits, estimate_bytes
        from ..sampling.objectives import OBJECTIVES
        from ..model.presets import size_multiple

        b = DiffusionSettings.model_validate(spec.backend.settings)
        try:
            cfg = check_checkpoint(b.checkpoint)  # the VAE's latent space included
        except UserError as exc:
            return [(exc.field, exc.message)]
        problems: list[tuple[str, str]] = []
        known = cfg["class_names"]
        missing = [n for n in spec.class_names if n not in known]
        if missing:
            problems.append(("backend.checkpoint", f"the model was trained on classes {known}; the recipe's "
                             f"{missing} are not among them (train on a dataset with these classes)"))
        c = spec.clip
        trained = (cfg["width"], cfg["height"], cfg["frames"])
        if (c.width, c.height, c.frames) != trained and not b.allow_resize:
            problems.append(("clip.width/clip.height/clip.frames",
                             f"{c.width}/{c.height}/{c.frames} differ from the {'/'.join(map(str, trained))} "
                             "backend.checkpoint was trained at; use that size, or backend.allow_resize=true to "
                             "sample another (quality is not checked there)"))
        mult = size_multiple(cfg["unet_config"], cfg["latent_scale"])
        for side in ("width", "height"):
            value = getattr(c, side)
            if value % mult:
                problems.append((f"clip.{side}", f"{value} is not a multiple of {mult}, which this checkpoint needs"))
        obj = OBJECTIVES.get(cfg["objective"], "objective")
        if b.scheduler is not None and b.scheduler not in obj.schedulers:
            problems.append(("backend.scheduler", f"{b.scheduler!r} cannot sample a checkpoint trained with objective "
                             f"{cfg['objective']!r}; use one of: {', '.join(obj.schedulers)}"))
        s = cfg["latent_scale"]
        rows = b.clip_batch * c.frames * (2 if b.guidance != 1.0 else 1)
        need = estimate_bytes(cfg["unet_config"], rows, c.height // s, c.width // s)
        what = f"sampling {b.clip_batch} clips of {c.frames}×{c.height}×{c.width}"
        if msg := check_fits(need, spec.device, what):
            problems.append(("backend.clip_batch", f"{msg}; lower backend.clip_batch, clip.frames or the clip size"))
        return problems

    def __init__(self, settings: DiffusionSettings | None = None, device: torch.device | str = "cpu"):
        from ..model.attention import chunk_temporal_attention
        from ..model.checkpoint import load_generator

        super().__init__(settings, device)
        self.gen = load_generator(self.settings.checkpoint, self.device)
        chunk_temporal_attention(self.gen.model.unet, self.settings.attention_chunk)

    def render_many(self, items: Sequence[tuple[Scene, Trajectories]]) -> list[Frames]:
        from ..conditioning.maps import condition_maps
        from ..sampling.sampler import sample_clips

        s = self.settings
        layouts = [self.gbuffer(scene, traj) for scene, traj in items]
        conds = []
        for (scene, _), f in zip(items, layouts):
            table = semantic_table(scene.class_names, self.gen.class_names).to(f.instance.device)
            semantic = table[semantic_of(scene, f.instance)]
            used = self.gen.model.config.condition_maps  # drop maps the model was trained without
            conds.append(condition_maps(semantic, f.instance if "instance" in used else None, f.depth,
                                          f.flow_fwd if "flow_fwd" in used else None, len(self.gen.class_names)))
        cond = torch.stack(conds).permute(0, 2, 1, 3, 4)  # (B,C,T,H,W)
        init = None
        if s.init == "raycast":
            init = torch.stack([f.rgb for f in layouts]).permute(0, 4, 1, 2, 3).float() / 127.5 - 1
        video = sample_clips(self.gen, cond, [scene.generator_seed for scene, _ in items], steps=s.steps,
                             scheduler=s.scheduler, guidance=s.guidance, init=init,
                             strength=s.strength if init is not None else 1.0, precision=s.precision)
        rgb = ((video + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 4, 1)  # (B,T,H,W,3)
        return [Frames(**{**vars(f), "rgb": rgb[i].to(f.rgb.device)}) for i, f in enumerate(layouts)]


BACKENDS.register("diffusion", DiffusionBackend)
