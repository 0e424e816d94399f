"""Will a training run fit? Peak memory of ``train-generator``, estimated before anything loads.

A run holds two things: the decoded dataset (float32 video + layout condition of every clip, for the
whole run, on the host; its size is exact, see ``LayoutInfo.decoded_bytes``) and one training step
(weights, EMA copy, gradients, AdamW moments, activations kept for backward; on the training device):

    step bytes ≈ PER_PARAM · params + preset.train_bytes_per_pixel · batch · frames · h · w + FIXED

(h × w the latent size). How the constants were measured: ``python -m synthdata.train.memory`` runs
:func:`measure_step_bytes` — two real :func:`~synthdata.train.loop.train_step` calls, fp32, in a fresh
process per setting — and reads the peak resident memory they add (Linux VmHWM, reset just before the
model is built). On the 2-core CPU box (torch 2.13, diffusers 0.42), over tiny at 32²…128² × 2…8
frames × batch 1…4, small at 32²…128² × 2…8 frames × batch 1…2 and base at 32²…64² × 2…4 frames
(:data:`MEASURED`), a line per preset fits every point within 10% (small at 32²: 36%); the slopes were
12.4 kB (tiny), 55.2 kB (small) and 210 kB (base) per pixel, the intercepts 36 MB, 165 MB and 1488 MB. The
committed constants (``train_bytes_per_pixel`` on each preset, PER_PARAM, FIXED) are those, rounded up
so the estimate is at or above every measured point (1.0–1.6× of it; 2.7× at tiny 32²×2, where
FIXED dominates).
On CUDA with bf16 autocast activations take less; the estimate errs high there (``force_memory=true``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError

__all__ = ["TrainingMemory", "estimate_training", "check_training_memory", "step_bytes", "bytes_per_pixel",
           "measure_step_bytes", "MEASURED"]

#: bytes per model parameter: fp32 weights, EMA copy, gradients, two AdamW moments (5 × 4 = 20) + slack
PER_PARAM = 24
#: bytes of a step beyond parameters and activations (allocator, autograd and thread-pool bookkeeping)
FIXED = 128 * 2**20

#: (preset, batch, frames, side, measured peak bytes) on the 2-core CPU box: the points of the fit
MEASURED: list[tuple[str, int, int, int, int]] = [
    ("tiny", 1, 2, 32, 60874752), ("tiny", 4, 8, 32, 437231616), ("tiny", 1, 8, 64, 470646784),
    ("tiny", 4, 2, 64, 454324224), ("tiny", 2, 4, 64, 444907520), ("tiny", 1, 2, 128, 454426624),
    ("tiny", 1, 8, 128, 1690226688), ("tiny", 2, 4, 96, 869814272),
    ("small", 1, 2, 32, 210030592), ("small", 2, 8, 32, 974815232), ("small", 1, 4, 64, 1127432192),
    ("small", 2, 4, 64, 1914474496), ("small", 1, 8, 64, 2124939264), ("small", 1, 2, 96, 1233059840),
    ("small", 1, 2, 128, 2012721152), ("small", 1, 8, 128, 7379181568),
    ("base", 1, 2, 32, 1911537664), ("base", 1, 2, 64, 3222335488), ("base", 1, 4, 64, 4925865984),
]


def _activation_width(unet: dict[str, Any]) -> float:
    """Channels per full-resolution pixel summed over levels (level ℓ: 1/4^ℓ of the pixels), plus the
    full-resolution temporal transformer (8 heads × attention_head_dim)."""
    layers = int(unet.get("layers_per_block", 1))
    convs = sum(c * (2 * layers + 1) / 4**i for i, c in enumerate(unet["block_out_channels"]))
    return convs + 8 * int(unet.get("attention_head_dim", 8))


def bytes_per_pixel(preset) -> float:
    """A preset's measured training bytes per pixel-frame; unmeasured presets are scaled from the
    ``small`` preset by their channel widths."""
    from ..render.diffusion import MODEL_PRESETS, unet_config

    if preset.train_bytes_per_pixel:
        return float(preset.train_bytes_per_pixel)
    ref = MODEL_PRESETS.get("small")
    return ref.train_bytes_per_pixel * _activation_width(unet_config(preset)) / _activation_width(unet_config(ref))


def param_count(unet: dict[str, Any], num_classes: int, latent_channels: int) -> int:
    """Parameters of a LayoutVideoModel, counted on the meta device (no memory, no weights)."""
    import torch

    from ..render.diffusion import LayoutVideoModel

    with torch.device("meta"):
        model = LayoutVideoModel(class_names=[f"c{i}" for i in range(num_classes)], unet_config=unet,
                                 latent_channels=latent_channels)
    return sum(p.numel() for p in model.parameters())


def step_bytes(preset, params: int, rows: int, height: int, width: int) -> int:
    """Estimated peak bytes of one training step on ``rows`` = batch × frames frames of
    ``height``×``width`` (latent) pixels."""
    return int(PER_PARAM * params + bytes_per_pixel(preset) * rows * height * width + FIXED)


@dataclass(frozen=True)
class TrainingMemory:
    data: int  # decoded dataset (+ latents and the latent-size layout with a VAE), host
    step: int  # one training step, on the training device
    host: int  # what the host needs: data, plus the step when training on the CPU
    device: str  # "cpu" or the CUDA device


def estimate_training(cfg, info, vae_cfg: dict[str, Any] | None) -> TrainingMemory:
    """Peak memory of ``train_generator(cfg)`` on a dataset described by ``info`` (``LayoutInfo``)."""
    from ..render.backend import resolve_device
    from ..render.diffusion import MODEL_PRESETS, unet_config

    preset = MODEL_PRESETS.get(cfg.model, "model")
    unet = unet_config(preset)
    scale = 1 if vae_cfg is None else 2 ** (len(vae_cfg["block_out_channels"]) - 1)
    latent = 3 if vae_cfg is None else int(vae_cfg["latent_channels"])
    h, w = info.height // scale, info.width // scale
    data = info.decoded_bytes
    if vae_cfg is not None:  # latents and the layout at latent size, besides the decoded pixels
        data += info.num_clips * info.frames * h * w * 4 * (latent + info.channels)
    step = step_bytes(preset, param_count(unet, len(info.class_names), latent), cfg.batch * info.frames, h, w)
    device = str(resolve_device(cfg.device))
    on_host = not device.startswith("cuda")
    return TrainingMemory(data=data, step=step, host=data + (step if on_host else 0), device=device)


def check_training_memory(cfg, info, vae_cfg: dict[str, Any] | None, available: int | None = None) -> TrainingMemory:
    """Refuse (one line naming batch, frames and size, the estimate and what is available) a run that
    would not fit; ``cfg.force_memory`` skips the check. ``available`` (bytes) replaces the measured
    free memory of host and device (tests; planning a run for another machine)."""
    from ..render.diffusion import HEADROOM, available_bytes, gib
    from ..resources import host_available_bytes

    est = estimate_training(cfg, info, vae_cfg)
    if cfg.force_memory:
        return est
    on_cuda = est.device.startswith("cuda")
    checks = [("host", est.host, host_available_bytes() if available is None else available,
               f"decoded dataset {gib(est.data)}" + ("" if on_cuda else f" + training step {gib(est.step)}"))]
    if on_cuda:
        checks.append((est.device, est.step, available_bytes(est.device) if available is None else available,
                       f"training step {gib(est.step)}"))
    for where, need, have, parts in checks:
        if need <= HEADROOM * have:
            continue
        what = (f"training model={cfg.model} with batch={cfg.batch} on {info.num_clips} clips of {info.frames} "
                f"frames at {info.width}×{info.height}")
        if where == "host" and est.data > HEADROOM * have:  # no batch fits: the dataset alone is too big
            field, fix = "data", "fewer or smaller clips (the decoded dataset is held in memory for the run)"
        else:
            field, fix = "batch", "a smaller batch (or a smaller model)"
        raise UserError(field, f"{what} needs about {gib(need)} on the {where} ({parts}) but {gib(have)} is "
                               f"available; use {fix}, or force_memory=true to start anyway")
    return est


# --- measurement (re-run to refit the constants above) -------------------------------------------------

def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise OSError(f"no {key} in /proc/self/status")


def measure_step_bytes(model: str, batch: int, frames: int, side: int, classes: int = 3, steps: int = 2) -> int:
    """Peak resident bytes that building the model, EMA and AdamW and running ``steps`` real training
    steps add to this process (Linux only: resets VmHWM through /proc/self/clear_refs). Run it in a
    fresh process per setting: the allocator keeps what earlier settings freed."""
    import copy

    import torch

    from ..render.diffusion import (MODEL_PRESETS, OBJECTIVES, LayoutVideoModel, chunk_temporal_attention,
                                    condition_channels, unet_config)
    from .config import TrainConfig
    from .loop import make_optimizer, train_step

    cfg = TrainConfig(data="-", out="-", model=model, batch=batch, device="cpu", precision="fp32")
    objective = OBJECTIVES.get(cfg.objective)
    g = torch.Generator().manual_seed(0)
    x_all = torch.rand(batch, 3, frames, side, side, generator=g) * 2 - 1  # the dataset: not part of the step
    c_all = torch.rand(batch, condition_channels(classes), frames, side, side, generator=g)
    objective.noisy(x_all[:1], x_all[:1], torch.zeros(1, dtype=torch.long))  # the schedule's tables, built once
    Path("/proc/self/clear_refs").write_text("5")
    base = _status_kib("VmRSS")
    net = LayoutVideoModel(class_names=[f"c{i}" for i in range(classes)],
                           unet_config=unet_config(MODEL_PRESETS.get(model)),
                           frames=frames, height=side, width=side).train()
    chunk_temporal_attention(net.unet)
    ema = copy.deepcopy(net).requires_grad_(False).eval()
    opt, sched = make_optimizer(net, cfg)
    for step in range(steps):
        idx = torch.randint(batch, (batch,), generator=g)
        noise = torch.randn(x_all.shape, generator=g)
        t = objective.sample_t(batch, g)
        train_step(net, ema, opt, sched, objective, x_all[idx], c_all[idx], noise, t, step, step, cfg)
    return (_status_kib("VmHWM") - base) * 1024


def _grid() -> list[tuple[str, int, int, int]]:
    return [(m, b, f, s) for m, b, f, s, _ in MEASURED]


def main(argv: list[str] | None = None) -> None:
    """``python -m synthdata.train.memory``: re-measure :data:`MEASURED` (one subprocess per point) and
    print JSON: the points, a least-squares line per preset, and estimate / measured per point."""
    import subprocess
    import sys

    import numpy as np

    from ..render.diffusion import MODEL_PRESETS, unet_config

    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--point":
        m, b, f, s = argv[1], *map(int, argv[2:5])
        print(json.dumps({"peak": measure_step_bytes(m, b, f, s)}))
        return
    points = []
    for m, b, f, s in _grid():
        r = subprocess.run([sys.executable, "-m", "synthdata.train.memory", "--point", m, str(b), str(f), str(s)],
                           capture_output=True, text=True, check=True)
        points.append((m, b, f, s, json.loads(r.stdout.strip().splitlines()[-1])["peak"]))
        print(json.dumps(points[-1]), file=sys.stderr, flush=True)
    fits, ratios = {}, []
    for m in dict.fromkeys(p[0] for p in points):
        sel = [p for p in points if p[0] == m]
        x = np.array([b * f * s * s for _, b, f, s, _ in sel], dtype=float)
        y = np.array([p[4] for p in sel], dtype=float)
        (slope, icept), *_ = np.linalg.lstsq(np.c_[x, np.ones_like(x)], y, rcond=None)
        fits[m] = {"bytes_per_pixel": slope, "intercept": icept}
    for m, b, f, s, peak in points:
        preset = MODEL_PRESETS.get(m)
        est = step_bytes(preset, param_count(unet_config(preset), 3, 3), b * f, s, s)
        ratios.append(round(est / peak, 2))
    print(json.dumps({"points": points, "fit": fits, "estimate_over_measured": ratios}, indent=1))


if __name__ == "__main__":
    main()
