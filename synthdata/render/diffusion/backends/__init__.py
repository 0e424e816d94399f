"""The generator backends: ``diffusion`` (our layout-conditioned model) and ``diffusers_pipeline``."""

from .base import GeneratorBackend, GeneratorSettings, semantic_of
from .diffusion import DiffusionBackend, DiffusionSettings
from .pipeline import DiffusersPipelineBackend, PipelineSettings

__all__ = ["GeneratorBackend", "GeneratorSettings", "semantic_of", "DiffusionBackend", "DiffusionSettings",
           "DiffusersPipelineBackend", "PipelineSettings"]
