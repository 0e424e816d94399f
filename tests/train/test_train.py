"""train-generator: the loss falls, runs are reproducible and resumable, checkpoints round-trip, bad
input is one line. Tiny models on CPU, a few steps each."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import synthdata
from synthdata.errors import UserError
from synthdata.render.diffusion.model.checkpoint import FrameCodec, load_generator
from synthdata.render.diffusion.sampling.objectives import OBJECTIVES
from synthdata.train import TrainConfig, load_train_config, train_generator
from synthdata.train.data import load_layout_clips
from synthdata.train.loop import build_model
from synthdata.train.state import load_state

from ..conftest import SYNC2, TINY, default_sigint, run_cli, train_tiny


def _fixed_batch_loss(model, data, objective: str) -> float:
    """MSE on every clip at fixed timesteps and noise (so before/after compare the model alone)."""
    g = torch.Generator().manual_seed(123)
    obj = OBJECTIVES.get(objective)
    x0, c = data.video, data.cond
    losses = []
    for t in (100, 400, 700):
        noise = torch.randn(x0.shape, generator=g)
        tt = torch.full((len(x0),), t)
        with torch.no_grad():
            losses.append(torch.nn.functional.mse_loss(model(obj.noisy(x0, noise, tt), tt, c), obj.target(x0, noise, tt)))
    return float(torch.stack(losses).mean())


@pytest.mark.parametrize("objective", ["v", "flow"])
def test_twenty_steps_lower_the_loss(tiny_dataset, tmp_path, objective):
    cfg = TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "ck"), steps=20, batch=2, lr=3e-3, warmup=0,
                      device="cpu", progress=False, objective=objective, sample_every=10_000, save_every=10_000)
    data = load_layout_clips(tiny_dataset)
    before = _fixed_batch_loss(build_model(cfg, data, FrameCodec()).eval(), data, objective)
    res = train_generator(cfg)
    state = load_state(tmp_path / "ck" / "training" / "state.safetensors")
    trained = build_model(cfg, data, FrameCodec())
    trained.load_state_dict(state["model"])
    after = _fixed_batch_loss(trained.eval(), data, objective)
    assert res.steps == 20 and len(res.log) == 2  # log_every=10
    assert after < 0.8 * before, (before, after)


def test_same_seed_same_weights_and_resume_continues_exactly(tiny_dataset, tmp_path):
    straight = train_tiny(tiny_dataset, tmp_path / "a", steps=6)
    again = train_tiny(tiny_dataset, tmp_path / "b", steps=6)
    first = load_file(straight / "model" / "diffusion_pytorch_model.safetensors")
    assert all(torch.equal(v, load_file(again / "model" / "diffusion_pytorch_model.safetensors")[k])
               for k, v in first.items())
    half = tmp_path / "c"

    def interrupt(step: int) -> None:
        if step == 3:
            raise KeyboardInterrupt  # Ctrl-C right after the step-3 checkpoint

    with pytest.raises(KeyboardInterrupt):
        train_generator(TrainConfig(data=str(tiny_dataset), out=str(half), steps=6, batch=2, lr=3e-3, warmup=0,
                                    device="cpu", progress=False, log_every=1, save_every=3, sample_every=100),
                        on_step=interrupt)
    assert load_state(half / "training" / "state.safetensors")["step"] == 3
    train_tiny(tiny_dataset, half, steps=6, resume=True)
    resumed = load_file(half / "model" / "diffusion_pytorch_model.safetensors")
    assert all(torch.equal(v, resumed[k]) for k, v in first.items())
    log = [json.loads(line) for line in (half / "training" / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [1, 2, 3, 4, 5, 6]


def test_checkpoint_round_trip_and_pictures(tiny_checkpoint):
    gen = load_generator(tiny_checkpoint, torch.device("cpu"))
    state = load_state(tiny_checkpoint / "training" / "state.safetensors")
    ema = gen.model.state_dict()
    assert set(ema) == set(state["ema"]) and all(torch.equal(ema[k], state["ema"][k]) for k in ema)
    assert gen.model.config.class_names == state["class_names"]
    assert gen.model.config.objective == "v" and gen.codec.vae is None
    for png in [tiny_checkpoint / "loss.png", *sorted((tiny_checkpoint / "samples").glob("*.png"))]:
        img = Image.open(png)
        assert img.size[0] > 100 and len(np.unique(np.asarray(img.convert("L")))) > 2, png  # a real picture
    assert (tiny_checkpoint / "samples" / "step-000004.png").is_file()


def test_vae_latent_space_trains_and_samples(tiny_dataset, tmp_path):
    """A local AutoencoderKL (save_pretrained → from_pretrained), frozen, one frame at a time."""
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=(8, 8), down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=4,
                        layers_per_block=1)
    vae.save_pretrained(tmp_path / "vae")
    ck = train_tiny(tiny_dataset, tmp_path / "ck", steps=2, vae=str(tmp_path / "vae"))
    cfg = json.loads((ck / "model" / "config.json").read_text())
    assert cfg["latent_channels"] == 4 and cfg["latent_scale"] == 2 and (ck / "vae" / "config.json").is_file()
    spec = synthdata.load_recipe("shapes", [*TINY, "backend=diffusion", f"backend.checkpoint={ck}", "backend.steps=2"])
    m = synthdata.generate(spec, 1, tmp_path / "gen", compute=SYNC2, progress=False)
    clip = synthdata.open_dataset(tmp_path / "gen").clip(0)
    assert m.num_clips == 1 and clip.video().shape == (4, 32, 32, 3)
    with pytest.raises(UserError, match="clip.width: 34 is not a multiple of 4"):
        synthdata.load_recipe("shapes", [*TINY, "backend=diffusion", f"backend.checkpoint={ck}", "clip.width=34"])
    vae_cfg = ck / "vae" / "config.json"  # a VAE swapped for one with another latent space
    vae_cfg.write_text(json.dumps({**json.loads(vae_cfg.read_text()), "latent_channels": 8}))
    with pytest.raises(UserError, match="backend.checkpoint: vae has 8 latent channels but the model expects 4"):
        synthdata.load_recipe("shapes", [*TINY, "backend=diffusion", f"backend.checkpoint={ck}"])


def test_settings_are_validated_one_line_each():
    with pytest.raises(UserError, match="data: required"):
        load_train_config(["out=x"])
    with pytest.raises(UserError, match=r"steps: Input should be greater than or equal to 1 \(got '0'\)"):
        load_train_config(["data=d", "out=o", "steps=0"])
    with pytest.raises(UserError, match="bogus: unknown field"):
        load_train_config(["data=d", "out=o", "bogus=1"])


def _cli_error(*args: str) -> str:
    r = run_cli("train-generator", *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


def _api_error(data, out, **settings) -> str:
    with pytest.raises(UserError) as exc:
        train_generator(TrainConfig(data=str(data), out=str(out), device="cpu", progress=False, **settings))
    return str(exc.value)


def test_bad_input_is_refused_before_work(tiny_dataset, tiny_checkpoint, tmp_path):
    assert _api_error(tiny_dataset, tiny_checkpoint).startswith("out:")  # a checkpoint, and no resume=true
    assert "resume: nothing to resume" in _api_error(tiny_dataset, tmp_path / "new", resume=True)
    assert "model: unknown model preset 'huge'" in _api_error(tiny_dataset, tmp_path / "o", model="huge")
    assert "resume: " in _api_error(tiny_dataset, tiny_checkpoint, resume=True, objective="flow")
    assert not (tmp_path / "o").exists() and not (tmp_path / "new").exists()


def test_cli_bad_input_is_one_line_exit_2(tiny_dataset, tmp_path):
    assert "not a synthdata dataset" in _cli_error(f"data={tmp_path}", f"out={tmp_path / 'o'}")
    line = _cli_error(f"data={tiny_dataset}", f"out={tmp_path / 'o'}", "model=base", "batch=4096", "device=cpu")
    assert line.startswith("error: batch: training model=base") and "needs about" in line
    assert not (tmp_path / "o").exists()


def test_dataset_without_gbuffer_is_refused(tmp_path):
    out = tmp_path / "nodepth"
    synthdata.generate("shapes", clips=1, out=out, overrides=[*TINY, "annotations.depth=false"], compute=SYNC2,
                       progress=False)
    line = _api_error(out, tmp_path / "ck")
    assert line.startswith("data:") and "no depth maps" in line
    assert not (tmp_path / "ck").exists()


def test_cli_trains_and_reports(tiny_dataset, tmp_path):
    r = run_cli("train-generator", f"data={tiny_dataset}", f"out={tmp_path / 'ck'}", "steps=2", "batch=1",
                "device=cpu", "progress=false")
    assert r.returncode == 0, r.stderr
    assert "trained 2 steps" in r.stdout and "backend.checkpoint=" in r.stdout
    r = run_cli("train-generator", f"data={tiny_dataset}", f"out={tmp_path / 'ck'}", "steps=2", "batch=1",
                "device=cpu", "resume=true")
    assert r.returncode == 0 and "already at step 2" in r.stdout


def test_ctrl_c_keeps_the_last_checkpoint_and_says_how_to_resume(tiny_dataset, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "ck"
    args = [sys.executable, "-m", "synthdata", "train-generator", f"data={tiny_dataset}", f"out={out}", "steps=100000",
            "batch=1", "save_every=2", "sample_every=100000", "device=cpu", "progress=false"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    status = out / "training" / "status.json"
    deadline = time.time() + 120
    while not status.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted; the last checkpoint is at step" in err and "resume=true" in err
    step = json.loads(status.read_text())["step"]
    assert step >= 2 and load_state(out / "training" / "state.safetensors")["step"] == step
    r = run_cli("train-generator", f"data={tiny_dataset}", f"out={out}", f"steps={step + 1}", "batch=1",
                "device=cpu", "resume=true")
    assert r.returncode == 0 and "trained 1 steps" in r.stdout, r.stderr


def test_saving_a_checkpoint_never_touches_a_users_folder_beside_it(tiny_dataset, tmp_path):
    ck = train_tiny(tiny_dataset, tmp_path / "ck")
    (ck / "model.old").mkdir()
    (ck / "model.old" / "mine.txt").write_text("mine")
    train_tiny(tiny_dataset, ck, steps=6, resume=True)
    assert (ck / "model.old" / "mine.txt").read_text() == "mine"
    assert not [p for p in ck.iterdir() if p.name.startswith(".model.old-")]
