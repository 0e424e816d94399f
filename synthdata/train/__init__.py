"""Training generators on synthdata datasets (``synthdata train-generator``).

Lives beside ``run`` as a driver: it reads datasets (``io``) and builds models (``render.diffusion``),
and no earlier stage imports it. The training loop (torch, diffusers) is imported on first use, so
the settings are checked, and bad ones refused, in well under a second.
"""

from __future__ import annotations

from typing import Any

from .config import TrainConfig, load_train_config

__all__ = ["TrainConfig", "TrainResult", "load_train_config", "train_generator"]


def __getattr__(name: str) -> Any:
    if name in ("TrainResult", "train_generator"):
        from . import loop

        return getattr(loop, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
