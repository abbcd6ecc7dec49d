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


def test_interval_factor_covers_68_percent_of_new_heavy_tailed_residuals():
    from specir.calibrate import interval_factor

    rng = np.random.default_rng(3)
    calib, new = (rng.standard_t(3, 20000) / np.sqrt(3) for _ in range(2))  # unit variance
    k = interval_factor(calib)
    assert k < 0.9  # heavy tails: the 68 % interval is narrower than ±1 σ
    assert np.mean(np.abs(new) <= k) == pytest.approx(0.6827, abs=0.01)
    assert np.mean(np.abs(new) <= 1.0) > 0.75  # what ±σ would claim as 68 %
    assert np.isnan(interval_factor(np.array([np.nan])))


def test_recalibrate_adds_interval_factors_without_touching_the_weights(
    train_config, fixture_arrays, tmp_path
):
    import json

    from specir.bundle import load_bundle
    from specir.errors import SpecIRModelError
    from specir.robustness import bundle_predictions
    from specir.train import recalibrate, train

    cfg = train_config(tmp_path / "b", epochs=2, calibrate_sigma=True)
    path = train(cfg, progress=False, data=fixture_arrays)
    card_file = path / "model_card.json"
    card = json.loads(card_file.read_text())
    trained = dict(card["calibration"])
    assert trained["interval68_factor"].keys() == {"w1", "w2", "w3", "w4"}
    weights = (path / "model.safetensors").read_bytes()
    del card["calibration"]["interval68_factor"]  # a bundle calibrated before the factors
    card_file.write_text(json.dumps(card))
    before = load_bundle(path, device="cpu")
    d, rows = fixture_arrays, np.arange(8)
    g = bundle_predictions(before, d, rows)
    np.testing.assert_allclose(g["mag_half68"], g["mag_sig"])  # no factors: Gaussian, k = 1

    entry = recalibrate(cfg, progress=False, data=fixture_arrays)
    assert entry["interval68_factor"] == pytest.approx(trained["interval68_factor"])
    assert (path / "model.safetensors").read_bytes() == weights
    after = load_bundle(path, device="cpu")
    assert "coverage_68_interval" in after.card["metrics"]["bands"]["w1"]
    g = bundle_predictions(after, d, rows)
    k = np.array(list(entry["interval68_factor"].values()))
    np.testing.assert_allclose(g["mag_half68"], k * g["mag_sig"], rtol=1e-6)
    with pytest.raises(SpecIRModelError, match="do not reproduce"):
        recalibrate(train_config(tmp_path / "b", epochs=2, seed=7), progress=False, data=d)


def test_a_missing_interval_factor_is_gaussian_and_a_bad_one_is_refused(trained_bundle, tmp_path):
    import json
    import shutil

    from specir.bundle import load_bundle
    from specir.errors import SpecIRModelError
    from specir.predict import interval_factors

    path = tmp_path / "b"
    shutil.copytree(trained_bundle, path)
    card = json.loads((path / "model_card.json").read_text())
    card["calibration"] = {"interval68_factor": {"w1": 0.9, "w2": None}}  # w2: no detections
    (path / "model_card.json").write_text(json.dumps(card))
    assert interval_factors(load_bundle(path).card).tolist() == [0.9, 1.0, 1.0, 1.0]
    for bad in (-0.5, 0.0, "x", float("inf")):
        card["calibration"]["interval68_factor"]["w1"] = bad
        (path / "model_card.json").write_text(json.dumps(card))
        with pytest.raises(SpecIRModelError, match="interval68_factor"):
            load_bundle(path)


def _faint_toy(s_true, n=20000, seed=5):
    """Galaxies predicted N(mu, 0.3) whose truth scatters by s_true x 0.3 about mu, measured
    AllWISE-style with flux noise 1 (S/N < 2: an upper limit); about half are detected."""
    rng = np.random.default_rng(seed)
    mu = rng.uniform(-3.0, 1.0, n)
    m = mu + s_true * 0.3 * rng.standard_normal(n)
    f = 10 ** (-0.4 * m) + rng.standard_normal(n)
    det = f >= 2.0
    mag = np.where(det, -2.5 * np.log10(np.where(det, f, 1)), -2.5 * np.log10(f.clip(0) + 2))
    err = np.where(det, 2.5 / np.log(10) / np.where(det, f, 1), np.nan)

    def rep(a):
        return np.repeat(a[:, None], 4, 1)

    data = {"mag": rep(mag), "mag_err": rep(err), "snr": rep(f)}
    return {"mag_mu": rep(mu), "mag_sig": rep(np.full(n, 0.3))}, data, det


@pytest.mark.parametrize("s_true", [0.7, 1.6])
def test_likelihood_calibration_recovers_the_true_scatter_the_detections_do_not(s_true):
    from specir.calibrate import _likelihood_factors

    pred, data, det = _faint_toy(s_true)
    assert 0.3 < det.mean() < 0.8
    s = _likelihood_factors(pred, data, np.arange(det.size), 2.0, None)
    assert s == pytest.approx([s_true] * 4, rel=0.05)
    # the detections alone: the faint ones were scattered up by the noise, s comes out too wide
    r = pred["mag_mu"][det, 0] - data["mag"][det, 0]
    s_det = sigma_factor(r, pred["mag_sig"][det, 0], data["mag_err"][det, 0])
    assert s_det > 1.05 * s_true
    pred["mag_mu"][:50] = np.nan  # NaN predictions are left out, not spread over the band
    pred["mag_sig"][50:100] = np.inf
    s_nan = _likelihood_factors(pred, data, np.arange(det.size), 2.0, None)
    assert s_nan == pytest.approx([s_true] * 4, rel=0.05)


def test_calibration_method_is_checked_and_a_change_of_method_is_applied(
    train_config, fixture_arrays, tmp_path
):
    import json

    from specir.errors import SpecIRInputError, SpecIRModelError
    from specir.train import recalibrate, train

    with pytest.raises(SpecIRInputError, match=r"calibration.*likelihood, detections"):
        train_config(tmp_path / "x", calibration="chi2")
    with pytest.raises(ValueError):
        calibrate_sigma(None, fixture_arrays, np.arange(4), method="Likelihood")
    cfg = train_config(tmp_path / "b", epochs=2, calibrate_sigma=True)
    path = train(cfg, progress=False, data=fixture_arrays)
    card = json.loads((path / "model_card.json").read_text())["calibration"]
    assert card["calibration"] == "detections"  # the default
    entry = recalibrate(
        train_config(tmp_path / "b", epochs=2, calibrate_sigma=True, calibration="likelihood"),
        progress=False,
        data=fixture_arrays,
    )
    assert entry["calibration"] == "likelihood"
    with pytest.raises(SpecIRModelError, match="do not reproduce"):  # another split: refused
        recalibrate(
            train_config(tmp_path / "b", epochs=2, calibrate_sigma=True, seed=7),
            progress=False,
            data=fixture_arrays,
        )
    assert entry["mag_sigma_factor"] != pytest.approx(card["mag_sigma_factor"], rel=1e-3)
    saved = json.loads((path / "model_card.json").read_text())["calibration"]
    assert saved["mag_sigma_factor"] == pytest.approx(entry["mag_sigma_factor"])
    from specir.bundle import load_bundle  # the weights carry the new factors (and load)

    buffer = load_bundle(path, device="cpu").model.mag_logsig_calib.numpy()
    np.testing.assert_allclose(buffer, np.log(list(entry["mag_sigma_factor"].values())), 1e-5)


@pytest.mark.parametrize("method", ["likelihood", "detections"])
def test_a_band_without_wise_measurements_keeps_factor_one(trained_bundle, fixture_arrays, method):
    import copy

    from specir.bundle import load_bundle

    data = {k: np.array(v, copy=True) for k, v in fixture_arrays.items()}
    for key in ("mag", "mag_err", "snr"):
        data[key][:, 3] = np.nan  # no W4 at all
    model = copy.deepcopy(load_bundle(trained_bundle, device="cpu").model)
    entry = calibrate_sigma(model, data, np.arange(len(data["z"])), method=method)
    assert entry["mag_sigma_factor"]["w4"] == 1.0
    assert entry["mag_sigma_factor"]["w1"] != 1.0


def test_a_card_with_nan_is_saved_with_null(trained_bundle, tmp_path):
    """A band without validation detections has no 68 % interval factor (NaN): the card says
    null (JSON has no NaN) and the bundle loads with a Gaussian interval for that band."""
    import json

    from specir.bundle import load_bundle, save_bundle
    from specir.predict import interval_factors

    b = load_bundle(trained_bundle, device="cpu")
    card = {**b.card, "calibration": {"interval68_factor": dict.fromkeys(("w1", "w4"), np.nan)}}
    save_bundle(b.model, card, tmp_path / "b")
    saved = json.loads((tmp_path / "b" / "model_card.json").read_text())
    assert saved["calibration"]["interval68_factor"] == {"w1": None, "w4": None}
    assert interval_factors(load_bundle(tmp_path / "b").card).tolist() == [1.0] * 4
