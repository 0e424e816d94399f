"""Layout-conditioned video diffusion (``backend=diffusion``) and local diffusers pipelines
(``backend=diffusers_pipeline``).

Importing this package is cheap: diffusers is imported by the modules that need it, when they run.
See docs/generator.md.
"""

from .backend import DiffusionBackend, DiffusionSettings
from .base import GeneratorBackend, GeneratorSettings
from .condition import condition_channels, layout_condition
from .pipeline_backend import DiffusersPipelineBackend, PipelineSettings

__all__ = ["DiffusionBackend", "DiffusionSettings", "DiffusersPipelineBackend", "GeneratorBackend",
           "GeneratorSettings", "PipelineSettings", "condition_channels", "layout_condition"]
