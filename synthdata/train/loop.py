"""``train_generator``: a layout→video diffusion model trained in plain torch, top to bottom.

check inputs (existing checkpoint, VAE folder, dataset tables, sizes, memory, the resume state) before
anything is decoded or written → decode the dataset once → build the model from a preset (seeded) →
[resume] → steps: sample clips, timesteps and noise from one seeded generator; drop the layout with
``cond_dropout``; loss = MSE to the objective's target; AdamW, gradient clipping, warm-up + cosine LR,
EMA → every ``save_every`` steps an atomic checkpoint, every ``sample_every`` a sample grid and the
loss curve.

The same config, seed and device give the same weights; a resumed run continues the exact stream
(optimizer, LR schedule, EMA and the random generator are all in ``training/state.safetensors``,
see ``state.py``: nothing in a checkpoint is ever unpickled).
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..errors import UserError
from ..io.atomic import atomic_write_bytes
from ..io.safety import check_output_folder
from ..render.backend import resolve_device
from ..render.diffusion import (MODEL_PRESETS, OBJECTIVES, FrameCodec, LayoutVideoModel, TrainedGenerator, autocast,
                               chunk_temporal_attention, load_vae, palette, read_vae_config, resize_condition,
                               sample_clips, size_multiple, unet_config)
from .config import TrainConfig
from .data import LayoutClips, LayoutInfo, inspect_layout_clips, load_layout_clips
from .report import plot_loss, sample_grid
from .state import LEGACY_STATE_FILE, STATE_FILE, load_state, save_state

__all__ = ["train_generator", "train_step", "TrainResult", "build_model"]

#: arguments a resumed run must share with the run that wrote the checkpoint
_RESUME_KEYS = ("model", "objective", "vae", "seed")


@dataclass
class TrainResult:
    out: Path
    steps: int
    log: list[tuple[int, float]] = field(default_factory=list)  # (step, mean loss since the last entry)
    seconds: float = 0.0
    steps_trained: int = 0  # in this call (fewer than ``steps`` after a resume)

    @property
    def steps_per_second(self) -> float:
        return self.steps_trained / self.seconds if self.seconds else 0.0


def _warmup_cosine(warmup: int, total: int):
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        p = (step - warmup) / max(1, total - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))  # down to 10% of lr

    return f


def _replace_dir(tmp: Path, final: Path) -> None:
    """Swap a fully written directory into place. The previous one is moved aside under a fresh name
    this call makes and removed after the rename: nothing else (a user's ``model.old``) is touched."""
    old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    if old.exists():
        shutil.rmtree(old)


def _check_inputs(cfg: TrainConfig) -> dict[str, Any] | None:
    """What can fail on the settings alone, before the dataset is read or a GPU is touched; returns the
    VAE's config (JSON) when ``vae`` is set."""
    MODEL_PRESETS.get(cfg.model, "model")
    out = Path(cfg.out)
    check_output_folder(out, "out")
    train_dir = out / "training"
    has_state = (train_dir / STATE_FILE).exists() or (train_dir / LEGACY_STATE_FILE).exists()
    if out.exists() and not out.is_dir():
        raise UserError("out", f"{out} is a file; expected a checkpoint directory")
    if has_state and not cfg.resume:
        raise UserError("out", f"{out} already holds a checkpoint; pass resume=true to continue it or pick another out")
    if cfg.resume and not has_state:
        raise UserError("resume", f"nothing to resume: {train_dir / STATE_FILE} does not exist")
    if out.exists() and not has_state and any(out.iterdir()):
        raise UserError("out", f"{out} exists and is not a generator checkpoint; pick an empty or new directory")
    vae_cfg = read_vae_config(cfg.vae, "vae") if cfg.vae is not None else None
    resolve_device(cfg.device)
    return vae_cfg


def _latent_scale(vae_cfg: dict[str, Any] | None) -> int:
    return 1 if vae_cfg is None else 2 ** (len(vae_cfg["block_out_channels"]) - 1)


def _check_size(cfg: TrainConfig, H: int, W: int, scale: int) -> None:
    mult = size_multiple(unet_config(MODEL_PRESETS.get(cfg.model, "model")), scale)
    if H % mult or W % mult:
        raise UserError("data", f"clips are {H}×{W}; model={cfg.model} needs sides that are multiples of {mult}")


def build_model(cfg: TrainConfig, data: LayoutClips, codec: FrameCodec) -> LayoutVideoModel:
    """The untrained model for ``cfg`` and ``data`` (weights from ``cfg.seed``)."""
    preset = MODEL_PRESETS.get(cfg.model, "model")
    H, W = data.size
    _check_size(cfg, H, W, codec.scale)
    with torch.random.fork_rng(devices=[]):  # weights from the seed, global RNG untouched
        torch.manual_seed(cfg.seed)
        return LayoutVideoModel(class_names=data.class_names, unet_config=unet_config(preset), objective=cfg.objective,
                                preset=cfg.model, frames=data.frames, height=H, width=W, latent_channels=codec.channels,
                                latent_scale=codec.scale, latent_scaling_factor=codec.scaling_factor,
                                condition_maps=data.maps)


def _resume_state(cfg: TrainConfig, info: LayoutInfo) -> dict[str, Any]:
    """The checkpoint's training state, checked against this run before anything heavy loads."""
    path = Path(cfg.out) / "training" / STATE_FILE
    state = load_state(path, "resume")
    kinds = {"args": dict, "class_names": list, "step": int, "log": list, "model": dict, "ema": dict, "opt": dict,
             "sched": dict, "rng": torch.Tensor}
    bad = [k for k, kind in kinds.items() if not isinstance(state.get(k), kind) or isinstance(state.get(k), bool)]
    if bad or not all(isinstance(e, list) and len(e) == 2 and isinstance(e[0], int) and isinstance(e[1], (int, float))
                      for e in state["log"]):
        raise UserError("resume", f"{path} lacks or mistypes {', '.join(bad) or 'log'}; expected a training state "
                                  "written by `synthdata train-generator`")
    if not 0 <= state["step"] <= MAX_STEPS or any(not 0 <= e[0] <= MAX_STEPS for e in state["log"]):
        raise UserError("resume", f"{path}: step {state['step']} (or a logged step) is outside [0, {MAX_STEPS}]")
    if why := _optimizer_problem(state["opt"]):
        raise UserError("resume", f"{path}: opt.{why}; expected a training state written by `synthdata train-generator`")
    prev = state["args"]
    changed = [k for k in _RESUME_KEYS if prev.get(k) != getattr(cfg, k)]
    if changed:
        raise UserError("resume", f"{', '.join(f'{k}={prev.get(k)!r}' for k in changed)} in the checkpoint "
                                  f"differ from this run's; resume with the same settings")
    if state["class_names"] != info.class_names:
        raise UserError("resume", f"the checkpoint was trained on classes {state['class_names']}, "
                                  f"this dataset has {info.class_names}")
    return state


#: the most training steps a state may record (a run is at most this long)
MAX_STEPS = 10**9
#: AdamW's hyperparameters in a saved optimizer state, by kind (torch's own state_dict keys)
_OPT_NUMBERS, _OPT_FLAGS, _OPT_MAYBE = {"lr", "eps", "weight_decay", "initial_lr"}, \
    {"amsgrad", "maximize", "capturable", "differentiable", "decoupled_weight_decay"}, {"foreach", "fused"}


def _optimizer_problem(opt: dict[str, Any]) -> str | None:
    """What is wrong with a saved AdamW state's hyperparameters (None: nothing). torch loads any value
    there and fails at the first step (a string ``lr`` was a traceback mid-run)."""
    import math

    groups = opt.get("param_groups")
    if not isinstance(groups, list) or not groups:
        return "param_groups: expected a list of parameter groups"
    for i, g in enumerate(groups):
        if not isinstance(g, dict):
            return f"param_groups[{i}]: expected a mapping"
        for k, v in g.items():
            number = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
            ok = (number if k in _OPT_NUMBERS else isinstance(v, bool) if k in _OPT_FLAGS else
                  v is None or isinstance(v, bool) if k in _OPT_MAYBE else
                  isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(b, (int, float)) and not isinstance(b, bool)
                                                                      and 0 <= b < 1 for b in v) if k == "betas" else
                  isinstance(v, list) and all(isinstance(p, int) and not isinstance(p, bool) for p in v) if k == "params"
                  else False)
            if not ok:
                return f"param_groups[{i}].{k}: {str(v)[:40]!r} is not a value AdamW's {k} takes"
    return None


def _restore(state: dict[str, Any], model, ema, opt, sched, gen: torch.Generator) -> None:
    """Load a checked state into freshly built objects; a state that does not fit them is bad input."""
    try:
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        gen.set_state(state["rng"])
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise UserError("resume", f"the training state does not fit this model ({str(exc).splitlines()[0]}); "
                                  "expected one written by the same train-generator settings") from None


def _progress(enabled: bool | None, total: int, done: int):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if enabled is None:
        enabled = sys.stderr.isatty()
    p = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
                 TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), disable=not enabled)
    return p, p.add_task("steps", total=total, completed=done, loss="—", rate="")


def _save(out: Path, cfg: TrainConfig, model, ema, opt, sched, gen: torch.Generator, step: int,
          log: list, vae) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out, prefix=".model-"))
    ema.save_pretrained(str(tmp), safe_serialization=True)
    _replace_dir(tmp, out / "model")
    if vae is not None and not (out / "vae").exists():
        tmp = Path(tempfile.mkdtemp(dir=out, prefix=".vae-"))
        vae.save_pretrained(str(tmp), safe_serialization=True)
        _replace_dir(tmp, out / "vae")
    train_dir = out / "training"
    train_dir.mkdir(exist_ok=True)
    atomic_write_bytes(train_dir / "args.json", json.dumps(cfg.model_dump(), indent=2).encode())
    atomic_write_bytes(train_dir / "log.jsonl", "".join(json.dumps({"step": s, "loss": l}) + "\n" for s, l in log).encode())
    save_state(train_dir / STATE_FILE, {
        "model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
        "step": step, "rng": gen.get_state(), "log": [[s, l] for s, l in log], "args": cfg.model_dump(),
        "class_names": list(model.config.class_names)})
    # written last: it names a step that the state file can resume from
    atomic_write_bytes(train_dir / "status.json", json.dumps({"step": step, "loss": log[-1][1] if log else None}).encode())


def train_step(model, ema, opt, sched, objective, x0: torch.Tensor, c: torch.Tensor, noise: torch.Tensor,
               t: torch.Tensor, step_seed: int, step: int, cfg: TrainConfig) -> torch.Tensor:
    """One optimisation step on a batch already on the model's device; returns the loss (no host sync).
    Shared by the loop and the memory measurement (``memory.py``), so the measured peak is this step's."""
    device = x0.device
    # the UNet's dropout draws from the global RNG: fork it and seed it from our generator
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(step_seed)
        with autocast(device, cfg.precision):
            pred = model(objective.noisy(x0, noise, t), t, c)
        loss = F.mse_loss(pred.float(), objective.target(x0, noise, t))
        opt.zero_grad(set_to_none=True)
        loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    opt.step()
    sched.step()
    decay = min(cfg.ema, (1 + step) / (10 + step))  # EMA warm-up: short runs still average
    with torch.no_grad():
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.lerp_(pm, 1 - decay)
    return loss.detach()


def make_optimizer(model, cfg: TrainConfig):
    """AdamW and the warm-up + cosine schedule for ``cfg``."""
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, _warmup_cosine(cfg.warmup, cfg.steps))


def _layout_rgb(cond: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(C,T,H,W) condition → (3,T,H,W) in [-1, 1]: class colours, boundaries in white."""
    sem = cond[: num_classes + 1].argmax(0)
    rgb = torch.from_numpy(palette(num_classes)).to(cond.device)[sem].permute(3, 0, 1, 2).float()
    rgb = torch.where(cond[num_classes + 1][None] > 0, torch.full_like(rgb, 255.0), rgb)
    return rgb / 127.5 - 1


def _write_samples(out: Path, step: int, ema, codec: FrameCodec, data: LayoutClips, n: int = 4) -> None:
    k = min(n, len(data))
    video = sample_clips(TrainedGenerator(ema, codec), data.cond[:k], seeds=list(range(k)), steps=20)
    rows = []
    for i in range(k):
        rows += [("layout", _layout_rgb(data.cond[i], len(data.class_names))), ("sample", video[i].cpu()),
                 ("target", data.video[i])]
    sample_grid(rows, out / "samples" / f"step-{step:06d}.png")


def train_generator(cfg: TrainConfig, on_step: Callable[[int], None] | None = None,
                    available: int | None = None) -> TrainResult:
    """Train (or resume) per ``cfg``; ``on_step(step)`` runs after each step's logging and saving
    (custom logging, or stopping a run early: an exception there leaves the last checkpoint).

    Every check on bad input (settings, dataset tables, sizes, memory, the resume state) runs before
    the dataset is decoded or anything is written. ``available`` replaces the measured free memory
    in the memory check (bytes; for tests and for planning a run on another machine)."""
    info, vae_cfg, state = _check_everything(cfg, available)
    run = _build(cfg, info)
    if state is not None:
        _restore(state, run.model, run.ema, run.opt, run.sched, run.gen)
        run.step, run.log = int(state["step"]), [(int(s), float(l)) for s, l in state["log"]]
        del state
    x_all, c_all = _model_inputs(run, resolve_device(cfg.device))
    return _loop(cfg, run, x_all, c_all, on_step)


def _check_everything(cfg: TrainConfig, available: int | None):
    """Settings, dataset tables, sizes, memory and the resume state: all before anything loads."""
    from .memory import check_training_memory  # lazily: `python -m synthdata.train.memory` imports this module

    vae_cfg = _check_inputs(cfg)
    info = inspect_layout_clips(cfg.data)
    _check_size(cfg, info.height, info.width, _latent_scale(vae_cfg))
    check_training_memory(cfg, info, vae_cfg, available)
    return info, vae_cfg, _resume_state(cfg, info) if cfg.resume else None


@dataclass
class _Run:
    """Everything one training run holds: data, model, its EMA copy, optimiser, the seeded generator."""

    data: Any
    codec: FrameCodec
    vae: Any
    model: Any
    ema: Any
    opt: Any
    sched: Any
    gen: torch.Generator
    objective: Any
    step: int = 0
    log: list = field(default_factory=list)


def _build(cfg: TrainConfig, info) -> _Run:
    """Decode the dataset and build the model, EMA and optimiser on the device."""
    device = resolve_device(cfg.device)
    objective = OBJECTIVES.get(cfg.objective, "objective")
    vae = load_vae(cfg.vae, "vae").eval().requires_grad_(False) if cfg.vae else None
    codec = FrameCodec(vae, float(vae.config.scaling_factor) if vae is not None else 1.0)
    data = load_layout_clips(cfg.data, info=info)
    model = build_model(cfg, data, codec)
    model.to(device).train()
    codec.to(device)
    chunk_temporal_attention(model.unet)
    ema = copy.deepcopy(model).requires_grad_(False).eval()
    opt, sched = make_optimizer(model, cfg)
    return _Run(data, codec, vae, model, ema, opt, sched, torch.Generator().manual_seed(cfg.seed), objective)


def _model_inputs(run: _Run, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's inputs, once: latents of every clip (frozen VAE) and the layout at latent resolution."""
    data = run.data
    x_all = torch.cat([run.codec.encode(v[None].to(device)).cpu() for v in data.video]) if run.vae is not None \
        else data.video
    h, w = x_all.shape[-2:]
    c_all = resize_condition(data.cond.permute(0, 2, 1, 3, 4), h, w).permute(0, 2, 1, 3, 4).contiguous()
    return x_all, c_all


def _loop(cfg: TrainConfig, run: _Run, x_all: torch.Tensor, c_all: torch.Tensor,
          on_step: Callable[[int], None] | None) -> TrainResult:
    """Steps from ``run.step`` to ``cfg.steps``: sample a batch from the seeded generator, one optimiser
    step, then log / save / sample on their schedules."""
    out, device = Path(cfg.out), resolve_device(cfg.device)
    N, B, gen = len(run.data), cfg.batch, run.gen
    step, log = run.step, run.log
    start, t0 = step, time.perf_counter()
    running = torch.zeros((), device=device)
    running_n = 0
    progress, task = _progress(cfg.progress, cfg.steps, step)
    with progress:
        while step < cfg.steps:
            idx = torch.randint(N, (B,), generator=gen)
            keep = (torch.rand(B, generator=gen) >= cfg.cond_dropout).float().view(B, 1, 1, 1, 1)
            noise = torch.randn((B, *x_all.shape[1:]), generator=gen)
            t = run.objective.sample_t(B, gen)
            step_seed = int(torch.randint(2**62, (1,), generator=gen))
            x0, c = x_all[idx].to(device), (c_all[idx] * keep).to(device)
            loss = train_step(run.model, run.ema, run.opt, run.sched, run.objective, x0, c, noise.to(device),
                              t.to(device), step_seed, step, cfg)
            step += 1
            running += loss
            running_n += 1
            if step % cfg.log_every == 0 or step == cfg.steps:
                log.append((step, float(running) / running_n))  # one host sync per log entry
                running.zero_()
                running_n = 0
                rate = (step - start) / (time.perf_counter() - t0)
                progress.update(task, completed=step, loss=f"{log[-1][1]:.4f}", rate=f"{rate:.2f} steps/s")
            if step % cfg.save_every == 0 or step == cfg.steps:
                _save(out, cfg, run.model, run.ema, run.opt, run.sched, gen, step, log, run.vae)
            if step % cfg.sample_every == 0 or step == cfg.steps:
                plot_loss([s for s, _ in log], [l for _, l in log], out / "loss.png")
                _write_samples(out, step, run.ema, run.codec, run.data)
            if on_step is not None:
                on_step(step)
    seconds = time.perf_counter() - t0
    return TrainResult(out=out, steps=step, log=log, seconds=seconds, steps_trained=step - start)
