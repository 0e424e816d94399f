"""The diffusion generator: training steps/s, sampling frames/s, batched vs naive sampling, and the
label fidelity a fixed training budget reaches. Prints one JSON line per part.

    python benchmarks/diffusion.py train   --model tiny --size 32 --frames 4 --batch 4 --device cpu
    python benchmarks/diffusion.py sample  --model tiny --size 32 --frames 4 --clips 8 --device cpu
    python benchmarks/diffusion.py batched --model tiny --size 32 --frames 4 --clips 16 --guidance 2
    python benchmarks/diffusion.py fidelity --model tiny --size 32 --budget-s 600 --device cpu --keep ckpt/fid
    python benchmarks/diffusion.py guidance --checkpoint ckpt/fid --train <its training set> --scales 1 2 4

``batched`` compares our sampler (all clips and both guidance branches in one UNet call per step)
with the naive loop a diffusers pipeline runs per clip (one clip at a time, conditional and
unconditional passes separately). ``fidelity`` makes a ray-cast training set, trains for
``--budget-s`` seconds, generates clips with ``backend=diffusion`` and reports the label-fidelity
mIoU of a segmenter trained on the training set (and the same segmenter's mIoU on its own training
frames, the ceiling).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import synthdata  # noqa: E402
from synthdata.train.state import load_state  # noqa: E402
from synthdata.render.diffusion.model.checkpoint import FrameCodec, TrainedGenerator  # noqa: E402
from synthdata.render.diffusion.conditioning.maps import condition_channels  # noqa: E402
from synthdata.render.diffusion.model.unet import LayoutVideoModel  # noqa: E402
from synthdata.render.diffusion.sampling.objectives import make_scheduler  # noqa: E402
from synthdata.render.diffusion.model.presets import MODEL_PRESETS, unet_config  # noqa: E402
from synthdata.render.diffusion.sampling.precision import autocast  # noqa: E402
from synthdata.render.diffusion.sampling.sampler import clip_noise, sample_clips  # noqa: E402

CLASSES = ["sphere", "cube", "cylinder"]


def _model(name: str, device: torch.device) -> TrainedGenerator:
    torch.manual_seed(0)
    m = LayoutVideoModel(class_names=CLASSES, unet_config=unet_config(MODEL_PRESETS.get(name))).to(device).eval()
    return TrainedGenerator(m, FrameCodec())


def _cond(n: int, frames: int, size: int, device: torch.device) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    sem = torch.randint(0, len(CLASSES) + 1, (n, 1, frames, size, size), generator=g)
    onehot = torch.nn.functional.one_hot(sem[:, 0], len(CLASSES) + 1).permute(0, 4, 1, 2, 3).float()
    extra = torch.rand(n, condition_channels(len(CLASSES)) - onehot.shape[1], frames, size, size, generator=g)
    return torch.cat([onehot, extra], 1).to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_train(a, device) -> dict:
    from synthdata.render.diffusion.sampling.objectives import OBJECTIVES

    gen = _model(a.model, device)
    model = gen.model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    obj = OBJECTIVES.get("v")
    x0 = torch.rand(a.batch, 3, a.frames, a.size, a.size, device=device) * 2 - 1
    c = _cond(a.batch, a.frames, a.size, device)

    def step():
        t = torch.randint(0, 1000, (a.batch,), device=device)
        noise = torch.randn_like(x0)
        with autocast(device, a.precision):
            loss = torch.nn.functional.mse_loss(model(obj.noisy(x0, noise, t), t, c).float(), obj.target(x0, noise, t))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    _sync(device)
    wall = time.perf_counter() - t0
    return {"steps_per_s": round(a.steps / wall, 3), "clip_frames_per_s": round(a.steps * a.batch * a.frames / wall, 1),
            "batch": a.batch, "steps": a.steps, "params": sum(p.numel() for p in model.parameters())}


def bench_sample(a, device) -> dict:
    gen = _model(a.model, device)
    c = _cond(a.clips, a.frames, a.size, device)
    sample_clips(gen, c[:1], [0], steps=2, guidance=a.guidance, precision=a.precision)
    _sync(device)
    t0 = time.perf_counter()
    sample_clips(gen, c, list(range(a.clips)), steps=a.sample_steps, guidance=a.guidance, precision=a.precision)
    _sync(device)
    wall = time.perf_counter() - t0
    return {"frames_per_s": round(a.clips * a.frames / wall, 2), "clips": a.clips, "sample_steps": a.sample_steps,
            "guidance": a.guidance, "seconds": round(wall, 3)}


def naive_loop(gen: TrainedGenerator, cond: torch.Tensor, seeds, steps: int, guidance: float) -> torch.Tensor:
    """What a per-clip pipeline call does: one clip at a time, two UNet passes per step for CFG."""
    outs = []
    for i, seed in enumerate(seeds):
        sched = make_scheduler(None, gen.model.config.objective)
        sched.set_timesteps(steps, device=cond.device)
        c = cond[i:i + 1]
        x = clip_noise([seed], (3, *cond.shape[2:])).to(cond.device)
        for t in sched.timesteps:
            tt = t.expand(1).to(cond.device)
            out_c = gen.model(x, tt, c)
            out_u = gen.model(x, tt, torch.zeros_like(c))
            x = sched.step(out_u + guidance * (out_c - out_u), t, x).prev_sample
        outs.append(x)
    return torch.cat(outs).clamp(-1, 1)


@torch.no_grad()
def bench_batched(a, device) -> dict:
    gen = _model(a.model, device)
    c = _cond(a.clips, a.frames, a.size, device)
    seeds = list(range(a.clips))
    naive_loop(gen, c[:1], seeds[:1], 2, a.guidance)
    _sync(device)
    t0 = time.perf_counter()
    naive = naive_loop(gen, c, seeds, a.sample_steps, a.guidance)
    _sync(device)
    t_naive = time.perf_counter() - t0
    t0 = time.perf_counter()
    batched = sample_clips(gen, c, seeds, steps=a.sample_steps, guidance=a.guidance, precision="fp32")
    _sync(device)
    t_batched = time.perf_counter() - t0
    return {"clips": a.clips, "sample_steps": a.sample_steps, "guidance": a.guidance,
            "naive_s": round(t_naive, 3), "batched_s": round(t_batched, 3),
            "naive_frames_per_s": round(a.clips * a.frames / t_naive, 2),
            "batched_frames_per_s": round(a.clips * a.frames / t_batched, 2),
            "speedup": round(t_naive / t_batched, 2),
            "max_abs_diff": float((naive - batched).abs().max())}


def bench_fidelity(a, device) -> dict:
    from synthdata.evaluate import evaluate_generated
    from synthdata.train import TrainConfig, train_generator

    ov = [f"clip.frames={a.frames}", f"clip.width={a.size}", f"clip.height={a.size}", f"device={device}"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        synthdata.generate("shapes", clips=a.train_clips, out=root / "train", overrides=ov, compute="sync",
                           progress=False)
        data_s = time.perf_counter() - t0
        deadline = time.perf_counter() + a.budget_s

        def stop(step: int) -> None:
            if time.perf_counter() > deadline:
                raise TimeoutError(step)

        cfg = TrainConfig(data=str(root / "train"), out=str(root / "ckpt"), model=a.model, steps=10**7, batch=a.batch,
                          lr=a.lr, device=str(device), progress=False, save_every=200, sample_every=10**7, log_every=50)
        t0 = time.perf_counter()
        try:
            train_generator(cfg, on_step=stop)
        except TimeoutError as exc:
            trained_steps = int(exc.args[0])
        train_s = time.perf_counter() - t0
        state = load_state(root / "ckpt" / "training" / "state.safetensors")
        # generate with the last saved checkpoint: a new seed, so layouts were never seen in training
        gen_ov = [*ov, "seed=12345", "backend=diffusion", f"backend.checkpoint={root / 'ckpt'}",
                  f"backend.steps={a.sample_steps}", f"backend.guidance={a.guidance}"]
        t0 = time.perf_counter()
        synthdata.generate("shapes", clips=a.eval_clips, out=root / "gen", overrides=gen_ov,
                           compute={"name": "sync", "shard_size": a.eval_clips}, progress=False)
        gen_s = time.perf_counter() - t0
        synthdata.generate("shapes", clips=a.eval_clips, out=root / "ray", overrides=[*ov, "seed=12345"],
                           compute="sync", progress=False)
        report = evaluate_generated(root / "gen", train=root / "train", reference=root / "ray", seg_steps=a.seg_steps,
                                    device=str(device))
        ray = evaluate_generated(root / "ray", train=root / "train", seg_steps=a.seg_steps, device=str(device))
        if a.keep:  # the checkpoint plus its loss curve and a sample grid (docs/images come from here)
            import shutil

            shutil.copytree(root / "ckpt", a.keep, dirs_exist_ok=True)
            checkpoint_pictures(Path(a.keep), root / "train", device)
    return {"budget_s": a.budget_s, "train_clips": a.train_clips, "data_s": round(data_s, 1),
            "train_s": round(train_s, 1), "steps_trained": trained_steps, "checkpoint_step": int(state["step"]),
            "final_loss": state["log"][-1][1] if state["log"] else None, "generate_s": round(gen_s, 1),
            "eval_clips": a.eval_clips, "sample_steps": a.sample_steps, "guidance": a.guidance,
            "label_fidelity_miou": round(report["label_fidelity_miou"], 4),
            "raycast_miou_same_layouts": round(ray["label_fidelity_miou"], 4),
            "segmenter_train_miou": round(report["train_miou"], 4),
            "warp_error": round(report["warp_error"], 4), "warp_error_raycast": round(report["warp_error_reference"], 4),
            "per_class_iou": report["per_class_iou"]}


def bench_guidance(a, device) -> dict:
    """Label fidelity and warp error of one checkpoint at several guidance scales (same layouts)."""
    from synthdata.evaluate import evaluate_generated, segmenter_for

    if not (a.checkpoint and a.train):
        raise SystemExit("guidance needs --checkpoint (e.g. a fidelity run's --keep) and --train (its training set)")
    ov = [f"clip.frames={a.frames}", f"clip.width={a.size}", f"clip.height={a.size}", f"device={device}", "seed=12345"]
    seg = segmenter_for(a.train, steps=a.seg_steps, device=str(device))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for g in a.scales:
            out = Path(tmp) / f"g{g}"
            synthdata.generate("shapes", clips=a.eval_clips, out=out, progress=False,
                               overrides=[*ov, "backend=diffusion", f"backend.checkpoint={a.checkpoint}",
                                          f"backend.steps={a.sample_steps}", f"backend.guidance={g}"],
                               compute={"name": "sync", "shard_size": a.eval_clips})
            r = evaluate_generated(out, segmenter=seg)
            results[str(g)] = {"label_fidelity_miou": round(r["label_fidelity_miou"], 4),
                               "warp_error": round(r["warp_error"], 4),
                               "per_class_iou": {k: round(v, 3) for k, v in r["per_class_iou"].items()}}
    return {"checkpoint": str(a.checkpoint), "eval_clips": a.eval_clips, "sample_steps": a.sample_steps,
            "results": results}


def checkpoint_pictures(ckpt: Path, data: Path, device: torch.device) -> None:
    """loss.png and samples/step-N.png for a checkpoint whose run was stopped between sample steps."""
    from synthdata.render.diffusion.model.checkpoint import load_generator
    from synthdata.train.data import load_layout_clips
    from synthdata.train.loop import _write_samples
    from synthdata.train.report import plot_loss

    state = load_state(ckpt / "training" / "state.safetensors")
    plot_loss([s for s, _ in state["log"]], [v for _, v in state["log"]], ckpt / "loss.png")
    gen = load_generator(ckpt, device)
    _write_samples(ckpt, int(state["step"]), gen.model, gen.codec, load_layout_clips(data))


PARTS = {"train": bench_train, "sample": bench_sample, "batched": bench_batched, "fidelity": bench_fidelity,
         "guidance": bench_guidance}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("part", choices=sorted(PARTS))
    p.add_argument("--model", default="tiny")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--frames", type=int, default=4)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--steps", type=int, default=10, help="training steps timed")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--sample-steps", type=int, default=25)
    p.add_argument("--guidance", type=float, default=1.0)
    p.add_argument("--precision", default="auto")
    p.add_argument("--device", default="auto")
    p.add_argument("--budget-s", type=float, default=600)
    p.add_argument("--train-clips", type=int, default=64)
    p.add_argument("--eval-clips", type=int, default=8)
    p.add_argument("--seg-steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--keep", help="copy the fidelity run's checkpoint here")
    p.add_argument("--checkpoint", help="guidance: a trained checkpoint")
    p.add_argument("--train", help="guidance: the dataset it was trained on (for the segmenter)")
    p.add_argument("--scales", type=float, nargs="+", default=[1.0, 2.0, 4.0])
    a = p.parse_args()
    device = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if a.device == "auto" else a.device))
    result = PARTS[a.part](a, device)
    print(json.dumps({"benchmark": f"diffusion-{a.part}", "model": a.model, "size": a.size, "frames": a.frames,
                      "device": str(device), **result, "machine": machine()}))


if __name__ == "__main__":
    main()
