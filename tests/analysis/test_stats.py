import numpy as np
import pytest

from specir.analysis.stats import bootstrap_stats, residual_stats


def test_residual_stats_skips_non_finite_rows():
    s = residual_stats([1.0, np.nan, 3.0], [1.0, 1.0, 1.0], [0.0, 0.0, np.nan])
    assert s == {"n": 1, "bias": 1.0, "nmad": 0.0, "chi2_n": 1.0}


def test_reference_error_enters_chi2():
    s = residual_stats([1.0], [1.0], [0.0], ref_err=[1.0])
    assert s["chi2_n"] == pytest.approx(0.5)


def test_bootstrap_errors_match_the_sampling_error():
    rng = np.random.default_rng(3)
    n = 2000
    r = rng.normal(0.0, 0.2, n)
    s = bootstrap_stats(r, np.full(n, 0.1), np.zeros(n), n_boot=300)
    # median of a Gaussian: sigma * sqrt(pi / 2n)
    assert abs(s["bias_err"] / (0.2 * np.sqrt(np.pi / 2 / n)) - 1) < 0.25
    assert abs(s["nmad"] - 0.2) < 4 * s["nmad_err"]
    assert abs(s["chi2_n"] - 4.0) < 4 * s["chi2_n_err"]  # overconfident by 2x in sigma


def test_bootstrap_with_too_few_rows():
    s = bootstrap_stats([1.0], [1.0], [1.0])
    assert s["n"] == 1 and np.isnan(s["bias_err"])


def test_a_zero_error_gives_an_infinite_chi2_not_a_warning():
    # a posterior whose samples all agree (sd 0) claims certainty: infinitely overconfident
    s = bootstrap_stats(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 1.0]), np.zeros(3))
    assert s["chi2_n"] == np.inf and s["bias"] == 2.0 and np.isfinite(s["bias_err"])
