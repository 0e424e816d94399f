"""CUDA: the ray-caster's labels match the CPU's, CUDA runs are deterministic, a Dask GPU worker makes a
whole dataset, chunked temporal attention survives the 65,535-row grid limit, bf16 training works.

Every test is marked ``cuda`` and skipped without a GPU (``SYNTHDATA_REQUIRE_CUDA=1`` turns the skip
into a failure, so a GPU job cannot pass by skipping). Run on a GPU machine with::

    python -m pytest -m cuda tests/cuda -q          # or: benchmarks/gpu.sh tests

Tolerances (CUDA vs CPU, same scene and trajectories; float32 on both, FMA contraction and
transcendental implementations differ, so pixels on a silhouette edge may flip owner):

- instance / semantic ids: fraction of equal pixels ≥ 0.999; amodal coverage the same;
- depth: on pixels both devices give the same owner, ≥ 99.9 % within ``atol 1e-3 m + rtol 1e-4`` and
  every one within 1 % (grazing hits solve a near-degenerate quadratic);
- flow: on those pixels, the NaN pattern equal on ≥ 99.9 % and ≥ 99.9 % within 1e-2 px;
- annotations: same rows, frame indices, track ids and classes; boxes within 1 px; mask IoU ≥ 0.99
  summed over the clip, and per mask IoU ≥ 0.99 or at most 2 differing pixels (a small mask's edge);
- RGB (separate test): ≥ 99 % of pixels within 2 levels, mean difference < 0.5 level.
"""

from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import synthdata
from synthdata.annotate import Annotations, annotate
from synthdata.render import Frames, make_backend

from ..conftest import TINY, make_tiny_clip, tiny_spec

_REQUIRE = os.environ.get("SYNTHDATA_REQUIRE_CUDA", "") not in ("", "0")
if not torch.cuda.is_available() and _REQUIRE:
    raise RuntimeError("SYNTHDATA_REQUIRE_CUDA is set but torch.cuda.is_available() is False "
                       f"(torch {torch.__version__}, built for CUDA {torch.version.cuda})")

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

CUDA = "cuda"
#: the tiny clip size of tests/conftest.py (32×32, 4 frames) on the CUDA device
TINY_CUDA = [o for o in TINY if not o.startswith("device=")] + ["device=cuda"]


# -- helpers ------------------------------------------------------------------------------------------------------
def _render(clip, device: str) -> tuple[Frames, Annotations]:
    """The clip's scene and trajectories rendered and annotated on ``device`` (labels come back on the host)."""
    c = clip.spec.clip
    frames = make_backend(clip.spec.backend, device).render(clip.scene, clip.traj)
    return frames, annotate(frames, clip.scene, clip.traj, clip.spec.annotations)


def _sync() -> None:
    if torch.device(CUDA).type == "cuda":
        torch.cuda.synchronize()


def _host(frames: Frames) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in vars(frames).items() if v is not None}


def _decode(rle: str, h: int, w: int) -> np.ndarray:
    from pycocotools import mask as mask_utils

    if not rle:
        return np.zeros((h, w), dtype=bool)
    return mask_utils.decode({"size": [h, w], "counts": rle.encode("ascii")}).astype(bool)


def _assert_frames_close(ref: Frames, got: Frames) -> None:
    a, b = _host(ref), _host(got)
    for k in a:
        assert a[k].shape == b[k].shape and a[k].dtype == b[k].dtype, k
    same_owner = a["instance"] == b["instance"]
    assert same_owner.mean() >= 0.999, f"instance ids: only {same_owner.mean():.5f} of pixels agree"
    assert (a["amodal"] == b["amodal"]).mean() >= 0.999, "amodal coverage differs on more than 0.1 % of pixels"

    # depth: sky (+inf) where both agree, close elsewhere
    da, db = a["depth"][same_owner], b["depth"][same_owner]
    assert np.array_equal(np.isinf(da), np.isinf(db)), "sky pixels differ"
    fin = np.isfinite(da) & np.isfinite(db)
    da, db = da[fin].astype(np.float64), db[fin].astype(np.float64)
    close = np.abs(da - db) <= 1e-3 + 1e-4 * np.abs(da)
    assert close.mean() >= 0.999, f"depth: {close.mean():.5f} of pixels within 1e-3 m + 1e-4·z " \
                                  f"(max |Δ| {np.abs(da - db).max():.3g} m)"
    assert (np.abs(da - db) <= 1e-2 * np.abs(da)).all(), f"depth: max relative error {np.max(np.abs(da - db) / da):.3g}"

    for name in ("flow_fwd", "flow_bwd"):
        fa, fb = a[name][same_owner], b[name][same_owner]  # (M,2)
        nan_same = np.isnan(fa).any(-1) == np.isnan(fb).any(-1)
        assert nan_same.mean() >= 0.999, f"{name}: NaN (behind the camera) pattern differs on {1 - nan_same.mean():.4%}"
        ok = ~np.isnan(fa).any(-1) & ~np.isnan(fb).any(-1)
        err = np.abs(fa[ok] - fb[ok]).max(-1)
        assert (err <= 1e-2).mean() >= 0.999, f"{name}: {(err <= 1e-2).mean():.5f} of pixels within 1e-2 px " \
                                              f"(max |Δ| {err.max():.3g} px)"


def _assert_labels_close(ref: Annotations, got: Annotations, h: int, w: int) -> None:
    assert ref.num_rows == got.num_rows
    for name in ("frame_index", "track_id", "class_id"):
        np.testing.assert_array_equal(getattr(ref, name), getattr(got, name), err_msg=name)
    assert (ref.semantic == got.semantic).mean() >= 0.999, "semantic maps differ on more than 0.1 % of pixels"
    np.testing.assert_allclose(ref.labels["box3d"], got.labels["box3d"], atol=1e-5, err_msg="box3d (host-side, from trajectories)")

    for name, px in (("bbox_visible", "visible_pixels"), ("bbox_amodal", "amodal_pixels")):
        a, b = getattr(ref, name), getattr(got, name)
        pa, pb = getattr(ref, px), getattr(got, px)
        both = np.isfinite(a).all(-1) & np.isfinite(b).all(-1)
        assert np.abs(a[both] - b[both]).max(initial=0) <= 1.0, f"{name}: boxes differ by more than 1 px"
        # a box may exist on one device only when it is a sliver of at most 2 pixels there
        one = np.isfinite(a).all(-1) ^ np.isfinite(b).all(-1)
        assert (np.maximum(pa, pb)[one] <= 2).all(), f"{name}: an object of more than 2 px seen on one device only"

    inter = union = 0
    for r, (ra, rb) in enumerate(zip(ref.mask_rle, got.mask_rle)):
        ma, mb = _decode(ra, h, w), _decode(rb, h, w)
        i, u = int((ma & mb).sum()), int((ma | mb).sum())
        inter, union = inter + i, union + u
        if u:
            assert i / u >= 0.99 or u - i <= 2, f"row {r} (frame {ref.frame_index[r]}, track {ref.track_id[r]}): " \
                                                f"mask IoU {i / u:.3f}, {u - i} pixels differ"
    assert union == 0 or inter / union >= 0.99, f"clip mask IoU {inter / union:.4f}"


# -- (i) CUDA labels equal the CPU's --------------------------------------------------------------------------------
@pytest.mark.parametrize("recipe,seed", [("shapes", 0), ("shapes", 3), ("highway", 1), ("colonoscopy", 2)])
def test_raycast_labels_on_cuda_match_cpu(recipe, seed):
    spec = tiny_spec(recipe, "clip.width=64", "clip.height=48")
    clip = make_tiny_clip(spec, seed=seed)  # rendered and annotated on the CPU
    frames, labels = _render(clip, CUDA)
    assert frames.instance.device.type == torch.device(CUDA).type
    assert (clip.frames.instance > 0).any(), "the reference clip shows no object: pick another seed"
    _assert_frames_close(clip.frames, frames)
    _assert_labels_close(clip.labels, labels, spec.clip.height, spec.clip.width)


def test_raycast_rgb_on_cuda_matches_cpu():
    """Shading and textures (int64 lattice hash: identical by design) agree to a level or two."""
    clip = make_tiny_clip(tiny_spec("shapes", "clip.width=64", "clip.height=64"), seed=3)
    frames, _ = _render(clip, CUDA)
    a, b = clip.frames.rgb.cpu().numpy().astype(int), frames.rgb.cpu().numpy().astype(int)
    diff = np.abs(a - b).max(-1)
    assert (diff <= 2).mean() >= 0.99, f"only {(diff <= 2).mean():.4f} of pixels within 2 levels"
    assert np.abs(a - b).mean() < 0.5


# -- (ii) determinism on CUDA -------------------------------------------------------------------------------------
@pytest.mark.parametrize("recipe", ["shapes", "highway", "colonoscopy"])
def test_cuda_render_is_deterministic(recipe):
    """Same scene twice, with separate backend instances: identical bytes in every map and label."""
    clip = make_tiny_clip(tiny_spec(recipe, "clip.width=64", "clip.height=48"), seed=1)
    (f1, l1), (f2, l2) = _render(clip, CUDA), _render(clip, CUDA)
    for name, a in _host(f1).items():
        assert a.tobytes() == _host(f2)[name].tobytes(), name  # bytes: NaN payloads included
    for name, a in vars(l1).items():
        b = getattr(l2, name)
        assert (a == b) if isinstance(a, list) else (a.tobytes() == b.tobytes()), name


# -- (iii) a Dask GPU worker --------------------------------------------------------------------------------------
def test_dask_gpu_worker_makes_a_complete_dataset(tmp_path):
    """compute={"gpus": 1}: one Dask worker pinned to GPU 0 renders every shard; the dataset is whole,
    verifies, says device cuda, and is byte-identical to an in-process CUDA run (same device type)."""
    from synthdata.io.layout import Layout
    from synthdata.io.manifest import Manifest
    from synthdata.io.verify import verify

    out = tmp_path / "dask"
    m = synthdata.generate("shapes", clips=4, out=out, overrides=TINY_CUDA, compute={"gpus": 1, "shard_size": 2},
                           progress=False)
    assert m.complete and len(m.shards) == 2
    assert m.device == CUDA
    assert m.stats["executor"] == "local" and m.stats["workers_last_run"] == 1
    on_disk = json.loads((out / "dataset.json").read_text())
    assert on_disk["device"] == CUDA and on_disk["complete"] is True
    assert verify(Layout(out), Manifest.read(Layout(out)), "full") == []
    ds = synthdata.open_dataset(out)
    assert len(ds) == 4

    sync = synthdata.generate("shapes", clips=4, out=tmp_path / "sync", overrides=TINY_CUDA,
                              compute={"name": "sync", "shard_size": 2}, progress=False)
    files = lambda man: {k: v for s in man.shards for k, v in s.files.items()}  # noqa: E731
    assert files(m) == files(sync), "a Dask GPU worker and the driver's own CUDA render gave different files"


# -- (iv) chunked temporal attention -------------------------------------------------------------------------------
def _attention(heads: int, dim_head: int, channels: int):
    from diffusers.models.attention_processor import Attention

    torch.manual_seed(0)
    return Attention(query_dim=channels, heads=heads, dim_head=dim_head).eval()


def test_chunked_attention_matches_unchunked_on_cuda():
    from diffusers.models.attention_processor import AttnProcessor2_0

    from synthdata.render.diffusion.model.attention import ChunkedAttnProcessor

    attn = _attention(heads=2, dim_head=8, channels=16).to(CUDA)
    x = torch.randn(300, 4, 16, device=CUDA)  # (B·H·W rows, frames, channels)
    proc = ChunkedAttnProcessor(max_rows=14)  # 14 // 2 heads = 7 rows per chunk
    calls = []
    inner = proc.inner
    proc.inner = lambda *a, **k: calls.append(a[1].shape[0]) or inner(*a, **k)
    with torch.no_grad():
        attn.set_processor(AttnProcessor2_0())
        full = attn(x)
        attn.set_processor(proc)
        chunked = attn(x)
    assert len(calls) == math.ceil(300 / 7) and max(calls) == 7
    torch.testing.assert_close(chunked, full, atol=1e-5, rtol=1e-5)


def test_chunked_attention_past_the_grid_limit_matches_cpu():
    """70,000 rows (> 65,535) through the default processor on CUDA, forward and backward: no
    'CUDA error: invalid argument', and the CPU's unchunked result (fp32; bf16 loosely)."""
    from diffusers.models.attention_processor import AttnProcessor2_0

    from synthdata.render.diffusion.model.attention import ChunkedAttnProcessor

    rows = 70_000
    ref_attn = _attention(heads=2, dim_head=8, channels=16)  # dim_head 8: flash / memory-efficient kernels apply
    x = torch.randn(rows, 4, 16, generator=torch.Generator().manual_seed(1))
    ref_attn.set_processor(AttnProcessor2_0())
    x_ref = x.clone().requires_grad_(True)
    ref = ref_attn(x_ref)
    ref.square().mean().backward()

    attn = copy.deepcopy(ref_attn).to(CUDA)
    attn.zero_grad(set_to_none=True)
    attn.set_processor(ChunkedAttnProcessor())
    x_cuda = x.to(CUDA).requires_grad_(True)
    out = attn(x_cuda)
    out.square().mean().backward()
    _sync()
    torch.testing.assert_close(out.detach().cpu(), ref.detach(), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(x_cuda.grad.cpu(), x_ref.grad, atol=1e-7, rtol=1e-3)
    for (name, p), q in zip(attn.named_parameters(), ref_attn.parameters()):
        torch.testing.assert_close(p.grad.cpu(), q.grad, atol=1e-6, rtol=1e-3, msg=lambda m: f"{name}: {m}")

    with torch.no_grad(), torch.autocast(torch.device(CUDA).type, dtype=torch.bfloat16):
        low = attn(x.to(CUDA))
    _sync()
    assert torch.isfinite(low).all()
    torch.testing.assert_close(low.float().cpu(), ref.detach(), atol=5e-2, rtol=5e-2)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_video_unet_past_the_grid_limit(precision):
    """The ``small`` preset on 17 clips of 4×64×64: the full-resolution temporal transformer sees
    17·64·64 = 69,632 rows. With chunking installed the forward pass runs, and two chunk sizes agree."""
    from synthdata.render.diffusion.model.attention import chunk_temporal_attention
    from synthdata.render.diffusion.conditioning.maps import condition_channels
    from synthdata.render.diffusion.model.unet import LayoutVideoModel
    from synthdata.render.diffusion.model.presets import MODEL_PRESETS, unet_config
    from synthdata.render.diffusion.sampling.precision import autocast

    classes = ["sphere", "cube", "cylinder"]
    torch.manual_seed(0)
    model = LayoutVideoModel(class_names=classes, unet_config=unet_config(MODEL_PRESETS.get("small")),
                             preset="small", frames=4, height=64, width=64).to(CUDA).eval()
    B, T, S = 17, 4, 64
    assert B * S * S > 65_535
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, 3, T, S, S, generator=g).to(CUDA)
    cond = torch.rand(B, condition_channels(len(classes)), T, S, S, generator=g).to(CUDA)
    t = torch.full((B,), 500, device=CUDA)
    dev = torch.device(CUDA)
    with torch.no_grad():
        assert chunk_temporal_attention(model.unet) > 0
        with autocast(dev, precision):
            a = model(x, t, cond).float()
        chunk_temporal_attention(model.unet, 16_384)
        with autocast(dev, precision):
            b = model(x, t, cond).float()
    _sync()
    assert a.shape == x.shape and torch.isfinite(a).all()
    tol = 1e-4 if precision == "fp32" else 3e-2
    torch.testing.assert_close(a, b, atol=tol, rtol=tol)


# -- (v) bf16 training on CUDA --------------------------------------------------------------------------------------
def test_bf16_training_step_on_cuda(tiny_dataset, tmp_path, monkeypatch):
    """A few bf16 steps of the tiny generator: finite losses, finite weights, and autocast really ran bf16."""
    from synthdata.render.diffusion.model.checkpoint import load_generator
    from synthdata.train import TrainConfig, train_generator

    seen: list[tuple[str, torch.dtype]] = []

    class Recording(torch.autocast):  # what the training step asks autocast for
        def __init__(self, device_type, dtype=None, *args, **kwargs):
            seen.append((device_type, dtype))
            super().__init__(device_type, dtype, *args, **kwargs)

    monkeypatch.setattr(torch, "autocast", Recording)
    cfg = TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "ckpt"), model="tiny", steps=4, batch=2, lr=3e-3,
                      warmup=0, device=CUDA, precision="bf16", progress=False, log_every=1, sample_every=10_000,
                      save_every=10_000)
    result = train_generator(cfg)
    monkeypatch.undo()
    assert result.steps_trained == 4 and len(result.log) == 4
    losses = [loss for _, loss in result.log]
    assert all(math.isfinite(v) for v in losses), losses
    assert (torch.device(CUDA).type, torch.bfloat16) in seen, f"training never entered bf16 autocast on CUDA (saw {seen})"
    gen = load_generator(Path(cfg.out), torch.device(CUDA))
    assert all(torch.isfinite(p).all() for p in gen.model.parameters())
