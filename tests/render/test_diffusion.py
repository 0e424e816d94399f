"""The diffusion backend: contract, sampling (schedulers, seeds, batching, refine, guidance), chunked
temporal attention, checkpoint checks. Tiny CPU models trained by the session fixtures."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

import synthdata
from synthdata.errors import RecipeError, UserError
from synthdata.render.diffusion.model.attention import chunk_temporal_attention
from synthdata.render.diffusion.model.checkpoint import load_generator, read_config
from synthdata.render.diffusion.conditioning.maps import condition_channels, condition_maps
from synthdata.render.diffusion.sampling.sampler import sample_clips

from ..conftest import SYNC2, TINY, make_tiny_clip, run_cli, tiny_spec, train_tiny
from .test_backend_contract import BackendContract


@pytest.fixture(scope="module")
def wide_checkpoint(tmp_path_factory):
    """A tiny generator trained on 48×32 clips: the contract renders 48×32, and a checkpoint samples
    only the size it was trained at (unless backend.allow_resize=true)."""
    root = tmp_path_factory.mktemp("wide")
    synthdata.generate("shapes", clips=2, out=root / "data", overrides=[*TINY, "clip.width=48"], compute=SYNC2,
                       progress=False)
    return train_tiny(root / "data", root / "ck", steps=2)


class TestDiffusionContract(BackendContract):
    backend_name = "diffusion"

    @pytest.fixture(scope="class")
    @classmethod
    def backend_overrides(cls, wide_checkpoint):
        return ["clip.width=48", f"backend.checkpoint={wide_checkpoint}", "backend.steps=3"]


def _cond(shapes_clip, n_classes: int) -> torch.Tensor:
    """(1,C,T,H,W) condition of the shared 64² shapes clip."""
    f = shapes_clip.frames
    table = torch.as_tensor(np.concatenate([[0], shapes_clip.scene.objects.class_id]))
    sem = table[f.instance.long()]
    return condition_maps(sem, f.instance, f.depth, f.flow_fwd, n_classes).permute(1, 0, 2, 3)[None]


@pytest.fixture(scope="module")
def gen(tiny_checkpoint):
    return load_generator(tiny_checkpoint, torch.device("cpu"))


@pytest.fixture(scope="module")
def cond(gen, shapes_clip):
    return _cond(shapes_clip, len(gen.class_names))


def test_condition_channels_are_one_hot_plus_geometry(shapes_clip):
    c = _cond(shapes_clip, 3)[0]  # (C,T,H,W)
    assert c.shape[0] == condition_channels(3) == 3 + 1 + 4
    assert torch.equal(c[:4].sum(0), torch.ones_like(c[0]))  # exactly one class per pixel
    inst = shapes_clip.frames.instance
    assert bool((c[4][inst > 0] >= 0).all()) and c[4].max() == 1  # boundaries exist
    assert torch.all((c[5] > 0) == torch.isfinite(shapes_clip.frames.depth))  # inverse depth, 0 for sky


@pytest.mark.parametrize("scheduler", ["dpmsolver", "ddim"])
def test_v_checkpoint_samples_with_its_schedulers(gen, cond, scheduler):
    out = sample_clips(gen, cond.repeat(2, 1, 1, 1, 1), seeds=[1, 2], steps=3, scheduler=scheduler)
    assert out.shape == (2, 3, *cond.shape[2:]) and out.dtype == torch.float32
    assert torch.isfinite(out).all() and out.abs().max() <= 1
    assert not torch.allclose(out[0], out[1])  # different seeds, different clips


@pytest.mark.parametrize("scheduler", ["flowmatch", "dpmsolver"])
def test_flow_checkpoint_samples_with_its_schedulers(tiny_flow_checkpoint, cond, scheduler):
    g = load_generator(tiny_flow_checkpoint, torch.device("cpu"))
    out = sample_clips(g, cond, seeds=[1], steps=3, scheduler=scheduler)
    assert out.shape == (1, 3, *cond.shape[2:]) and torch.isfinite(out).all()


def test_incompatible_scheduler_is_refused(tiny_flow_checkpoint, cond):
    g = load_generator(tiny_flow_checkpoint, torch.device("cpu"))
    with pytest.raises(UserError, match="backend.scheduler: 'ddim' cannot sample .* objective 'flow'"):
        sample_clips(g, cond, seeds=[1], steps=2, scheduler="ddim")


def test_same_seed_same_pixels_and_batch_does_not_change_a_clip(gen, cond):
    a = sample_clips(gen, cond, seeds=[7], steps=3)
    b = sample_clips(gen, cond, seeds=[7], steps=3)
    assert torch.equal(a, b)
    batched = sample_clips(gen, cond.repeat(3, 1, 1, 1, 1), seeds=[5, 7, 9], steps=3)
    torch.testing.assert_close(batched[1], a[0], atol=1e-4, rtol=0)  # noise is per clip, not per batch


def test_guidance_changes_the_sample(gen, cond):
    plain = sample_clips(gen, cond, seeds=[3], steps=3, guidance=1.0)
    guided = sample_clips(gen, cond, seeds=[3], steps=3, guidance=3.0)
    assert guided.shape == plain.shape and not torch.allclose(guided, plain)


def test_refine_keeps_structure_as_strength_falls(gen, cond, shapes_clip):
    init = shapes_clip.frames.rgb.permute(3, 0, 1, 2)[None].float() / 127.5 - 1
    err = {s: float((sample_clips(gen, cond, seeds=[3], steps=10, init=init, strength=s) - init).abs().mean())
           for s in (0.1, 0.5, 1.0)}
    assert err[0.1] < err[0.5] < err[1.0]
    assert err[0.1] < 0.5 * err[1.0]  # a light refine stays much closer to the ray-cast frames


def test_chunked_temporal_attention_matches_unchunked(gen, cond):
    """Chunks of 64 rows × heads give the same result as one call (the CUDA grid-limit workaround); the
    full-resolution temporal attention has H×W rows (thousands here), so every call really splits."""
    model = gen.model
    x = torch.randn(1, 3, *cond.shape[2:], generator=torch.Generator().manual_seed(0))
    t = torch.tensor([500])
    with torch.no_grad():
        chunk_temporal_attention(model.unet, 65535)
        full = model(x, t, cond)
        n = chunk_temporal_attention(model.unet, 64)
        chunked = model(x, t, cond)
        chunk_temporal_attention(model.unet, 65535)
    assert n > 0 and cond.shape[-2] * cond.shape[-1] > 64
    torch.testing.assert_close(chunked, full, atol=1e-5, rtol=1e-5)


def test_generated_dataset_has_the_raycast_labels(tiny_checkpoint, tmp_path):
    """Only the pixels change: every label row equals the ray-cast run's, point tracks too (they come
    from the layout)."""
    base = [*TINY, "seed=4", "annotations.tracks=true"]
    synthdata.generate(synthdata.load_recipe("shapes", base), 2, tmp_path / "ray", compute=SYNC2, progress=False)
    spec = synthdata.load_recipe("shapes", [*base, "backend=diffusion", f"backend.checkpoint={tiny_checkpoint}",
                                            "backend.steps=3", "backend.clip_batch=2"])
    synthdata.generate(spec, 2, tmp_path / "gen", compute=SYNC2, progress=False)
    assert pq.read_table(tmp_path / "ray" / "objects").equals(pq.read_table(tmp_path / "gen" / "objects"))
    tracks = pq.read_table(tmp_path / "ray" / "tracks")
    assert tracks.num_rows > 0 and tracks.equals(pq.read_table(tmp_path / "gen" / "tracks"))
    fa, fb = pq.read_table(tmp_path / "ray" / "frames"), pq.read_table(tmp_path / "gen" / "frames")
    for col in ("semantic", "instance", "depth", "flow_fwd"):
        assert fa.column(col).equals(fb.column(col)), col
    va = synthdata.open_dataset(tmp_path / "ray").clip(0).video()
    vb = synthdata.open_dataset(tmp_path / "gen").clip(0).video()
    assert va.shape == vb.shape and np.abs(va.astype(int) - vb.astype(int)).mean() > 5
    assert json.loads((tmp_path / "gen" / "dataset.json").read_text())["backend"] == "diffusion"


def _problems(*overrides: str) -> str:
    with pytest.raises(RecipeError) as exc:
        tiny_spec("shapes", "backend=diffusion", *overrides)
    return str(exc.value)


def test_checkpoint_problems_are_found_before_any_work(tiny_checkpoint, tiny_flow_checkpoint, tmp_path):
    assert "backend.checkpoint: required" in _problems()
    assert "is not a generator checkpoint" in _problems(f"backend.checkpoint={tmp_path}")
    bad = tmp_path / "bad" / "model"
    bad.mkdir(parents=True)
    (bad / "config.json").write_text("{not json")
    assert "is not valid JSON" in _problems(f"backend.checkpoint={bad.parent}")
    ck = f"backend.checkpoint={tiny_checkpoint}"
    assert "backend.scheduler: 'flowmatch' cannot sample" in _problems(ck, "backend.scheduler=flowmatch")
    assert "backend.scheduler: 'ddim'" in _problems(f"backend.checkpoint={tiny_flow_checkpoint}", "backend.scheduler=ddim")
    assert "needs about" in _problems(ck, "backend.clip_batch=1024", "clip.width=512", "clip.height=512",
                                      "clip.frames=64")
    with pytest.raises(RecipeError, match=r"backend.checkpoint: the model was trained on classes \[.*'car'"):
        synthdata.load_recipe("highway", [*TINY, "backend=diffusion", ck])


def test_a_checkpoint_samples_only_the_size_it_was_trained_at(tiny_checkpoint, tmp_path):
    """Trained at 32×32×4: any other clip.width/height/frames is one line naming the three fields and
    the trained values, found by the recipe check before anything is written."""
    ck = f"backend.checkpoint={tiny_checkpoint}"
    expected = ("clip.width/clip.height/clip.frames: {} differ from the 32/32/4 backend.checkpoint was trained at; "
                "use that size, or backend.allow_resize=true to sample another (quality is not checked there)")
    for override, got in (("clip.width=64", "64/32/4"), ("clip.height=16", "32/16/4"), ("clip.frames=8", "32/32/8")):
        assert _problems(ck, override).splitlines() == [expected.format(got)]
    out = tmp_path / "out"
    size = [a for a in TINY if not a.startswith("clip.frames=")]  # the CLI refuses a key given twice
    r = run_cli("generate", "clips=1", f"out={out}", *size, "clip.frames=6", "backend=diffusion", ck)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == ["error: " + expected.format("32/32/6")] and not out.exists()


def test_allow_resize_samples_another_size(tiny_checkpoint):
    spec = tiny_spec("shapes", "backend=diffusion", f"backend.checkpoint={tiny_checkpoint}", "backend.steps=2",
                     "backend.allow_resize=true", "clip.width=48", "clip.frames=3")
    assert make_tiny_clip(spec, seed=1).frames.rgb.shape == (3, 32, 48, 3)


def test_cli_bad_checkpoint_is_one_line_exit_2_and_writes_nothing(tiny_checkpoint, tmp_path):
    out = tmp_path / "out"
    r = run_cli("generate", "recipe=highway", "clips=1", f"out={out}", *TINY, "backend=diffusion",
                f"backend.checkpoint={tiny_checkpoint}")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: backend.checkpoint: the model was trained on classes")
    assert not out.exists()
    r = run_cli("generate", "clips=1", f"out={out}", "device=cpu", "backend=diffusion", "backend.checkpoint=/nope")
    assert r.returncode == 2 and "not a generator checkpoint" in r.stderr and not out.exists()


def test_read_config_names_the_model(tiny_checkpoint):
    cfg = read_config(tiny_checkpoint)
    assert cfg["_class_name"] == "LayoutVideoModel" and cfg["objective"] == "v"
    assert cfg["class_names"] == synthdata.load_recipe("shapes", TINY).class_names


def test_backend_renders_many_clips_in_one_batch(tiny_checkpoint):
    spec = tiny_spec("shapes", "backend=diffusion", f"backend.checkpoint={tiny_checkpoint}", "backend.steps=2",
                     "backend.guidance=2")
    clips = [make_tiny_clip(spec, seed=s) for s in (1, 2)]
    from synthdata.render import make_backend

    backend = make_backend(spec.backend, "cpu")
    calls = []
    real = backend.gen.model.forward
    backend.gen.model.forward = lambda x, t, c: calls.append(x.shape[0]) or real(x, t, c)
    frames = backend.render_many([(c.scene, c.traj) for c in clips])
    assert calls == [4, 4]  # one UNet call per step: both clips, conditional and unconditional
    for f, c in zip(frames, clips):
        # the same pixels as rendering the clip alone, up to float rounding (CPU kernels pick other
        # algorithms per batch size: a pixel may round to the neighbouring uint8 level)
        assert (f.rgb.int() - c.frames.rgb.int()).abs().max() <= 1


def test_dask_workers_sample_the_same_bytes_as_in_process(tiny_checkpoint, tmp_path):
    """The generator runs inside real Dask worker processes through the same Backend protocol."""
    from ..run.test_generate import _hashes

    ov = [*TINY, "backend=diffusion", f"backend.checkpoint={tiny_checkpoint}", "backend.steps=2"]
    synthdata.generate("shapes", clips=4, out=tmp_path / "sync", overrides=ov, progress=False, compute=SYNC2)
    synthdata.generate("shapes", clips=4, out=tmp_path / "dask", overrides=ov, progress=False,
                       compute={"workers": 2, "shard_size": 2})
    assert _hashes(tmp_path / "dask") == _hashes(tmp_path / "sync")


class _Oracle(torch.nn.Module):
    """A denoiser that knows the clean clip: returns the exact target of its objective. Sampling with it
    must give the clean clip back, which checks schedulers, timesteps and objectives agree."""

    def __init__(self, x0: torch.Tensor, objective: str):
        super().__init__()
        from types import SimpleNamespace

        from synthdata.render.diffusion.sampling.objectives import _acp

        self.x0, self.acp = x0, _acp
        self.config = SimpleNamespace(objective=objective)
        self.anchor = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x, t, cond):
        x0 = self.x0.expand_as(x)
        t = t.float().reshape(-1, 1, 1, 1, 1)
        if self.config.objective == "flow":
            s = (t / 1000).clamp(min=1e-4)
            eps = (x - (1 - s) * x0) / s
            return eps - x0
        a = self.acp(t.round().long().flatten()).reshape(-1, 1, 1, 1, 1).float()
        eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
        return a.sqrt() * eps - (1 - a).sqrt() * x0


@pytest.mark.parametrize("objective, scheduler", [("v", "ddim"), ("v", "dpmsolver"), ("flow", "flowmatch"),
                                                  ("flow", "dpmsolver")])
def test_an_oracle_denoiser_recovers_the_clean_clip(objective, scheduler):
    from synthdata.render.diffusion.model.checkpoint import FrameCodec, TrainedGenerator

    x0 = torch.rand(1, 3, 2, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    gen = TrainedGenerator(_Oracle(x0, objective), FrameCodec())
    cond = torch.zeros(2, 5, 2, 8, 8)
    out = sample_clips(gen, cond, seeds=[1, 2], steps=8, scheduler=scheduler)
    torch.testing.assert_close(out, x0.expand_as(out), atol=5e-3, rtol=0)  # dpmsolver-flow rounds t to ints
    refined = sample_clips(gen, cond, seeds=[1, 2], steps=8, scheduler=scheduler, init=x0.expand(2, -1, -1, -1, -1),
                           strength=0.5)
    torch.testing.assert_close(refined, x0.expand_as(refined), atol=5e-3, rtol=0)
