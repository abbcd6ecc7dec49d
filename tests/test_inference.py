"""The one batched forward pass (``specir.inference``), and predict_ir against a direct pass.

The shipped bundle's outputs through ``predict_ir`` must equal a forward pass of its network
written out by hand here (no specir batching, no specir unit conversion), on real SDSS spectra
and on catalog arrays: what the restructuring must not change (benchmarks/check_predictions.py
compares two code versions on 12 real and 1,000 simulated spectra).
"""

import numpy as np
import pytest
import torch

from specir.bands import mag_to_mjy
from specir.bundle import load_bundle
from specir.errors import SpecIRInputError
from specir.inference import OUTPUT_KEYS, gaussian_outputs, run_network
from specir.model import ModelConfig, SpecIRNet


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(3)
    cfg = ModelConfig(channels=(4, 8), kernels=(5, 5), strides=(4, 4), mlp_hidden=16, latent_dim=6)
    return SpecIRNet(cfg).eval()


def _inputs(n, seed=0):
    rng = np.random.default_rng(seed)
    flux = (1 + 0.1 * rng.normal(size=(n, 3921))).astype(np.float32)
    ivar = (rng.uniform(size=(n, 3921)) > 0.05).astype(np.float32)
    z, norm = rng.uniform(0.02, 0.3, n), rng.uniform(1, 50, n)
    r_mag = np.where(rng.uniform(size=n) < 0.3, np.nan, rng.uniform(15, 18, n))
    return flux, ivar, z, norm, r_mag


def test_batches_do_not_change_the_outputs(net):
    args = _inputs(7)
    whole = run_network(net, args, batch_size=1024)
    assert set(whole) == set(OUTPUT_KEYS) and whole["mag_mu"].shape == (7, 4)
    assert whole["latent"].dtype == np.float64
    for size in (1, 3):
        parts = run_network(net, args, batch_size=size)
        for k in OUTPUT_KEYS:
            np.testing.assert_allclose(parts[k], whole[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_none_is_a_missing_total_magnitude(net):
    flux, ivar, z, norm, _ = _inputs(4)
    a = run_network(net, (flux, ivar, z, norm, None))
    b = run_network(net, (flux, ivar, z, norm, np.full(4, np.nan)))
    np.testing.assert_array_equal(a["mag_mu"], b["mag_mu"])


def test_no_rows_gives_empty_arrays_of_the_right_shape(net):
    out = run_network(net, [a[:0] for a in _inputs(2)], keys=("mag_mu", "latent"))
    assert out["mag_mu"].shape == (0, 4) and out["latent"].shape == (0, 6)


def test_bad_batch_size_is_refused(net):
    with pytest.raises(SpecIRInputError, match="batch_size"):
        run_network(net, _inputs(2), batch_size=0)


def test_gaussian_outputs_are_exp_and_logistic():
    raw = {
        "mag_mu": np.ones((2, 4)),
        "mag_logsig": np.log(np.full((2, 4), 0.2)),
        "lagn_mu": np.array([44.0, 45.0]),
        "lagn_logsig": np.zeros(2),
        "agn_logit": np.array([0.0, np.log(3.0)]),
        "qpah_mu": np.ones(2),
        "qpah_logsig": np.zeros(2),
    }
    g = gaussian_outputs(raw)
    np.testing.assert_allclose(g["mag_sig"], 0.2)
    np.testing.assert_allclose(g["p_agn"], [0.5, 0.75])


def _direct(model, prep, r_mag):
    """The shipped network run by hand on prepared spectra (one pass, float32 tensors)."""
    with torch.inference_mode():
        out = model(
            *(
                torch.as_tensor(np.asarray(a), dtype=torch.float32)
                for a in (prep.flux, prep.ivar, prep.z, prep.norm, r_mag)
            )
        )
    return {k: v.double().numpy() for k, v in out.items()}


def _compare(table, direct, rows, card=None):
    """The table is the forward pass; rows flagged OUT_OF_DISTRIBUTION by a bundle with an
    input support have σ widened to sqrt(σ² + σ_prior²) (specir.support)."""
    from specir.grid import Flags

    mag = np.stack([table[f"w{i}_mag"].value for i in range(1, 5)], 1)[rows]
    err = np.stack([table[f"w{i}_mag_err"].value for i in range(1, 5)], 1)[rows]
    # 4e-6 mag: two float32 ulps at 16 mag (an anchored model adds r_ref to the colour in
    # float32, and batches of another size may round the last bit differently)
    np.testing.assert_allclose(mag, direct["mag_mu"][rows], rtol=0, atol=4e-6)
    sig = np.exp(direct["mag_logsig"][rows])
    if card is not None and "support" in card:
        ood = (np.asarray(table["flags"])[rows] & Flags.OUT_OF_DISTRIBUTION) != 0
        prior = np.asarray(card["support"]["prior_sigma_mag"])
        sig = np.where(ood[:, None], np.sqrt(sig**2 + prior**2), sig)
    np.testing.assert_allclose(err, sig, rtol=1e-6, atol=1e-7)
    flux = np.stack([table[f"w{i}_flux"].value for i in range(1, 5)], 1)[rows]
    np.testing.assert_allclose(flux, mag_to_mjy(direct["mag_mu"][rows]), rtol=4e-6)  # same ulps
    np.testing.assert_allclose(table["q_pah"].value[rows], direct["qpah_mu"][rows], atol=1e-6)


def test_predict_ir_is_the_networks_forward_pass_on_real_spectra(sdss_files):
    import specir
    from specir.spectra import prepare_spectra

    bundle = load_bundle("default", device="cpu")
    spectra = [specir.read_sdss(f) for f in sdss_files]
    table = specir.predict_ir(spectra, r_mag=17.0, model=bundle)
    prep = prepare_spectra(spectra, z_range=bundle.z_range)
    direct = _direct(bundle.model, prep, np.full(len(spectra), 17.0))
    _compare(table, direct, np.arange(len(spectra)), bundle.card)


def test_predict_prepared_is_the_networks_forward_pass_on_catalog_arrays(fixture_arrays):
    from specir.predict import predict_prepared
    from specir.spectra import PreparedSpectra

    bundle = load_bundle("default", device="cpu")
    d = {k: v[:40] for k, v in fixture_arrays.items()}
    prep = PreparedSpectra(
        flux=d["flux"],
        ivar=d["valid"].astype(np.float32),
        z=d["z"],
        norm=d["norm"],
        coverage=np.ones(40),
        flags=d["flags"],
    )
    table = predict_prepared(prep, r_mag=d["r_mag"], model=bundle, batch_size=7)
    _compare(table, _direct(bundle.model, prep, d["r_mag"]), np.arange(40), bundle.card)
