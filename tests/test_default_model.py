"""The shipped default bundle: what its card says, and that it predicts sensibly (issue 4)."""

import json

import numpy as np
import pytest

import specir
from specir.bundle import default_bundle_dir, load_bundle
from specir.grid import Flags


@pytest.fixture(scope="module")
def default():
    return load_bundle("default", device="cpu")


def test_card_states_simulated_training_data_and_size(default):
    path = default_bundle_dir()
    card = json.loads((path / "model_card.json").read_text())
    assert sum(f.stat().st_size for f in path.iterdir()) <= 25 * 2**20
    data = card["training_data"]
    assert "SIMULATED" in data["description"]
    assert data["simulator"] == "specir.sim" and data["seed"] == 1
    assert data["n_train"] + data["n_val"] + data["n_test"] >= 100_000
    assert card["architecture"]["total_mag_input"] is True
    assert all(card["heads_trained"].values())
    assert "SIMULATED" in card["heldout_evaluation"]["measured_on"]


def test_real_sdss_spectra_give_finite_flagged_rows(default, sdss_files):
    spectra = [specir.read_sdss(f) for f in sdss_files]
    t = specir.predict_ir(spectra, model=default)
    assert len(t) == len(sdss_files) == 12
    for b in ("w1", "w2", "w3", "w4"):
        assert np.isfinite(t[f"{b}_flux"].value).all() and (t[f"{b}_flux"].value > 0).all()
        assert np.isfinite(t[f"{b}_flux_err"].value).all()
    flags = np.asarray(t["flags"])
    z = np.array([s.meta["z"] for s in spectra])
    np.testing.assert_array_equal((flags & Flags.Z_OUT_OF_RANGE) != 0, z > 0.35)
    assert (flags & Flags.NO_TOTAL_MAG).all()  # spectrum files carry no total photometry


def test_predictions_track_the_simulated_truth(default):
    """Fresh simulated galaxies (a seed never trained on): W1 within a few tenths of a mag."""
    pytest.importorskip("bagpipes")
    from specir.bands import mjy_to_mag
    from specir.predict import predict_prepared
    from specir.sim import simulate
    from specir.spectra import prepare_grid_arrays

    df = simulate(24, seed=12345)
    prep = prepare_grid_arrays(
        np.stack(df["flux"]), np.stack(df["ivar"]), df["z"].to_numpy(), mask=np.stack(df["mask"])
    )
    t = predict_prepared(prep, r_mag=df["modelmag_r"].to_numpy(), model=default)
    true = mjy_to_mag(df[[f"w{i}_flux_true" for i in range(1, 5)]].to_numpy())
    resid = t["w1_mag"].value - true[:, 0]
    assert np.median(np.abs(resid)) < 0.2
    # with the total magnitude withheld the errors widen to cover the aperture loss
    blind = predict_prepared(prep, model=default)
    assert np.median(blind["w1_mag_err"].value) > 1.5 * np.median(t["w1_mag_err"].value)
    # spectra cut to rest 3700-6000 A: the light that is missing widens the errors
    from specir.grid import grid_wavelength

    z = df["z"].to_numpy()
    rest = grid_wavelength()[None, :] / (1 + z[:, None])
    ivar = np.where((rest >= 3700) & (rest <= 6000), np.stack(df["ivar"]), 0.0)
    cut = prepare_grid_arrays(np.stack(df["flux"]), ivar, z, mask=np.stack(df["mask"]))
    short = predict_prepared(cut, r_mag=df["modelmag_r"].to_numpy(), model=default)
    for b in ("w1", "w3"):
        assert np.median(short[f"{b}_mag_err"].value) > np.median(t[f"{b}_mag_err"].value)


def test_card_describes_model_v2(default):
    card = default.card
    assert card["architecture"]["anchor_total_mag"] is True
    assert card["config"]["augment"]["probability"] > 0
    assert card["z_range"][0] < 0.005  # trained down to z = 0.002
    assert set(card["support"]["bounds"]) == {"z", "abs_mag", "log_norm", "coverage", "snr"}
    factors = card["calibration"]["mag_sigma_factor"]
    np.testing.assert_allclose(
        # the weights hold float32: about 1e-7 absolute near log(1) = 0
        np.log(list(factors.values())),
        default.model.mag_logsig_calib.numpy(),
        atol=1e-6,
    )


def _scaled(spec, factor):
    """The spectrum with flux × factor (inverse variance ÷ factor²), as a fainter galaxy."""
    from astropy.nddata import InverseVariance

    return type(spec)(
        spectral_axis=spec.spectral_axis,
        flux=spec.flux * factor,
        uncertainty=InverseVariance(spec.uncertainty.array / factor**2),
        mask=spec.mask,
        meta=spec.meta,
    )


def test_real_spectra_scale_with_brightness(default, sdss_files):
    """The same real spectrum made 1 mag fainter: every band exactly 1 mag fainter."""
    spectra = [specir.read_sdss(f) for f in sdss_files]
    base = specir.predict_ir(spectra, model=default)
    fainter = specir.predict_ir([_scaled(s, 10**-0.4) for s in spectra], model=default)
    flags = np.asarray(fainter["flags"])
    for b in ("w1", "w2", "w3", "w4"):
        shift = fainter[f"{b}_mag"].value - base[f"{b}_mag"].value
        np.testing.assert_allclose(shift, 1.0, atol=1e-3)
        same = (flags & Flags.OUT_OF_DISTRIBUTION) == (
            np.asarray(base["flags"]) & Flags.OUT_OF_DISTRIBUTION
        )
        np.testing.assert_allclose(
            fainter[f"{b}_mag_err"].value[same], base[f"{b}_mag_err"].value[same], rtol=1e-4
        )
