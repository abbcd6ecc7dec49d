"""predict_prepared / predict_ir: columns, units, flags, batch-size invariance, writers.

Uses a bundle trained for seconds on the mechanics fixture (not a science model). The real-SDSS
checks run only when the lead's ``specir.sdss``/``specir.spectra`` are present.
"""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from specir.grid import Flags
from specir.predict import OUTPUT_COLUMNS, predict_prepared, write_table


@pytest.fixture(scope="module")
def prepared(fixture_catalog):
    """Ten fixture spectra prepared with prepare_grid_arrays; row 3 empty, row 4 at z=0.6."""
    from fixture_survey import make_fixture_frame

    from specir.spectra import prepare_grid_arrays

    df = make_fixture_frame(10, seed=5)
    flux, ivar = np.stack(df["flux"]), np.stack(df["ivar"])
    z = df["z"].to_numpy().copy()
    ivar[3] = 0
    z[4] = 0.6
    return prepare_grid_arrays(flux, ivar, z, mask=np.stack(df["mask"]))


def test_columns_units_and_flags(prepared, trained_bundle):
    t = predict_prepared(prepared, model=trained_bundle)
    assert tuple(t.colnames) == OUTPUT_COLUMNS and len(t) == 10
    assert t["w1_flux"].unit == u.mJy and t["w4_flux_err"].unit == u.mJy
    assert t["w2_mag"].unit == u.mag and t["w2_w3"].unit == u.mag
    assert t["log_lagn"].unit == u.dex(u.erg / u.s) and t["q_pah"].unit == u.percent
    flags = np.asarray(t["flags"])
    assert flags[3] & Flags.NO_DATA and np.isnan(t["w1_mag"][3].value)
    assert flags[4] & Flags.Z_OUT_OF_RANGE
    clean = np.ones(10, bool)
    clean[3] = False
    for name in ("w1_flux", "w3_mag", "w4_mag_err", "w4_mag_ci68", "w2_w3", "q_pah", "q_pah_err"):
        assert np.isfinite(t[name][clean].value).all(), name
    assert np.isnan(t["w2_mag_ci68"][3].value)
    # the 68 % interval is k σ with the bundle's per-band factor (1 without calibration)
    from specir.bundle import load_bundle
    from specir.predict import interval_factors

    k = interval_factors(load_bundle(trained_bundle).card)
    for i in range(4):
        ci, err = t[f"w{i + 1}_mag_ci68"].value[clean], t[f"w{i + 1}_mag_err"].value[clean]
        np.testing.assert_allclose(ci, k[i] * err, rtol=1e-6)
    # internal consistency of the derived columns
    mag = np.stack([t[f"w{i}_mag"].value for i in range(1, 5)], 1)
    assert np.allclose(t["w1_w2"].value, mag[:, 0] - mag[:, 1], equal_nan=True)
    from specir.bands import mag_to_mjy

    assert np.allclose(t["w3_flux"].value, mag_to_mjy(mag)[:, 2], equal_nan=True)
    # log L_AGN is either NaN (no AGN predicted) or finite with a finite error
    ll, le = t["log_lagn"].value, t["log_lagn_err"].value
    assert np.array_equal(np.isnan(ll), np.isnan(le))


@pytest.fixture(scope="module")
def split_agn_bundle(prepared, trained_bundle):
    """The test bundle with its AGN logit shifted so that about half of the fixture rows come out
    above AGN_THRESHOLD (a few epochs leave them all on one side). Returns (bundle, logits)."""
    import copy
    import dataclasses

    import torch

    from specir.bundle import load_bundle
    from specir.inference import run_network

    bundle = load_bundle(trained_bundle, device="cpu")
    net = copy.deepcopy(bundle.model)
    keep = np.arange(len(prepared.z)) != 3  # row 3 is NO_DATA

    def logits():
        arrays = (prepared.flux, prepared.ivar, prepared.z, prepared.norm, np.full(10, np.nan))
        inputs = tuple(np.asarray(a)[keep] for a in arrays)
        return run_network(net, inputs, batch_size=64, keys=("agn_logit",))["agn_logit"]

    last = [m for m in net.head_agn.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.bias[2] -= float(np.median(logits()))  # the AGN logit is output 2 of head_agn
    return dataclasses.replace(bundle, model=net), logits()


def test_p_agn_and_when_log_lagn_is_reported(prepared, split_agn_bundle):
    """p_agn is the sigmoid of the AGN logit on every predicted row (NaN on the empty one),
    and log L_AGN is reported exactly where p_agn reaches AGN_THRESHOLD."""
    from specir.predict import AGN_THRESHOLD

    bundle, logit = split_agn_bundle
    t = predict_prepared(prepared, model=bundle)
    p = t["p_agn"].value
    assert t["p_agn"].unit == u.dimensionless_unscaled and np.isnan(p[3])
    predicted = np.arange(len(t)) != 3
    assert np.isfinite(p[predicted]).all() and ((p >= 0) & (p <= 1))[predicted].all()
    np.testing.assert_allclose(p[predicted], 1 / (1 + np.exp(-logit)), rtol=1e-5)
    agn = p >= AGN_THRESHOLD
    assert 0 < agn.sum() < predicted.sum()  # both cases occur
    ll, le = t["log_lagn"].value, t["log_lagn_err"].value
    np.testing.assert_array_equal(np.isnan(ll), ~agn)
    np.testing.assert_array_equal(np.isnan(le), ~agn)


def test_p_agn_is_nan_when_the_bundle_never_learnt_agn_classes(prepared, trained_bundle):
    """A bundle whose card says the AGN head was not trained reports neither p_agn nor L_AGN."""
    import dataclasses

    from specir.bundle import load_bundle

    bundle = load_bundle(trained_bundle, device="cpu")
    heads = {**bundle.card["heads_trained"], "agn_class": False}
    untrained = dataclasses.replace(bundle, card={**bundle.card, "heads_trained": heads})
    t = predict_prepared(prepared, model=untrained)
    assert np.isnan(t["p_agn"].value).all() and np.isnan(t["log_lagn"].value).all()
    assert np.isfinite(t["w1_mag"].value[[0, 1, 2]]).all()


def test_batch_size_does_not_change_results(prepared, trained_bundle):
    ref = predict_prepared(prepared, model=trained_bundle, batch_size=1024)
    for bs in (1, 3):
        t = predict_prepared(prepared, model=trained_bundle, batch_size=bs)
        for name in OUTPUT_COLUMNS:
            np.testing.assert_allclose(
                np.asarray(t[name].value if hasattr(t[name], "value") else t[name]),
                np.asarray(ref[name].value if hasattr(ref[name], "value") else ref[name]),
                rtol=1e-5,
                atol=1e-6,
                err_msg=name,
            )


def test_garbage_spectrum_is_flagged_out_of_distribution(prepared, trained_bundle):
    import dataclasses

    flux = np.array(prepared.flux[:2])
    flux[1] = np.where(np.arange(flux.shape[1]) % 50 < 25, 40.0, -40.0)  # a square wave
    p = dataclasses.replace(
        prepared,
        flux=flux,
        ivar=prepared.ivar[:2],
        z=prepared.z[:2],
        norm=prepared.norm[:2],
        coverage=prepared.coverage[:2],
        flags=np.zeros(2, dtype=np.int64),
    )
    t = predict_prepared(p, model=trained_bundle)
    assert not t["flags"][0] & Flags.OUT_OF_DISTRIBUTION
    assert t["flags"][1] & Flags.OUT_OF_DISTRIBUTION


@pytest.mark.parametrize("ext", [".ecsv", ".fits", ".parquet", ".vot"])
def test_writers(prepared, trained_bundle, tmp_path, ext):
    t = predict_prepared(prepared, model=trained_bundle)
    path = write_table(t, tmp_path / f"pred{ext}")
    back = Table.read(path)
    assert set(OUTPUT_COLUMNS) <= set(back.colnames)
    np.testing.assert_allclose(back["w3_mag"], t["w3_mag"].value, equal_nan=True)
    np.testing.assert_allclose(back["log_lagn"], t["log_lagn"].value, equal_nan=True)
    np.testing.assert_allclose(back["p_agn"], t["p_agn"].value, equal_nan=True)


def test_unknown_extension_is_refused(prepared, trained_bundle, tmp_path):
    from specir.errors import SpecIRInputError

    t = predict_prepared(prepared, model=trained_bundle)
    with pytest.raises(SpecIRInputError, match="extension"):
        write_table(t, tmp_path / "pred.txt")


def test_predict_ir_on_real_sdss_files(trained_bundle, sdss_files):
    import specir

    files = sdss_files
    spectra = [specir.read_sdss(f) for f in files]
    t = specir.predict_ir(spectra, model=trained_bundle)
    assert len(t) == len(files)
    ok = (np.asarray(t["flags"]) & Flags.NO_DATA) == 0
    assert np.isfinite(t["w1_mag"][ok].value).all()
    z = np.array([s.redshift.value for s in spectra], float)
    hi = np.nan_to_num(z) > 0.5
    assert (np.asarray(t["flags"])[hi] & Flags.Z_OUT_OF_RANGE).all()
    one = specir.predict_ir(spectra[0], model=trained_bundle)
    assert len(one) == 1
    np.testing.assert_allclose(one["w2_mag"].value, t["w2_mag"][:1].value, rtol=1e-5)


def test_same_spectrum_in_other_units_gives_the_same_row(trained_bundle, sdss_files):
    from astropy.nddata import StdDevUncertainty
    from specutils import Spectrum

    import specir

    s = specir.read_sdss(sdss_files[0])
    flam = u.W / u.m**2 / u.um
    sigma = (1 / np.sqrt(s.uncertainty.array)) * s.flux.unit
    other = Spectrum(
        flux=s.flux.to(flam),
        spectral_axis=u.Quantity(s.spectral_axis).to(u.um),
        uncertainty=StdDevUncertainty(sigma.to(flam)),
        redshift=float(s.redshift.value),
        mask=s.mask,
    )
    a = specir.predict_ir(s, model=trained_bundle)
    b = specir.predict_ir(other, model=trained_bundle)
    for name in OUTPUT_COLUMNS[:-1]:
        np.testing.assert_allclose(b[name].value, a[name].value, rtol=1e-4, equal_nan=True)
    assert a["flags"][0] == b["flags"][0]


def test_total_magnitude_input_and_flag(prepared, trained_bundle):
    n = len(prepared.z)
    without = predict_prepared(prepared, model=trained_bundle)
    assert np.all(np.asarray(without["flags"]) & Flags.NO_TOTAL_MAG)
    r = np.linspace(15.5, 17.5, n)
    plain = predict_prepared(prepared, r_mag=r, model=trained_bundle)
    assert not np.any(np.asarray(plain["flags"]) & Flags.NO_TOTAL_MAG)
    # the magnitude reaches the network: the predictions move with it
    assert not np.allclose(plain["w1_mag"].value, without["w1_mag"].value)
    as_quantity = predict_prepared(prepared, r_mag=r * u.ABmag, model=trained_bundle)
    np.testing.assert_array_equal(as_quantity["w1_mag"].value, plain["w1_mag"].value)
    # SDSS's -9999 "no measurement" and NaN count as missing: flagged, same as no magnitude
    r_bad = r.copy()
    r_bad[0], r_bad[1] = -9999.0, np.nan
    some = predict_prepared(prepared, r_mag=r_bad, model=trained_bundle)
    flagged = (np.asarray(some["flags"]) & Flags.NO_TOTAL_MAG) != 0
    assert flagged[:2].all() and not flagged[2:].any()
    np.testing.assert_allclose(some["w1_mag"].value[:2], without["w1_mag"].value[:2], rtol=1e-6)


@pytest.mark.parametrize(
    ("r_mag", "match"), [(np.ones(2) * u.Jy, "r_mag: has unit"), (np.ones(99), "r_mag: has 99")]
)
def test_bad_total_magnitude_is_refused(prepared, trained_bundle, r_mag, match):
    from specir.errors import SpecIRInputError

    with pytest.raises(SpecIRInputError, match=match):
        predict_prepared(prepared, r_mag=r_mag, model=trained_bundle)


def test_implausible_rows_are_nan_not_no_data(prepared, trained_bundle):
    """A row flagged IMPLAUSIBLE gets no number, and is not mislabelled NO_DATA."""
    import dataclasses

    flags = np.array(prepared.flags)
    flags[1] |= Flags.IMPLAUSIBLE
    t = predict_prepared(dataclasses.replace(prepared, flags=flags), model=trained_bundle)
    assert t["flags"][1] & Flags.IMPLAUSIBLE and not t["flags"][1] & Flags.NO_DATA
    for name in OUTPUT_COLUMNS[:-1]:
        assert np.isnan(np.asarray(getattr(t[name], "value", t[name]))[1]), name
    assert np.isfinite(t["w1_mag"][0].value)


def test_prepared_must_be_prepared_spectra(trained_bundle):
    from specir.errors import SpecIRInputError

    with pytest.raises(SpecIRInputError, match=r"^prepared: is a ndarray"):
        predict_prepared(np.zeros((1, 3921)), model=trained_bundle)


# ---------------------------------------------------------------- command line
def _cli(*argv):
    from specir.scripts.main import main

    return main(["-q", "predict", *map(str, argv)])


def test_cli_writes_the_good_files_and_reports_the_broken(sdss_files, tmp_path):
    """`specir predict good1 good2 broken good3 -o out.parquet`: 3 rows, a report naming the
    broken file and why, exit status 3 (partial); the shipped model."""
    import json

    from specir.scripts import EXIT_PARTIAL

    broken = tmp_path / "broken.fits"
    broken.write_bytes(sdss_files[1].read_bytes()[:300_000])
    good = sdss_files[0], sdss_files[2], sdss_files[3]
    out = tmp_path / "out.parquet"
    assert _cli(good[0], good[1], broken, good[2], "-o", out, "--device", "cpu") == EXIT_PARTIAL
    table = Table.read(out)
    assert list(table["file"]) == [f.name for f in good]
    assert np.isfinite(table["w1_mag"]).all()
    report = json.loads(out.with_name("out.parquet.report.json").read_text())
    assert (report["status"], report["n_inputs"], report["n_done"]) == ("partial", 4, 3)
    [failure] = report["failed"]
    assert failure["input"] == str(broken) and "is truncated/corrupt" in failure["reason"]
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_cli_exit_statuses(sdss_files, tmp_path):
    """0 when all files are predicted, 1 when none could be (nothing written), 2 for bad
    options, found before any file is read."""
    from specir.scripts import EXIT_FAILED, EXIT_OK, EXIT_USAGE

    out = tmp_path / "ok.ecsv"
    assert _cli(sdss_files[0], "-o", out, "--device", "cpu") == EXIT_OK
    assert len(Table.read(out)) == 1
    (tmp_path / "text.fits").write_text("not a spectrum")
    bad = tmp_path / "bad.ecsv"
    assert _cli(tmp_path / "text.fits", tmp_path / "gone.fits", "-o", bad) == EXIT_FAILED
    assert not bad.exists() and (tmp_path / "bad.ecsv.report.json").exists()
    for argv in (
        ["-o", tmp_path / "no" / "such" / "dir.ecsv"],
        ["-o", tmp_path / "out.txt"],
        ["-o", tmp_path, "--device", "cpu"],
        ["-o", out, "--device", "tpu"],
        ["-o", out, "--batch-size", "0"],
        ["-o", out, "--r-mag", "17", "18"],
    ):
        assert _cli(tmp_path / "gone.fits", *argv) == EXIT_USAGE, argv
    assert not (tmp_path / "no").exists()
