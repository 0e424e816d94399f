"""Named model sizes: ``tiny`` (tests, CPU seconds), ``small`` and ``base`` (GPU).

A preset is a UNet configuration, the clip size it is meant for, and its measured training memory.
The network is fully convolutional in space and attends over any number of frames, but a checkpoint
is only trusted at the clip size it was trained at: sampling another size needs
``backend.allow_resize=true`` (the sides must be multiples of :func:`size_multiple`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ....registry import Registry

__all__ = ["ModelPreset", "MODEL_PRESETS", "unet_config", "size_multiple"]


@dataclass(frozen=True)
class ModelPreset:
    block_out_channels: tuple[int, ...]
    norm_num_groups: int
    attention_head_dim: int
    cross_attention_dim: int
    layers_per_block: int = 1
    frames: int = 4
    size: int = 32
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: peak bytes a training step adds per pixel of one frame of one clip (fp32, measured on the CPU;
    #: see synthdata/train/memory.py). 0 = not measured: estimated from the channel widths
    train_bytes_per_pixel: int = 0


MODEL_PRESETS: Registry[ModelPreset] = Registry("model preset")
MODEL_PRESETS.register("tiny", ModelPreset((4, 8), 2, 4, 4, frames=4, size=32, train_bytes_per_pixel=14_000,
                                           notes="~50k parameters; unit tests and smoke runs on CPU"))
MODEL_PRESETS.register("small", ModelPreset((32, 64, 64), 8, 8, 32, frames=8, size=64, train_bytes_per_pixel=60_000,
                                            notes="~2.8M parameters; 64×64 clips, minutes on one GPU"))
MODEL_PRESETS.register("base", ModelPreset((64, 128, 256, 256), 32, 32, 64, layers_per_block=2, frames=16, size=128,
                                           train_bytes_per_pixel=230_000,
                                           notes="~70M parameters; 128×128 pixels or a VAE latent, hours on one GPU"))


def unet_config(preset: ModelPreset) -> dict[str, Any]:
    """Keyword arguments of diffusers' ``UNet3DConditionModel`` (channels in/out are added by the model).
    The full-resolution level has convolutions only (spatial self-attention over H·W tokens is what
    makes small models slow); every lower level has spatial and temporal attention."""
    levels = len(preset.block_out_channels)
    return {
        "down_block_types": ["DownBlock3D"] + ["CrossAttnDownBlock3D"] * (levels - 1),
        "up_block_types": ["CrossAttnUpBlock3D"] * (levels - 1) + ["UpBlock3D"],
        "block_out_channels": list(preset.block_out_channels),
        "layers_per_block": preset.layers_per_block,
        "norm_num_groups": preset.norm_num_groups,
        "cross_attention_dim": preset.cross_attention_dim,
        "attention_head_dim": preset.attention_head_dim,
        **preset.extra,
    }


def size_multiple(unet: dict[str, Any], latent_scale: int = 1) -> int:
    """Clip sides must be multiples of this (one 2× downsampling per level, times the VAE's factor)."""
    return 2 ** (len(unet["block_out_channels"]) - 1) * latent_scale
