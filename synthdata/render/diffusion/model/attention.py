"""Chunked temporal attention.

diffusers' temporal transformer attends over frames with every pixel of every clip as one batch row
(batch = B·H·W). CUDA kernels launch one grid row per (batch × head) and fail with "CUDA error: invalid
argument" past 65,535 (seen on an H100 at 256² with a few clips). :class:`ChunkedAttnProcessor` runs the
same attention on slices of the batch so no launch exceeds the limit; the result is unchanged.
"""

from __future__ import annotations

import torch

__all__ = ["ChunkedAttnProcessor", "chunk_temporal_attention"]


class ChunkedAttnProcessor:
    """Wraps diffusers' ``AttnProcessor2_0``; splits the batch so ``rows × heads ≤ max_rows``."""

    def __init__(self, max_rows: int = 65535):
        from diffusers.models.attention_processor import AttnProcessor2_0

        self.inner = AttnProcessor2_0()
        self.max_rows = max_rows

    def __call__(self, attn, hidden_states: torch.Tensor, encoder_hidden_states=None, attention_mask=None,
                 temb=None, **kwargs) -> torch.Tensor:
        rows = max(1, self.max_rows // max(1, attn.heads))
        if hidden_states.shape[0] <= rows or attention_mask is not None:
            return self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb, **kwargs)
        ctx = encoder_hidden_states
        parts = []
        for start in range(0, hidden_states.shape[0], rows):
            sl = slice(start, start + rows)
            parts.append(self.inner(attn, hidden_states[sl], None if ctx is None else ctx[sl], None,
                                    None if temb is None else temb[sl], **kwargs))
        return torch.cat(parts)


def chunk_temporal_attention(unet: torch.nn.Module, max_rows: int = 65535) -> int:
    """Install :class:`ChunkedAttnProcessor` on every temporal attention of a diffusers video UNet
    (``transformer_in``, ``temp_attentions``, ``motion_modules``); returns how many were replaced."""
    temporal = ("transformer_in", "temp_attentions", "motion_modules")
    procs = dict(unet.attn_processors)
    n = 0
    for name in procs:
        if any(part in name for part in temporal):
            procs[name] = ChunkedAttnProcessor(max_rows)
            n += 1
    unet.set_attn_processor(procs)
    return n
