"""Generated pixels over ray-cast labels: ``backend=diffusion`` (a layout-conditioned video diffusion
model trained with ``synthdata train-generator``) and ``backend=diffusers_pipeline`` (a local
pretrained diffusers video pipeline with a ControlNet). See docs/generator.md.

By kind: ``backends/`` (the Backend classes and their settings), ``model/`` (the conditioned video
UNet, presets, checkpoints, attention chunking, memory estimates), ``sampling/`` (objectives and
schedulers, the batched sampler, precision), ``conditioning/`` (G-buffer maps → condition tensors
and control frames). Words: the *layout* is the sampled scene and motion (what ``layout_hash``
covers); the *G-buffer* is its ray-cast maps; the *condition* is the tensor built from them.

The names below are the public API (``synthdata.train`` uses nothing else). Importing this package is
cheap: diffusers loads when a name that needs it is first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .backends import (DiffusersPipelineBackend, DiffusionBackend, DiffusionSettings, GeneratorBackend,
                       GeneratorSettings, PipelineSettings)
from .conditioning.maps import ALL_MAPS, REQUIRED_MAPS, condition_channels, condition_maps, resize_condition

_LAZY = {
    "LayoutVideoModel": "model.unet",
    "ModelPreset": "model.presets", "MODEL_PRESETS": "model.presets", "unet_config": "model.presets",
    "size_multiple": "model.presets",
    "chunk_temporal_attention": "model.attention",
    "TrainedGenerator": "model.checkpoint", "FrameCodec": "model.checkpoint", "load_generator": "model.checkpoint",
    "load_vae": "model.checkpoint", "read_vae_config": "model.checkpoint", "read_config": "model.checkpoint",
    "estimate_bytes": "model.memory", "check_fits": "model.memory", "available_bytes": "model.memory",
    "HEADROOM": "model.memory", "gib": "model.memory",
    "OBJECTIVES": "sampling.objectives", "make_scheduler": "sampling.objectives",
    "sample_clips": "sampling.sampler", "clip_noise": "sampling.sampler",
    "autocast": "sampling.precision", "torch_dtype": "sampling.precision",
    "palette": "conditioning.control", "CONTROLS": "conditioning.control",
}

__all__ = ["DiffusionBackend", "DiffusionSettings", "DiffusersPipelineBackend", "GeneratorBackend",
           "GeneratorSettings", "PipelineSettings", "ALL_MAPS", "REQUIRED_MAPS", "condition_channels",
           "condition_maps", "resize_condition", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
