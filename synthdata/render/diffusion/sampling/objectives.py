"""Training objectives and the diffusers schedulers that can sample each.

``v``: v-prediction on a cosine (``squaredcos_cap_v2``) DDPM schedule; sampled by DDIM or DPM-Solver++.
``flow``: rectified-flow / flow matching, ``x_s = (1 − s)·x0 + s·ε`` with target ``ε − x0`` and
timestep ``1000·s``; sampled by FlowMatchEuler or DPM-Solver++ with flow sigmas.

Shapes: ``x0``/``noise`` (B, …) and ``t`` (B,) — any trailing layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ....registry import Registry

__all__ = ["Objective", "OBJECTIVES", "SCHEDULERS", "make_scheduler", "TRAIN_TIMESTEPS"]

TRAIN_TIMESTEPS = 1000


def _bcast(a: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return a.reshape(-1, *([1] * (like.dim() - 1))).to(like.dtype)


@dataclass(frozen=True)
class Objective:
    name: str
    schedulers: tuple[str, ...]  # the first is the default
    sample_t: Callable[[int, torch.Generator], torch.Tensor]
    noisy: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
    target: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _alphas_cumprod() -> torch.Tensor:
    from diffusers import DDPMScheduler

    return DDPMScheduler(num_train_timesteps=TRAIN_TIMESTEPS, beta_schedule="squaredcos_cap_v2").alphas_cumprod


_ACP: list[torch.Tensor] = []


def _acp(t: torch.Tensor) -> torch.Tensor:
    if not _ACP:
        _ACP.append(_alphas_cumprod())
    return _ACP[0].to(t.device)[t.long()]


def _v_noisy(x0, noise, t):
    a = _acp(t)
    return _bcast(a.sqrt(), x0) * x0 + _bcast((1 - a).sqrt(), x0) * noise


def _v_target(x0, noise, t):
    a = _acp(t)
    return _bcast(a.sqrt(), x0) * noise - _bcast((1 - a).sqrt(), x0) * x0


def _flow_t(n: int, g: torch.Generator) -> torch.Tensor:
    # logit-normal sigmas (SD3): more steps in the middle of the path, where the task is hardest
    return torch.sigmoid(torch.randn(n, generator=g)) * TRAIN_TIMESTEPS


def _flow_noisy(x0, noise, t):
    s = _bcast(t / TRAIN_TIMESTEPS, x0)
    return (1 - s) * x0 + s * noise


def _flow_target(x0, noise, t):
    return noise - x0


OBJECTIVES: Registry[Objective] = Registry("objective")
OBJECTIVES.register("v", Objective("v", ("dpmsolver", "ddim"),
                                   lambda n, g: torch.randint(0, TRAIN_TIMESTEPS, (n,), generator=g),
                                   _v_noisy, _v_target))
OBJECTIVES.register("flow", Objective("flow", ("flowmatch", "dpmsolver"), _flow_t, _flow_noisy, _flow_target))


def _ddim(objective: str):
    from diffusers import DDIMScheduler

    return DDIMScheduler(num_train_timesteps=TRAIN_TIMESTEPS, beta_schedule="squaredcos_cap_v2",
                         prediction_type="v_prediction", clip_sample=False, timestep_spacing="trailing",
                         set_alpha_to_one=True)


def _dpmsolver(objective: str):
    from diffusers import DPMSolverMultistepScheduler

    if objective == "flow":
        return DPMSolverMultistepScheduler(num_train_timesteps=TRAIN_TIMESTEPS, use_flow_sigmas=True,
                                           prediction_type="flow_prediction", flow_shift=1.0)
    return DPMSolverMultistepScheduler(num_train_timesteps=TRAIN_TIMESTEPS, beta_schedule="squaredcos_cap_v2",
                                       prediction_type="v_prediction", timestep_spacing="trailing",
                                       final_sigmas_type="zero")


def _flowmatch(objective: str):
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(num_train_timesteps=TRAIN_TIMESTEPS, shift=1.0)


#: scheduler name → factory(objective) returning a fresh diffusers scheduler (they are stateful)
SCHEDULERS: Registry[Callable] = Registry("scheduler")
SCHEDULERS.register("ddim", _ddim)
SCHEDULERS.register("dpmsolver", _dpmsolver)
SCHEDULERS.register("flowmatch", _flowmatch)


def make_scheduler(name: str | None, objective: str, field: str = "backend.scheduler"):
    """A fresh scheduler for ``objective``; ``None`` picks the objective's default. Incompatible pairs
    (e.g. DDIM for a flow-matching model) raise a :class:`UserError` naming ``field``."""
    from ....errors import UserError

    obj = OBJECTIVES.get(objective, "objective")
    name = name or obj.schedulers[0]
    if name not in obj.schedulers:
        raise UserError(field, f"{name!r} cannot sample a checkpoint trained with objective {objective!r}; "
                               f"use one of: {', '.join(obj.schedulers)}")
    return SCHEDULERS.get(name, field)(objective)
