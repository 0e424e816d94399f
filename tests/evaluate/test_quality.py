"""Quality metrics: PSNR/SSIM, flow warp error, mIoU, the label-fidelity segmenter, `synthdata evaluate`."""

from __future__ import annotations

import json

import pytest
import torch

import synthdata
from synthdata.evaluate import evaluate_generated, miou, segmenter_for, video_psnr, video_ssim, warp_error
from synthdata.evaluate.quality import frames_and_labels

from ..conftest import SYNC2, TINY, run_cli


def test_psnr_ssim_rank_closeness():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(4, 3, 32, 32, generator=g)
    near = (a + 0.02 * torch.randn(a.shape, generator=g)).clamp(0, 1)
    far = (a + 0.2 * torch.randn(a.shape, generator=g)).clamp(0, 1)
    assert video_ssim(a, a) == pytest.approx(1.0, abs=1e-4)
    assert video_psnr(a, near) > video_psnr(a, far) > 5
    assert video_ssim(a, near) > video_ssim(a, far)
    assert video_psnr(a, near) == pytest.approx(-10 * torch.log10(((a - near) ** 2).mean()).item(), rel=1e-4)


def test_warp_error_follows_the_flow():
    """A texture moving 1 px right per frame: backward flow (−1, 0) warps it exactly; (+1, 0) does not."""
    g = torch.Generator().manual_seed(0)
    base = torch.rand(3, 32, 40, generator=g)
    video = torch.stack([torch.roll(base, t, dims=-1) for t in range(4)])
    right = torch.zeros(4, 32, 40, 2)
    right[..., 0] = -1.0
    assert warp_error(video, right) < 1e-5
    assert warp_error(video, -right) > 0.1


def test_ray_cast_frames_are_consistent_along_their_flow(shapes_clip):
    """Ray-cast frames vs the same frames with every other one mirrored (temporally inconsistent)."""
    f = shapes_clip.frames
    rgb = f.rgb.permute(0, 3, 1, 2).float() / 255
    flicker = torch.stack([x.flip(-1) if t % 2 else x for t, x in enumerate(rgb)])
    good = warp_error(rgb, f.flow_bwd, f.instance.long())
    assert good < 0.5 * warp_error(flicker, f.flow_bwd, f.instance.long())


def test_miou():
    t = torch.tensor([[0, 0, 1, 1, 2, 2]])
    assert miou(t, t, 3) == 1.0
    p = torch.tensor([[0, 0, 1, 2, 2, 2]])  # class 1: 1/2, class 2: 2/3, background: 1
    assert miou(p, t, 3) == pytest.approx((1 + 0.5 + 2 / 3) / 3)
    assert miou(p, t, 5) == pytest.approx((1 + 0.5 + 2 / 3) / 3)  # absent classes do not count


def test_segmenter_learns_the_training_layouts(tiny_dataset):
    seg = segmenter_for(tiny_dataset, steps=120)
    images, labels = frames_and_labels(synthdata.open_dataset(tiny_dataset), seg.class_names)
    background_only = miou(torch.zeros_like(labels), labels, len(seg.class_names) + 1)
    assert miou(seg.predict(images), labels, len(seg.class_names) + 1) > background_only + 0.2


@pytest.fixture(scope="module")
def raycast_and_refined(tiny_checkpoint, tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    synthdata.generate("shapes", clips=2, out=root / "ray", overrides=TINY, compute=SYNC2, progress=False)
    for s in ("0.2", "1.0"):
        synthdata.generate("shapes", clips=2, out=root / f"gen{s}", compute=SYNC2, progress=False,
                           overrides=[*TINY, "backend=diffusion", f"backend.checkpoint={tiny_checkpoint}",
                                      "backend.init=raycast", f"backend.strength={s}", "backend.steps=10"])
    return root


def test_refine_strength_shows_in_psnr_and_ssim(raycast_and_refined, tiny_dataset):
    root = raycast_and_refined
    light = evaluate_generated(root / "gen0.2", reference=root / "ray")
    full = evaluate_generated(root / "gen1.0", reference=root / "ray")
    assert light["psnr"] > full["psnr"] and light["ssim"] > full["ssim"]
    assert light["warp_error_reference"] == full["warp_error_reference"]  # the same ray-cast source


def test_cli_prints_every_metric(raycast_and_refined, tiny_dataset):
    root = raycast_and_refined
    r = run_cli("evaluate", str(root / "gen0.2"), "--train", str(tiny_dataset), "--reference", str(root / "ray"),
                "--seg-steps", "20")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    for key in ("label_fidelity_miou", "train_miou", "per_class_iou", "warp_error", "warp_error_reference", "psnr",
                "ssim"):
        assert key in report, key
    assert 0 <= report["label_fidelity_miou"] <= 1 and report["clips"] == 2
    r = run_cli("evaluate", str(root))
    assert r.returncode == 2 and r.stderr.strip() == f"error: generated: {root} is not a synthdata dataset (no dataset.json)"
