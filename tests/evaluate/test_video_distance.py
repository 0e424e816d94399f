"""Video distances: Fréchet and kernel (MMD) distances over a CVRL-style encoder trained here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import synthdata
from synthdata.errors import UserError
from synthdata.evaluate.video_distance import (distances_from_features, embed_dataset, frechet_distance,
                                               frechet_distance_gaussian, kernel_distance, mmd2_unbiased,
                                               train_and_compare, video_distances)
from synthdata.evaluate.video_encoder import (VideoEncoder, augment_views, clip_windows, load_clips,
                                              sample_view_starts, train_video_encoder, with_config)

from ..conftest import SYNC2, TINY

CLIPS = 8
STEPS = 30


# ------------------------------------------------------------------------------------- pure statistics

def _rand_cov(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_of_a_set_with_itself_is_zero_and_symmetric_nonnegative():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 16)) @ rng.normal(size=(16, 16))
    b = rng.normal(size=(150, 16)) + 0.3
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)
    assert frechet_distance(a, b) > 0
    few = rng.normal(size=(5, 16))  # fewer samples than dimensions: singular covariances stay finite, ≥ 0
    assert frechet_distance(few, few) == pytest.approx(0.0, abs=1e-8)
    assert np.isfinite(frechet_distance(few, b)) and frechet_distance(few, b) >= 0


def test_frechet_closed_form_for_gaussians():
    """Diagonal covariances: |μa − μb|² + Σ (σa − σb)²; one covariance a multiple of the other:
    |Δμ|² + (1 − √k)² tr Σ."""
    mu_a, mu_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    sa, sb = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = 1 + 4 + ((np.sqrt(sa) - np.sqrt(sb)) ** 2).sum()
    assert frechet_distance_gaussian(mu_a, np.diag(sa), mu_b, np.diag(sb)) == pytest.approx(expected, rel=1e-12)
    cov = _rand_cov(np.random.default_rng(1), 8)
    mu = np.zeros(8)
    assert frechet_distance_gaussian(mu, cov, mu + 0.5, 4 * cov) == pytest.approx(
        8 * 0.25 + (1 - 2) ** 2 * np.trace(cov), rel=1e-9)


def test_frechet_agrees_with_scipy_sqrtm():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(2)
    ca, cb = _rand_cov(rng, 12), _rand_cov(rng, 12)
    ma, mb = rng.normal(size=12), rng.normal(size=12)
    ref = ((ma - mb) ** 2).sum() + np.trace(ca + cb - 2 * scipy_linalg.sqrtm(ca @ cb).real)
    assert frechet_distance_gaussian(ma, ca, mb, cb) == pytest.approx(ref, rel=1e-8)


def test_unbiased_mmd_is_near_zero_for_one_distribution_and_positive_for_a_shift():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(300, 8)), rng.normal(size=(300, 8))
    shifted = rng.normal(size=(300, 8)) + 0.5
    same, _, _ = kernel_distance(x, y, subsets=20, subset_size=100)
    far, far_std, k = kernel_distance(x, shifted, subsets=20, subset_size=100)
    assert k == 100 and far_std > 0
    assert abs(same) < 0.02
    assert far > 0.3 and far > 10 * abs(same) and far > 5 * far_std
    assert mmd2_unbiased(x, x + 0.5) == pytest.approx(mmd2_unbiased(x + 0.5, x))


def test_distances_from_features_record_the_encoder():
    rng = np.random.default_rng(4)
    d = distances_from_features(rng.normal(size=(20, 4)), rng.normal(size=(30, 4)), encoder="abc", subset_size=10)
    assert (d.n_a, d.n_b, d.kid_subset_size, d.encoder) == (20, 30, 10, "abc")
    assert set(d.to_dict()) >= {"fvd", "kid", "kid_std"}
    with pytest.raises(ValueError, match="embedding sizes disagree"):
        distances_from_features(rng.normal(size=(5, 4)), rng.normal(size=(5, 3)))


# ------------------------------------------------------------------------------------- encoder pieces

def test_view_sampling_is_cvrl_like():
    g = torch.Generator().manual_seed(0)
    pairs = [sample_view_starts(20, 4, g) for _ in range(4000)]
    assert all(0 <= s <= 16 for p in pairs for s in p)
    gaps = np.bincount([abs(a - b) for a, b in pairs], minlength=17)
    assert gaps[0] > gaps[8] > gaps[16] > 0  # nearby views more likely, far ones still drawn
    assert sample_view_starts(4, 4, g) == (0, 0)


def test_augmentation_is_sampled_once_per_view():
    """A clip of four identical frames stays four identical frames after colour augmentation."""
    g = torch.Generator().manual_seed(0)
    frame = torch.rand(8, 1, 3, 16, 16)
    out = augment_views(frame.expand(-1, 4, -1, -1, -1).contiguous(), g)
    assert torch.equal(out, out[:, :1].expand_as(out))
    assert not torch.allclose(out[:, 0], frame[:, 0])  # it did change the colours
    assert out.min() >= 0 and out.max() <= 1


def test_clip_windows_cover_the_clip():
    clip = np.random.default_rng(0).integers(0, 255, (10, 24, 40, 3), dtype=np.uint8)
    w = clip_windows(clip, 4, 16)
    assert w.shape == (3, 4, 3, 16, 16)  # starts 0, 4 and 6 (the last aligned to the end)
    assert clip_windows(clip[:2], 4, 16).shape == (1, 4, 3, 16, 16)


def test_training_is_deterministic_and_needs_two_clips():
    rng = np.random.default_rng(0)
    clips = [rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8) for _ in range(4)]
    cfg = with_config("tiny", width=4)
    a = train_video_encoder(clips, cfg, steps=3, batch=4, seed=5)
    b = train_video_encoder(clips, cfg, steps=3, batch=4, seed=5)
    c = train_video_encoder(clips, cfg, steps=3, batch=4, seed=6)
    assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert a.train_losses == b.train_losses
    with pytest.raises(UserError, match="at least 2 clips"):
        train_video_encoder(clips[:1], cfg, steps=1)
    with pytest.raises(UserError, match="encoder.frames"):
        with_config("tiny", frames=0)


# ------------------------------------------------------------------------------------- tiny datasets

@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("video_distance")
    out = {}
    for key, recipe, extra in (("shapes", "shapes", []), ("shapes_seed7", "shapes", ["seed=7"]),
                               ("colonoscopy", "colonoscopy", [])):
        out[key] = root / key
        synthdata.generate(recipe, clips=CLIPS, out=out[key], overrides=[*TINY, *extra], compute=SYNC2,
                           progress=False)
    return out


@pytest.fixture(scope="module")
def comparison(datasets):
    return train_and_compare(datasets["shapes"], [datasets["shapes_seed7"], datasets["colonoscopy"]],
                             steps=STEPS, batch=16, seed=0, subset_size=6, subsets=20)


def test_contrastive_loss_goes_down(comparison):
    losses = comparison.encoder.train_losses
    assert len(losses) == STEPS
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.15, losses


def test_another_domain_is_farther_than_another_seed(comparison, datasets):
    same, other = comparison.distances
    print(f"\nshapes↔shapes(seed 7): {same}\nshapes↔colonoscopy:    {other}")
    assert same.encoder == other.encoder == comparison.encoder.fingerprint()
    assert (same.n_a, same.n_b, other.n_b, same.kid_subset_size) == (CLIPS, CLIPS, CLIPS, 6)
    assert 0 <= same.fvd < other.fvd / 3
    assert same.kid < other.kid / 3 and other.kid > 3 * other.kid_std
    # the dataset-level call with the same encoder measures the same numbers
    again = video_distances(datasets["shapes"], datasets["colonoscopy"], comparison.encoder, "cpu", subset_size=6,
                            subsets=20)
    assert again.fvd == pytest.approx(other.fvd, rel=1e-9) and again.kid == pytest.approx(other.kid, rel=1e-9)
    assert video_distances(datasets["shapes"], datasets["shapes"], comparison.encoder).fvd == pytest.approx(0, abs=1e-9)


def test_save_load_round_trip_gives_identical_embeddings(comparison, datasets, tmp_path):
    enc = comparison.encoder
    enc.save_pretrained(tmp_path / "enc")
    assert sorted(p.name for p in (tmp_path / "enc").iterdir()) == ["config.json", "model.safetensors"]
    loaded = VideoEncoder.from_pretrained(tmp_path / "enc")
    assert loaded.fingerprint() == enc.fingerprint()
    assert loaded.provenance["train_on"] == "union" and loaded.provenance["steps"] == STEPS
    assert np.array_equal(embed_dataset(datasets["colonoscopy"], loaded), embed_dataset(datasets["colonoscopy"], enc))
    (tmp_path / "enc" / "config.json").write_text('{"_class_name": "VideoEncoder", "_format": 1, "width": "x"}')
    with pytest.raises(UserError, match="encoder.width"):
        VideoEncoder.from_pretrained(tmp_path / "enc")
    with pytest.raises(UserError, match="expected a folder written by"):
        VideoEncoder.from_pretrained(tmp_path)


def test_load_clips_and_bad_inputs(datasets):
    clips = load_clips(datasets["shapes"])
    assert len(clips) == CLIPS and clips[0].shape == (4, 3, 32, 32) and clips[0].dtype == torch.uint8
    assert load_clips(datasets["shapes"], short_side=16)[0].shape == (4, 3, 16, 16)
    with pytest.raises(UserError, match="train_on"):
        train_and_compare(datasets["shapes"], datasets["colonoscopy"], train_on="both")
    with pytest.raises(UserError, match="no dataset.json"):
        train_and_compare(datasets["shapes"], datasets["shapes"] / "media")
