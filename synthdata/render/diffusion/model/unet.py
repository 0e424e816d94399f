"""``LayoutVideoModel``: a diffusers ``UNet3DConditionModel`` that sees the layout on its input channels.

The noisy frames (latent or pixel) and the layout condition are concatenated on the channel axis
(InstructPix2Pix / SVD style), so every output pixel is conditioned on the labels at the same place and
frame. The UNet's cross-attention gets a few learned context tokens (there is no text).
``save_pretrained``/``from_pretrained`` come from diffusers' ``ModelMixin`` (config.json + safetensors).

Shapes: ``x`` (B,c,T,h,w) noisy frames, ``t`` (B,) timesteps, ``cond`` (B,C,T,h,w) → (B,c,T,h,w).
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import ModelMixin, UNet3DConditionModel
from diffusers.configuration_utils import ConfigMixin, register_to_config

from ..conditioning.maps import condition_channels
from .presets import size_multiple

__all__ = ["LayoutVideoModel"]


class LayoutVideoModel(ModelMixin, ConfigMixin):
    config_name = "config.json"

    @register_to_config
    def __init__(self, class_names: list[str], unet_config: dict[str, Any], objective: str = "v", preset: str = "tiny",
                 frames: int = 4, height: int = 32, width: int = 32, latent_channels: int = 3, latent_scale: int = 1,
                 latent_scaling_factor: float = 1.0, context_tokens: int = 1,
                 condition_maps: tuple[str, ...] = ("semantic", "instance", "depth", "flow_fwd")):
        super().__init__()
        self.unet = UNet3DConditionModel(in_channels=latent_channels + condition_channels(len(class_names)),
                                         out_channels=latent_channels, **unet_config)
        self.context = torch.nn.Parameter(torch.zeros(1, context_tokens, unet_config["cross_attention_dim"]))

    @property
    def num_classes(self) -> int:
        return len(self.config.class_names)

    @property
    def cond_channels(self) -> int:
        return condition_channels(self.num_classes)

    @property
    def size_multiple(self) -> int:
        return size_multiple(self.config.unet_config, self.config.latent_scale)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        ctx = self.context.expand(x.shape[0], -1, -1).to(x.dtype)
        return self.unet(torch.cat([x, cond.to(x.dtype)], dim=1), t, encoder_hidden_states=ctx).sample
