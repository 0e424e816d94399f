"""``backend=diffusers_pipeline``: a local, pretrained diffusers video pipeline with a ControlNet.

For pipelines such as ``AnimateDiffControlNetPipeline`` or ``AnimateDiffSparseControlNetPipeline``
saved with ``save_pretrained``: loaded with ``DiffusionPipeline.from_pretrained(path)`` (nothing is
downloaded; safetensors weights only, components from diffusers/transformers only, a folder holding a
pickle-format weight file is refused by name — see :func:`check_pipeline_folder`), our depth or
semantic maps are its control frames, the ray-caster's G-buffer its labels.
Components saved as ``null`` (e.g. no tokenizer/text encoder) load as ``None``; then the prompt
embedding is zeros (unconditional), otherwise ``backend.prompt`` is encoded once with the pipeline's
own tokenizer and text encoder.

These pipelines take one control video per call, so clips are sampled one after another (the
layout-conditioned ``backend=diffusion`` batches across clips). Each clip's starting latents come from
its own seed, as in ``backend=diffusion``.
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Optional, Sequence

from ....lazy import torch

from ....motion.types import Trajectories
from ....scene.types import Scene
from ...backend import BACKENDS
from ...types import Frames
from .base import GeneratorBackend, GeneratorSettings, semantic_of
from ..sampling.precision import fixed_threads

if TYPE_CHECKING:
    from ....recipe.schema import RecipeSpec

__all__ = ["DiffusersPipelineBackend", "PipelineSettings", "check_pipeline_folder", "read_model_index"]

#: pipelines' sides must be multiples of this (their check_inputs refuse others)
SIDE_MULTIPLE = 8


#: libraries a pipeline component may come from; diffusers imports the named module, so any other
#: name would import (run) arbitrary installed code
COMPONENT_LIBRARIES = ("diffusers", "transformers")


def read_model_index(path: str | None, field: str = "backend.path") -> dict[str, Any]:
    from ....errors import UserError
    from ..model.checkpoint import read_json_config

    if path is None:
        raise UserError(field, "required: a local directory written by a diffusers pipeline's save_pretrained")
    index = Path(path) / "model_index.json"
    if not index.is_file():
        raise UserError(field, f"{path} is not a diffusers pipeline directory (no model_index.json)")
    return read_json_config(index, field)


def check_pipeline_folder(path: str | None, field: str = "backend.path") -> dict[str, Any]:
    """The model index of a local pipeline folder that is safe to hand to ``from_pretrained``: a
    diffusers pipeline class, components from diffusers/transformers only, no pickle-format weights
    anywhere in it (one-line :class:`UserError` naming what is wrong)."""
    from ....errors import UserError
    from ..model.checkpoint import refuse_pickle_weights

    index = read_model_index(path, field)
    name = index.get("_class_name")
    if not isinstance(name, str) or _pipeline_class(index) is None:
        raise UserError(field, f"pipeline class {name!r} is not in this diffusers")
    for key, value in index.items():
        if key.startswith("_") or not isinstance(value, list):
            continue
        if len(value) != 2 or (value[0] is not None and (value[0] not in COMPONENT_LIBRARIES
                                                         or not isinstance(value[1], str))):
            raise UserError(field, f"{path}/model_index.json: component {key!r} is {value!r}; expected "
                                   f"[library, class] from {' or '.join(COMPONENT_LIBRARIES)}, or [null, null]")
    refuse_pickle_weights(path, field)
    return index


def _pipeline_class(index: dict[str, Any]):
    import diffusers

    cls = getattr(diffusers, str(index.get("_class_name")), None)
    return cls if isinstance(cls, type) and issubclass(cls, diffusers.DiffusionPipeline) else None


class PipelineSettings(GeneratorSettings):
    """``backend=diffusers_pipeline``: ``path`` is a local folder written by a diffusers video
    pipeline's ``save_pretrained`` (with a ControlNet); ``control`` picks which map is fed as control
    frames; ``prompt`` needs the pipeline's own tokenizer and text encoder."""

    path: Optional[str] = None
    control: Literal["depth", "semantic"] = "depth"
    prompt: Optional[str] = None
    guidance: float = 1.0


class DiffusersPipelineBackend(GeneratorBackend):
    name = "diffusers_pipeline"
    Settings = PipelineSettings
    settings: PipelineSettings

    @classmethod
    def check(cls, spec: "RecipeSpec") -> list[tuple[str, str]]:
        from ....errors import UserError

        b = PipelineSettings.model_validate(spec.backend.settings)
        if importlib.util.find_spec("transformers") is None:  # diffusers' video pipelines import it
            return [("backend.name", "diffusers_pipeline needs transformers: pip install 'synthdata[pipelines]'")]
        try:
            index = check_pipeline_folder(b.path)
        except UserError as exc:
            return [(exc.field, exc.message)]
        problems: list[tuple[str, str]] = []
        pipe_cls = _pipeline_class(index)
        if "conditioning_frames" not in inspect.signature(pipe_cls.__call__).parameters or "controlnet" not in index:
            problems.append(("backend.path", f"{index['_class_name']} takes no ControlNet control frames; use a video "
                                             "pipeline with a ControlNet (e.g. AnimateDiffControlNetPipeline)"))
        if b.prompt is not None and (index.get("tokenizer", [None])[0] is None
                                     or index.get("text_encoder", [None])[0] is None):
            problems.append(("backend.prompt", "this pipeline has no tokenizer/text encoder; leave backend.prompt "
                                               "unset (unconditional) or use a pipeline saved with them"))
        for side in ("width", "height"):
            value = getattr(spec.clip, side)
            if value % SIDE_MULTIPLE:
                problems.append((f"clip.{side}", f"{value} is not a multiple of {SIDE_MULTIPLE}, which diffusers "
                                                 "video pipelines need"))
        return problems

    def __init__(self, settings: PipelineSettings | None = None, device: torch.device | str = "cpu"):
        from diffusers import DiffusionPipeline

        from ..model.attention import chunk_temporal_attention
        from ..sampling.precision import torch_dtype

        super().__init__(settings, device)
        spec = self.settings
        index = check_pipeline_folder(spec.path)  # also here: workers build backends from specs alone
        absent = {k: None for k, v in index.items() if isinstance(v, list) and v[0] is None}
        dtype = torch_dtype(spec.precision, self.device)
        self.pipe = DiffusionPipeline.from_pretrained(spec.path, dtype=dtype, use_safetensors=True,
                                                      local_files_only=True, low_cpu_mem_usage=False, **absent)
        self.pipe.to(self.device)
        self.pipe.set_progress_bar_config(disable=True)
        chunk_temporal_attention(self.pipe.unet, spec.attention_chunk)
        self._embeds = self._prompt_embeds()
        self._call_params = inspect.signature(type(self.pipe).__call__).parameters

    def _prompt_embeds(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.settings.prompt is not None:
            pos, neg = self.pipe.encode_prompt(self.settings.prompt, self.device, 1, True, negative_prompt="")
            return pos, neg
        dim = self.pipe.unet.config.cross_attention_dim
        z = torch.zeros(1, 1, dim, device=self.device, dtype=self.pipe.unet.dtype)
        return z, z

    def render_many(self, items: Sequence[tuple[Scene, Trajectories]]) -> list[Frames]:
        from PIL import Image

        from ..conditioning.control import CONTROLS
        from ..sampling.sampler import clip_noise

        control = CONTROLS[self.settings.control]
        vae_scale = 2 ** (len(self.pipe.vae.config.block_out_channels) - 1)
        latent_ch = self.pipe.unet.config.in_channels
        out = []
        for scene, traj in items:
            f = self.gbuffer(scene, traj)
            T, height, width = f.instance.shape
            frames = control(f.depth, semantic_of(scene, f.instance), len(scene.class_names)).cpu().numpy()
            latents = clip_noise([scene.generator_seed], (latent_ch, T, height // vae_scale, width // vae_scale))
            kwargs: dict[str, Any] = {}
            if "controlnet_frame_indices" in self._call_params:  # SparseControlNet: every frame is a key frame
                kwargs["controlnet_frame_indices"] = list(range(T))
            pos, neg = self._embeds
            with fixed_threads(self.device):
                video = self._sample(pos, neg, T, height, width, [Image.fromarray(x) for x in frames], latents,
                                     scene.generator_seed, kwargs)
            rgb = (video.float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1)  # (T,H,W,3)
            out.append(Frames(**{**vars(f), "rgb": rgb.to(f.rgb.device)}))
        return out

    def _sample(self, pos, neg, T, height, width, images, latents, seed, kwargs) -> torch.Tensor:
        """One clip through the pipeline: (T,3,H,W) float in [0, 1]."""
        return self.pipe(prompt_embeds=pos, negative_prompt_embeds=neg, num_frames=T, height=height, width=width,
                         num_inference_steps=self.settings.steps, guidance_scale=self.settings.guidance,
                         conditioning_frames=images, output_type="pt",
                         latents=latents.to(self.device, self.pipe.unet.dtype),
                         generator=torch.Generator().manual_seed(seed % 2**63), **kwargs).frames[0]


BACKENDS.register("diffusers_pipeline", DiffusersPipelineBackend)
