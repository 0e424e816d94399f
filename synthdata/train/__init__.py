"""Training generators on synthdata datasets (``synthdata train-generator``).

Lives beside ``run`` as a driver: it reads datasets (``io``) and builds models (``render.diffusion``),
and no earlier stage imports it.
"""

from .config import TrainConfig, load_train_config
from .loop import TrainResult, train_generator

__all__ = ["TrainConfig", "TrainResult", "load_train_config", "train_generator"]
