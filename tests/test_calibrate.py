"""σ calibration on the validation split (``specir.calibrate``)."""

import numpy as np
import pytest

from specir.calibrate import calibrate_sigma, sigma_factor


def test_sigma_factor_restores_unit_chi2():
    rng = np.random.default_rng(0)
    sig_true = 0.3
    r = rng.normal(0, sig_true, 20000)
    s = sigma_factor(r, np.full(r.size, 0.1), np.full(r.size, 0.0))
    assert s == pytest.approx(3.0, rel=0.03)  # predicted 0.1 where the truth is 0.3
    with_obs = sigma_factor(r, np.full(r.size, 0.2), np.full(r.size, np.sqrt(0.3**2 - 0.2**2)))
    assert with_obs == pytest.approx(1.0, rel=0.03)  # already calibrated once σ_obs counts


def test_calibrate_sets_the_buffer(trained_bundle, fixture_arrays):
    import copy

    from specir.bundle import load_bundle
    from specir.scoring import network_predictions

    model = copy.deepcopy(load_bundle(trained_bundle, device="cpu").model)
    rows = np.arange(len(fixture_arrays["z"]))
    before = network_predictions(model, fixture_arrays, rows)["mag_sig"]
    entry = calibrate_sigma(model, fixture_arrays, rows)
    after = network_predictions(model, fixture_arrays, rows)["mag_sig"]
    factors = np.array(list(entry["mag_sigma_factor"].values()))
    np.testing.assert_allclose(after / before, np.broadcast_to(factors, after.shape), rtol=1e-4)
