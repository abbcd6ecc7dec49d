"""Stress tests (``specir.robustness``) and the anchored model's exact scaling behaviour."""

import numpy as np
import pytest
import torch
from conftest import TINY_MODEL

from specir.model import ModelConfig, SpecIRNet
from specir.robustness import CUTS, stress_metrics


def test_anchored_model_shifts_magnitudes_by_exactly_delta():
    torch.manual_seed(0)
    net = SpecIRNet(ModelConfig(**TINY_MODEL, anchor_total_mag=True)).eval()
    net.set_standardisation(cond_shift=[0.1, 20.0], mag_shift=[1.0, 0.5, -2.0, -4.0])
    n = 5
    flux = torch.rand(n, 3921) + 0.5
    ivar = torch.ones(n, 3921)
    z = torch.full((n,), 0.1)
    norm = torch.full((n,), 3.0)
    r = torch.tensor([17.0, 16.5, float("nan"), 15.0, float("nan")])
    base = net(flux, ivar, z, norm, r)
    for delta in (-2.0, 1.0):
        f = 10 ** (-0.4 * delta)
        out = net(flux, ivar, z, norm * f, r + delta)
        torch.testing.assert_close(out["mag_mu"] - base["mag_mu"], torch.full((n, 4), delta))
        torch.testing.assert_close(out["mag_logsig"], base["mag_logsig"])


def test_unanchored_model_does_not_shift_exactly():
    torch.manual_seed(0)
    net = SpecIRNet(ModelConfig(**TINY_MODEL)).eval()
    n = 4
    flux, ivar = torch.rand(n, 3921) + 0.5, torch.ones(n, 3921)
    z, norm, r = torch.full((n,), 0.1), torch.full((n,), 3.0), torch.full((n,), 17.0)
    a = net(flux, ivar, z, norm, r)["mag_mu"]
    b = net(flux, ivar, z, norm * 10**-0.4, r + 1)["mag_mu"]
    assert not torch.allclose(b - a, torch.ones_like(a))  # the anchor is what makes it exact


def test_stress_metrics_report_cuts_and_scaling(trained_bundle, fixture_arrays):
    from specir.bundle import load_bundle

    bundle = load_bundle(trained_bundle, device="cpu")
    idx = np.arange(len(fixture_arrays["z"]))
    out = stress_metrics(bundle, fixture_arrays, idx)
    assert set(out["cuts"]) == {f"rest_{lo:.0f}_{hi:.0f}" for lo, hi in CUTS}
    for summary in (out["full"], *out["cuts"].values()):
        assert set(summary["chi2_n"]) == {"w1", "w2", "w3", "w4"}
        assert 0.0 <= summary["flagged_ood"] <= 1.0
    assert "median_shift" not in out["full"]
    # the shift is the cut's own change of the predictions, recomputed here directly
    from specir.augment import cut_rest_frame
    from specir.robustness import bundle_predictions

    lo, hi = CUTS[1]
    d = fixture_arrays
    flux, valid, norm = cut_rest_frame(d["flux"], d["valid"], d["z"], d["norm"], lo, hi)
    cut = bundle_predictions(bundle, d, idx, flux=flux, valid=valid, norm=norm)
    full = bundle_predictions(bundle, d, idx)
    expect = np.nanmedian(cut["mag_mu"] - full["mag_mu"], axis=0)
    got = out["cuts"][f"rest_{lo:.0f}_{hi:.0f}"]["median_shift"]
    assert np.allclose([got[b] for b in ("w1", "w2", "w3", "w4")], expect)
    assert np.abs(expect).max() > 0  # the cut does move this model's predictions
    # the truth bias by simulated AGN type: every row once, each a direct median
    from specir.bands import mjy_to_mag

    by = out["full"]["bias_vs_true_by_agn"]
    assert sum(v["n"] for v in by.values()) == len(idx)
    none = d["agn_type_true"] == 0
    r = full["mag_mu"][none, 3] - mjy_to_mag(d["flux_true"][none])[:, 3]
    assert by["no AGN"]["w4"] == pytest.approx(np.median(r[np.isfinite(r)]))
    assert "bias_vs_true_by_agn" in out["cuts"][f"rest_{lo:.0f}_{hi:.0f}"]
    shifts = out["scaling"]["shifts"]
    assert set(shifts) == {"-2", "-1", "+1", "+2"}
    # the fixture bundle is not anchored: brightness alone moves its colours
    assert any(abs(v) > 1e-6 for v in shifts["+2"]["median_colour_change"].values())
