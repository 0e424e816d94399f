"""``TrainConfig``: the settings of ``synthdata train-generator``, validated before anything loads."""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Sequence

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from ..errors import DEVICE_PATTERN, UserError, check_device, model_problems

__all__ = ["TrainConfig", "load_train_config"]


class TrainConfig(BaseModel):
    """``data`` is a synthdata dataset (its RGB is the target, its G-buffer the condition); ``out`` the
    checkpoint directory. ``model`` a size preset; ``objective`` ``v`` (v-prediction, DDIM/DPM-Solver)
    or ``flow`` (flow matching, FlowMatchEuler/DPM-Solver). ``cond_dropout`` replaces the layout by
    zeros with this probability (classifier-free guidance). ``vae`` is an optional local
    AutoencoderKL directory (frozen, per frame, safetensors only); without it the model works on pixels.
    A run whose estimated peak memory exceeds what is available is refused before anything loads;
    ``force_memory=true`` starts it anyway."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: str
    out: str
    model: str = "tiny"
    objective: Literal["v", "flow"] = "v"
    steps: int = Field(1000, ge=1, le=10_000_000)
    batch: int = Field(4, ge=1, le=4096)
    lr: float = Field(1e-3, gt=0, le=1.0)
    warmup: int = Field(20, ge=0)
    weight_decay: float = Field(0.0, ge=0)
    grad_clip: float = Field(1.0, gt=0)
    ema: float = Field(0.999, ge=0, lt=1)
    cond_dropout: float = Field(0.1, ge=0, le=1)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    device: Annotated[str, AfterValidator(check_device)] = Field("auto", json_schema_extra={"pattern": DEVICE_PATTERN})
    seed: int = Field(0, ge=0, lt=2**63)
    resume: bool = False
    log_every: int = Field(10, ge=1)
    sample_every: int = Field(500, ge=1)
    save_every: int = Field(500, ge=1)
    vae: Optional[str] = None
    progress: Optional[bool] = None
    force_memory: bool = False


def load_train_config(args: Sequence[str]) -> TrainConfig:
    """``key=value`` arguments → :class:`TrainConfig`; one line per bad field."""
    data: dict[str, str] = {}
    for a in args:
        key, sep, value = a.partition("=")
        if not sep or not key:
            raise UserError(a, "expected key=value, e.g. data=data/shapes out=ckpt/shapes")
        data[key] = value
    for key in ("data", "out"):
        if key not in data:
            raise UserError(key, "required")
    try:
        return TrainConfig.model_validate({k: (None if v in ("null", "None") else v) for k, v in data.items()})
    except ValidationError as exc:
        raise model_problems(exc, "") from None
