"""Metrics (``specir.scoring``): values that can be worked out by hand."""

import numpy as np
import pytest

from specir.scoring import chi_stats, gauss_stats, nmad, normalised_residuals, rms, score


def test_chi_stats_by_hand():
    s = chi_stats([0.5, -1.5, 2.5, np.nan, 0.0])
    assert s["n"] == 4
    assert s["chi2_n"] == pytest.approx((0.25 + 2.25 + 6.25 + 0) / 4)
    assert s["coverage_68"] == 0.5 and s["coverage_95"] == 0.75
    assert s["median_chi"] == pytest.approx(0.25)
    empty = chi_stats([np.nan])
    assert empty["n"] == 0 and np.isnan(empty["chi2_n"])


def test_gauss_stats_combines_predicted_and_observed_errors():
    pred, obs = np.array([1.0, 2.0, 3.0]), np.zeros(3)
    s = gauss_stats(pred, np.full(3, 0.6), obs, np.full(3, 0.8))  # sigma_tot = 1
    assert s["chi2_n"] == pytest.approx((1 + 4 + 9) / 3)
    assert s["coverage_68"] == pytest.approx(1 / 3) and s["bias"] == 2.0
    assert s["rms"] == pytest.approx(np.sqrt(14 / 3)) and s["nmad"] == pytest.approx(1.4826)
    # standard error of the mean chi^2 = [1, 4, 9]
    assert s["chi2_n_err"] == pytest.approx(np.std([1, 4, 9], ddof=1) / np.sqrt(3))
    one = gauss_stats(np.array([1.0]), np.ones(1), np.zeros(1))
    assert one["n"] == 1 and np.isnan(one["chi2_n_err"])  # no spread from one residual
    # a zero total error cannot normalise its residual: the row is left out, not inf
    s0 = gauss_stats(np.array([1.0, 2.0, 0.5]), np.array([1.0, 1.0, 0.0]), np.zeros(3))
    assert s0["n"] == 2 and np.isfinite(s0["chi2_n_err"])
    assert gauss_stats(np.array([np.nan]), np.ones(1), np.ones(1)) == {"n": 0}


def test_nmad_and_rms_ignore_nan():
    assert nmad(np.array([1.0, 2.0, 3.0, np.nan])) == pytest.approx(1.4826)
    assert rms(np.array([3.0, 4.0, np.nan])) == pytest.approx(np.sqrt(12.5))
    assert np.isnan(nmad(np.array([np.nan])))


def _data(n=6):
    mag = np.tile([14.0, 13.5, 10.0, 8.0], (n, 1))
    err = np.full((n, 4), 0.1)
    snr = np.full((n, 4), 10.0)
    snr[0, 3] = 1.0  # row 0 not detected in W4
    return {
        "mag": mag,
        "mag_err": err,
        "snr": snr,
        "flux_true": np.full((n, 4), np.nan),
        "agn_visible_true": np.array([0, 1, 1, 0, 0, 1], float)[:n],
        "log_lagn_true": np.array([np.nan, 44, 45, np.nan, np.nan, 43])[:n],
        "q_pah_true": np.full(n, 2.0),
    }


def test_score_counts_detections_and_scores_agn_on_true_agn():
    data, idx = _data(), np.arange(6)
    pred = {
        "mag_mu": data["mag"] + 0.1,
        "mag_sig": np.full((6, 4), np.sqrt(0.01)),  # sigma_tot = sqrt(0.02)
        "lagn_mu": np.full(6, 44.0),
        "lagn_sig": np.ones(6),
        "p_agn": np.array([0.1, 0.9, 0.9, 0.9, 0.1, 0.2]),
    }
    s = score(pred, data, idx)
    assert s["bands"]["w1"]["n"] == 6 and s["bands"]["w4"]["n"] == 5
    assert s["bands"]["w1"]["chi2_n"] == pytest.approx(0.01 / 0.02)
    assert s["bands"]["w1"]["bias"] == pytest.approx(0.1)
    assert s["colours"]["w1_w2"]["rms"] == pytest.approx(0.0, abs=1e-12)
    assert s["log_lagn"]["n"] == 3  # the three true AGN
    assert s["agn_presence_accuracy"] == pytest.approx(4 / 6)
    assert "vs_true" not in s["bands"]["w1"] and "q_pah" not in s
    chi = normalised_residuals(pred, data, idx, 2.0)
    assert len(chi[3]) == 5 and np.allclose(chi[0], 0.1 / np.sqrt(0.02))


def test_scores_against_the_truth_count_every_row_not_only_detections():
    from specir.bands import mag_to_mjy

    data, idx = _data(), np.arange(6)
    true_mag = data["mag"] - 0.05  # observed 0.05 mag fainter than the truth
    data["flux_true"] = mag_to_mjy(true_mag)
    pred = {"mag_mu": data["mag"] + 0.1, "mag_sig": np.full((6, 4), 0.3)}
    w4 = score(pred, data, idx)["bands"]["w4"]
    assert w4["n"] == 5 and w4["vs_true"]["n"] == 6  # the undetected row counts vs the truth
    assert w4["vs_true"]["bias"] == pytest.approx(0.15)
    assert w4["vs_true"]["chi2_n"] == pytest.approx((0.15 / 0.3) ** 2)


def test_a_nan_prediction_does_not_make_the_truth_bias_nan():
    from specir.bands import mag_to_mjy

    data, idx = _data(), np.arange(6)
    data["flux_true"] = mag_to_mjy(data["mag"])
    mu = data["mag"] + 0.1
    mu[2] = np.nan  # a row whose prediction was withheld (out of distribution)
    w1 = score({"mag_mu": mu, "mag_sig": np.full((6, 4), 0.2)}, data, idx)["bands"]["w1"]
    assert w1["vs_true"]["n"] == 5 and w1["vs_true"]["bias"] == pytest.approx(0.1)


def test_score_by_agn_scores_each_group_on_its_own_detections():
    from specir.scoring import score_by_agn

    data, idx = _data(), np.arange(6)
    data["agn_type_true"] = np.array([0, 2, 1, 2, 0, 1], float)
    data["agn_visible_true"] = np.array([0, 1, 1, 0, 0, 1], float)
    mu = data["mag"] + 0.1
    mu[[1, 2, 5]] -= 0.5  # the visible AGN predicted 0.4 mag too bright
    pred = {"mag_mu": mu, "mag_sig": np.full((6, 4), 0.2)}
    out = score_by_agn({"model": pred}, data, idx)
    assert [out[g]["n"] for g in ("no AGN", "AGN not visible", "visible AGN")] == [2, 1, 3]
    no_agn = out["no AGN"]["methods"]["model"]
    assert no_agn["w1"]["bias"] == pytest.approx(0.1) and no_agn["w4"]["n"] == 1  # row 0: W4 < 2σ
    seen = out["visible AGN"]["methods"]["model"]["w2"]
    assert seen["bias"] == pytest.approx(-0.4) and seen["median_sigma"] == pytest.approx(0.2)
    assert seen["chi2_n"] == pytest.approx(0.16 / (0.04 + 0.01))
    data.pop("agn_type_true")  # a real catalog: no groups
    assert score_by_agn({"model": pred}, data, idx) is None


def test_score_reports_the_share_of_visible_agn_beside_the_accuracy():
    data, idx = _data(), np.arange(6)
    pred = {"mag_mu": data["mag"], "mag_sig": np.full((6, 4), 0.1), "p_agn": np.zeros(6)}
    pred.update(lagn_mu=np.full(6, 44.0), lagn_sig=np.ones(6))
    s = score(pred, data, idx)
    # never answering "AGN" is right on every galaxy without a visible one
    assert s["agn_presence_accuracy"] == pytest.approx(1 - s["agn_visible_fraction"]) == 0.5
