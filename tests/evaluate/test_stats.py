import numpy as np
import pytest

from synthdata.evaluate.stats import compare_arms, iqm, probability_of_improvement, verdict


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm(np.arange(8.0)) == pytest.approx(np.mean([2, 3, 4, 5]))
    assert iqm([1.0, 1.0, 1.0, 100.0]) == pytest.approx(1.0)  # one outlying seed does not move it
    # n not divisible by 4: fractional weights at the cut (rliable / scipy's interpolated trimming)
    assert iqm(np.arange(5.0)) == pytest.approx((0.75 * 1 + 2 + 0.75 * 3) / 2.5)


def test_probability_of_improvement_counts_ties_half():
    assert probability_of_improvement([2, 3], [1, 1]) == 1.0
    assert probability_of_improvement([1, 1], [1, 1]) == 0.5
    assert probability_of_improvement([0, 3], [1, 2]) == 0.5


def test_identical_arms_cover_zero_and_shifted_arms_do_not():
    rng = np.random.default_rng(0)
    base = rng.normal(0.5, 0.1, (3, 40))
    same = compare_arms(base.copy(), base, resamples=1000)
    assert same.low <= 0 <= same.high and same.delta == 0 and not same.significant
    better = compare_arms(base + 0.05 + rng.normal(0, 0.01, base.shape), base, resamples=1000)
    assert better.significant and better.low > 0 and better.p_improve == 1.0
    assert "no detectable difference" in verdict(same) and "P(improve)=1.00" in verdict(better, 100, "mIoU")


def test_bootstrap_is_paired_and_seeded():
    """Pairing: a per-clip difficulty shared by both arms cancels, so a small constant gain is detected
    although the clips' spread is 100× larger."""
    rng = np.random.default_rng(1)
    difficulty = rng.normal(0, 1.0, (1, 50))
    base = np.repeat(difficulty, 3, 0)
    c1 = compare_arms(base + 0.01, base, resamples=500, seed=3)
    c2 = compare_arms(base + 0.01, base, resamples=500, seed=3)
    assert c1 == c2 and c1.low == pytest.approx(0.01) and c1.high == pytest.approx(0.01)


def test_strata_keep_their_share_of_the_resample():
    """With two strata of unequal gain the interval of the stratified bootstrap is narrower than the
    unstratified one (each resample keeps 10 clips of each stratum)."""
    base = np.zeros((3, 20))
    arm = np.concatenate([np.zeros((3, 10)), np.ones((3, 10))], 1)
    strat = compare_arms(arm, base, strata=[0] * 10 + [1] * 10, resamples=500)
    plain = compare_arms(arm, base, resamples=500)
    assert strat.low == pytest.approx(0.5) and strat.high == pytest.approx(0.5)
    assert plain.high - plain.low > 0.2


def test_shapes_must_match():
    with pytest.raises(ValueError, match=r"\(seeds, clips\)"):
        compare_arms(np.zeros((3, 4)), np.zeros((2, 4)))
