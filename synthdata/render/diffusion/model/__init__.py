"""The generator model: the conditioned video UNet, its size presets, checkpoints, attention, memory.

Importing this package imports diffusers (the UNet); ``synthdata.render.diffusion`` loads it lazily.
"""
