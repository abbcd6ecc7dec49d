import numpy as np
import pytest

from specir.analysis.stats import bootstrap_stats, residual_drivers, residual_stats


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


def test_residual_drivers_separate_parameter_errors_from_what_remains():
    """A band residual made of a 0.05 mag offset plus -1 × the A_V error plus -0.5 × the
    metallicity error: the fit gives back the offset (not the raw mean, which the biased A_V
    errors shift) and both slopes, within their bootstrap errors."""
    rng = np.random.default_rng(7)
    dav, dz = rng.normal(0.03, 0.05, 400), rng.normal(0.0, 0.1, 400)
    resid = 0.05 - 1.0 * dav - 0.5 * dz + rng.normal(0, 0.01, 400)
    d = residual_drivers(resid, {"av": dav, "log_metallicity": dz}, n_boot=300)
    assert abs(np.mean(resid) - 0.05) > 5 * d["intercept_err"]  # the raw mean is off
    assert d["intercept"] == pytest.approx(0.05, abs=3 * d["intercept_err"])
    assert d["slopes"]["av"] == pytest.approx(-1.0, abs=3 * d["slopes_err"]["av"])
    assert d["slopes"]["log_metallicity"] == pytest.approx(-0.5, abs=0.05)
    assert d["explained"] > 0.9 and d["n"] == 400


def test_residual_drivers_skip_non_finite_rows_and_refuse_too_few():
    d = residual_drivers([0.1, np.nan, 0.3, 0.2], {"av": [0.0, 1.0, 0.2, np.inf]})
    assert d["n"] == 2 and np.isnan(d["intercept"]) and np.isnan(d["slopes"]["av"])


def test_residual_drivers_refuse_errors_of_another_length_by_name():
    from specir.errors import SpecIRInputError

    with pytest.raises(SpecIRInputError, match=r"errors\['av'\]"):
        residual_drivers([0.1, 0.2, 0.3], {"av": [0.0, 1.0]})
