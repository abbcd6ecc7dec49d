"""The simulated survey: columns, determinism, main-sample cut, AllWISE conventions, HATS."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("bagpipes")
pytest.importorskip("speclite")

from specir.bands import mjy_to_mag
from specir.errors import SpecIRInputError
from specir.grid import GRID_NPIX
from specir.sim import SimConfig, simulate, write_survey

CFG = SimConfig(chunk_size=12)


@pytest.fixture(scope="module")
def survey():
    return simulate(60, seed=7, config=CFG)


def test_columns_and_types(survey):
    df = survey
    assert len(df) == 60
    assert df["id"].dtype == np.int64 and df["id"].is_unique
    for col in (
        "ra",
        "dec",
        "z",
        "log_mstar_true",
        "log_sfr_true",
        "q_pah_true",
        "u_min_true",
        "gamma_true",
        "metallicity_true",
        "av_true",
        "log_lagn_true",
        "agn_type_true",
    ):
        assert col in df.columns
    for b in range(1, 5):
        for suffix in ("mpro", "sigmpro", "snr"):
            assert f"w{b}{suffix}" in df.columns
        assert (df[f"w{b}_flux_true"] > 0).all()
    for b in "ugriz":
        assert np.isfinite(df[f"modelmag_{b}"]).all()
    flux = np.stack(df["flux"].to_numpy())
    ivar = np.stack(df["ivar"].to_numpy())
    mask = np.stack(df["mask"].to_numpy())
    assert flux.shape == (60, GRID_NPIX) and flux.dtype == np.float32
    assert ivar.dtype == np.float32 and mask.dtype == bool
    assert np.all(ivar[mask] == 0) and np.all(ivar[~mask] > 0)
    assert np.isfinite(flux).all()


def test_population_ranges(survey):
    df = survey
    assert (df["modelmag_r"] < 17.77).all()  # SDSS main galaxy sample
    assert df["z"].between(0.01, 0.35).all()
    assert ((df["ra"] >= 0) & (df["ra"] < 360) & df["dec"].between(-90, 90)).all()
    agn = df["agn_type_true"] > 0
    assert np.isnan(df.loc[~agn, "log_lagn_true"]).all()
    assert np.isfinite(df.loc[agn, "log_lagn_true"]).all()
    # the AGN's largest share of a WISE band: none without an AGN, more for a brighter one
    share = df["agn_ir_share_true"]
    assert (share[~agn] == 0).all() and share[agn].between(0.0, 1.0, inclusive="right").all()
    lum = df.loc[agn, "log_lagn_true"]
    assert share[agn][lum > lum.median()].median() > share[agn][lum <= lum.median()].median()
    assert df["q_pah_true"].between(0.1, 4.6).all()
    # spectra are fibre spectra: less than the total light, more for distant galaxies
    assert df["fiber_fraction_true"].between(0.0, 1.0).all()
    near, far = df["z"] < df["z"].median(), df["z"] >= df["z"].median()
    assert (
        df.loc[near, "fiber_fraction_true"].median() < df.loc[far, "fiber_fraction_true"].median()
    )


def test_allwise_detections_and_upper_limits(survey):
    df = survey
    for b in range(1, 5):
        det = df[f"w{b}snr"] >= 2
        assert np.isnan(df.loc[~det, f"w{b}sigmpro"]).all()
        assert np.isfinite(df.loc[det, f"w{b}sigmpro"]).all()
        assert np.isfinite(df[f"w{b}mpro"]).all()
        # detected magnitudes scatter about the truth by about their quoted errors
        true_mag = mjy_to_mag(np.c_[[df[f"w{k}_flux_true"] for k in range(1, 5)]].T)[:, b - 1]
        pull = (df.loc[det, f"w{b}mpro"] - true_mag[det]) / df.loc[det, f"w{b}sigmpro"]
        if det.sum() > 10:
            assert np.abs(np.median(pull)) < 1.0
    # W1 is deep: every main-sample galaxy is detected; W4 is shallow: many are not
    assert (df["w1snr"] >= 2).all()
    assert (df["w4snr"] < 2).sum() > (df["w1snr"] < 2).sum()


def test_spectrum_snr_tracks_brightness(survey):
    flux = np.stack(survey["flux"].to_numpy())
    ivar = np.stack(survey["ivar"].to_numpy())
    snr = np.nanmedian(np.where(ivar > 0, flux * np.sqrt(ivar), np.nan), axis=1)
    assert 2 < np.median(snr) < 40
    r = survey["modelmag_r"].to_numpy()
    assert np.corrcoef(r, np.log(np.clip(snr, 0.1, None)))[0, 1] < 0


def test_same_seed_same_output_other_seed_differs(survey):
    # the survey is a sequence of independently seeded chunks: the first chunk of a larger
    # survey is the same as a survey of one chunk
    again = simulate(12, seed=7, config=CFG)
    first = survey.iloc[:12]
    assert np.array_equal(np.stack(again["flux"]), np.stack(first["flux"]))
    assert np.allclose(again["w3mpro"], first["w3mpro"])
    other = simulate(5, seed=8, config=CFG)
    assert not np.allclose(other["z"], first["z"].iloc[:5])


def test_bad_arguments_are_named():
    with pytest.raises(SpecIRInputError, match=r"^n:"):
        simulate(0, seed=1)
    with pytest.raises(SpecIRInputError, match=r"^seed:"):
        simulate(3, seed=-1)


def test_population_w2_w3_spans_observed_range():
    df = simulate(200, seed=11, config=SimConfig(chunk_size=100))
    w = mjy_to_mag(np.c_[[df[f"w{k}_flux_true"] for k in range(1, 5)]].T)
    w23 = w[:, 1] - w[:, 2]
    ssfr = df["log_sfr_true"] - df["log_mstar_true"]
    no_agn = df["agn_type_true"] == 0
    quiescent = (ssfr < -11.0) & no_agn
    starforming = (ssfr > -10.3) & no_agn
    assert quiescent.sum() > 10 and starforming.sum() > 10
    assert 0.4 < np.median(w23[quiescent]) < 1.6
    assert 2.5 < np.median(w23[starforming]) < 4.5
    assert np.median(w23[starforming]) - np.median(w23[quiescent]) > 1.5


@pytest.mark.slow
def test_write_survey_hats_parallel_resumable(tmp_path):
    lsdb = pytest.importorskip("lsdb")
    out = tmp_path / "cat"
    write_survey(out, n=24, seed=5, config=CFG, n_workers=2, keep_chunks=True)
    cat = lsdb.open_catalog(out)
    df = cat.compute().sort_values("id").reset_index(drop=True)
    ref = simulate(24, seed=5, config=CFG)  # one process: same rows
    assert np.array_equal(df["id"], ref["id"])
    assert np.array_equal(np.stack(df["flux"]), np.stack(ref["flux"]))
    assert np.allclose(df["w2mpro"], ref["w2mpro"])
    # a rerun reuses the finished chunks instead of simulating them again
    chunks = sorted((tmp_path / "cat_chunks").glob("chunk_*.parquet"))
    stamps = [c.stat().st_mtime_ns for c in chunks]
    import shutil

    shutil.rmtree(out)
    # ... and the lsdb partitioning in several groups joined with concat gives the same catalog
    write_survey(out, n=24, seed=5, config=CFG, n_workers=1, keep_chunks=True, group_rows=10)
    assert [c.stat().st_mtime_ns for c in chunks] == stamps
    again = lsdb.open_catalog(out)
    assert again.get_healpix_pixels() == cat.get_healpix_pixels()
    df2 = again.compute().sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(
        df2.drop(columns=["flux", "ivar", "mask"]), df.drop(columns=["flux", "ivar", "mask"])
    )
    assert np.array_equal(np.stack(df2["ivar"]), np.stack(df["ivar"]))
    props = again.hc_structure.catalog_info.model_dump()
    assert props["specir_sim_seed"] == "5" and props["specir_sim_n"] == "24"
    assert props["specir_simulated"].startswith("true")
    with pytest.raises(SpecIRInputError, match="out"):
        write_survey(out, n=24, seed=5, config=CFG)
    # chunks of another run in the work folder are refused, not mixed in
    (tmp_path / "cat2_chunks").mkdir()
    (tmp_path / "cat2_chunks" / "manifest.json").write_text('{"n": 1}')
    with pytest.raises(SpecIRInputError, match="different run"):
        write_survey(tmp_path / "cat2", n=24, seed=5, config=CFG)


def test_survey_records_the_code_that_simulated_it_not_the_code_at_the_end(tmp_path, monkeypatch):
    # a commit landing while a long survey runs must not relabel it
    lsdb = pytest.importorskip("lsdb")
    import specir.card
    import specir.sim.survey as survey

    simulated = []
    real_chunks = survey._simulate_chunks

    def chunks_then_commit(*args):
        out = real_chunks(*args)
        simulated.append(True)  # from here on the checkout holds another commit
        return out

    monkeypatch.setattr(survey, "_simulate_chunks", chunks_then_commit)
    monkeypatch.setattr(specir.card, "code_commit", lambda: "later" if simulated else "c0ffee")
    write_survey(tmp_path / "cat", n=8, seed=3, config=CFG, n_workers=1)
    props = lsdb.open_catalog(tmp_path / "cat").hc_structure.catalog_info.model_dump()
    assert props["specir_simulator"].endswith("(source c0ffee)")
