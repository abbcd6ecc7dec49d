"""The value-added catalog job on the mechanics fixture catalog (a tiny trained bundle)."""

from pathlib import Path

import lsdb
import numpy as np
import pandas as pd
import pytest

from specir.catalog import Recipe, load_recipe, run_job
from specir.errors import SpecIRInputError
from specir.grid import Flags


def _bundle_path(bundle):
    return str(getattr(bundle, "path", bundle))


@pytest.fixture(scope="module")
def vac(fixture_catalog, trained_bundle, tmp_path_factory):
    out = tmp_path_factory.mktemp("vac") / "vac"
    recipe = Recipe(input=str(fixture_catalog), output=str(out), model=_bundle_path(trained_bundle))
    return run_job(recipe, workers=1), recipe


def test_vac_rows_and_values_equal_predict(vac, fixture_catalog, trained_bundle):
    from specir.predict import predict_prepared
    from specir.spectra import prepare_grid_arrays

    path, _ = vac
    got = lsdb.open_catalog(path).compute().sort_values("id")
    src = lsdb.open_catalog(fixture_catalog).compute().sort_values("id")
    assert got["id"].is_unique and len(got) == len(src)
    prep = prepare_grid_arrays(
        np.stack(src["flux"].to_numpy()),
        np.stack(src["ivar"].to_numpy()),
        src["z"].to_numpy(np.float64),
        mask=np.stack(src["mask"].to_numpy()).astype(bool),
    )
    r_mag = src["modelmag_r"].to_numpy(np.float64)
    want = predict_prepared(prep, r_mag=r_mag, model=_bundle_path(trained_bundle), device="cpu")
    for col in ("w1_flux", "w4_mag_err", "q_pah", "log_lagn"):
        np.testing.assert_allclose(
            got[col].to_numpy(), np.asarray(want[col].value, np.float32), rtol=1e-5, equal_nan=True
        )
    np.testing.assert_array_equal(got["flags"].to_numpy(), np.asarray(want["flags"]))
    # rows whose total magnitude is missing are flagged, the others are not
    no_mag = (got["flags"].to_numpy() & int(Flags.NO_TOTAL_MAG)) != 0
    np.testing.assert_array_equal(no_mag, ~np.isfinite(r_mag))
    assert 0 < no_mag.sum() < len(no_mag)


def test_cone_search_matches_brute_force(vac):
    path, _ = vac
    cat = lsdb.open_catalog(path)
    full = cat.compute()
    ra0, dec0, r = float(full["ra"].iloc[0]), float(full["dec"].iloc[0]), 20 * 3600.0
    got = set(cat.cone_search(ra0, dec0, r).compute()["id"])
    ra, dec = np.radians(full["ra"]), np.radians(full["dec"])
    cosd = np.sin(dec) * np.sin(np.radians(dec0)) + np.cos(dec) * np.cos(np.radians(dec0)) * np.cos(
        ra - np.radians(ra0)
    )
    want = set(full["id"][np.degrees(np.arccos(np.clip(cosd, -1, 1))) <= r / 3600.0])
    assert got == want and len(want) > 0


def test_two_workers_and_resume_identical(vac, tmp_path):
    path, recipe = vac
    one = lsdb.open_catalog(path).compute().sort_values("id").reset_index(drop=True)
    out = tmp_path / "vac2"
    run_job(Recipe(input=recipe.input, output=str(out), model=recipe.model), workers=2)
    two = lsdb.open_catalog(out).compute().sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(one, two)


def test_recipe_names_bad_key(tmp_path):
    p = tmp_path / "r.toml"
    p.write_text('input = "a"\noutput = "b"\nbogus = 1\n')
    with pytest.raises(SpecIRInputError, match="bogus"):
        load_recipe(p)


@pytest.mark.parametrize("kill_when", ["partition staged", "final write started"])
def test_sigkill_then_resume_identical(vac, tmp_path, kill_when):
    """SIGKILL a real CLI run mid-job (once a partition is staged, or inside the final
    write_catalog); ``--resume`` gives the same catalog and no partial output is ever visible."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    path, recipe = vac
    out = tmp_path / "vac3"
    toml = tmp_path / "r.toml"
    toml.write_text(f'input = "{recipe.input}"\noutput = "{out}"\nmodel = "{recipe.model}"\n')
    cmd = [sys.executable, "-m", "specir.scripts.main", "-q", "catalog", "run", str(toml)]
    cmd += ["--workers", "1"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    staging, partial = Path(f"{out}.staging"), Path(f"{out}.partial")

    def reached():
        if kill_when == "partition staged":
            return staging.exists() and any(staging.rglob("*.parquet"))
        return partial.exists()

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None and not reached():
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before the kill point"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert reached() and not out.exists()
    assert subprocess.run([*cmd, "--resume"], env=env, timeout=300).returncode == 0
    assert not partial.exists() and not staging.exists()
    one = lsdb.open_catalog(path).compute().sort_values("id").reset_index(drop=True)
    got = lsdb.open_catalog(out).compute().sort_values("id").reset_index(drop=True)
    assert got["id"].is_unique
    pd.testing.assert_frame_equal(one, got)


def test_column_metadata_and_provenance(vac, trained_bundle):
    import pyarrow.parquet as pq

    from specir.bundle import load_bundle
    from specir.columns import column_metadata

    path, _ = vac
    schema = pq.read_schema(path / "dataset" / "_common_metadata")
    assert column_metadata(schema.field("w1_flux"))["unit"] == "mJy"
    assert column_metadata(schema.field("ra"))["ucd"].startswith("pos.eq.ra")
    props = (path / "hats.properties").read_text()
    sha = load_bundle(_bundle_path(trained_bundle), device="cpu").card["sha256"]
    assert f"specir_model_sha256={sha}" in props and "specir_input_catalog=" in props


def test_validate_against_wise_catalog(vac, fixture_catalog, tmp_path):
    """The fixture's own WISE columns, written as a separate catalog, validate the VAC."""
    import json

    from specir.catalog.validate import validate_vac
    from specir.scripts.main import main

    path, _ = vac
    src = lsdb.open_catalog(fixture_catalog).compute()
    wise_cols = [f"w{i}{k}" for i in range(1, 5) for k in ("mpro", "sigmpro", "snr")]
    cols = ["id", "ra", "dec", *wise_cols]
    wise = tmp_path / "wise"
    lsdb.from_dataframe(
        src[cols].reset_index(drop=True), ra_column="ra", dec_column="dec", highest_order=3
    ).write_catalog(wise, progress_bar=False)
    out = tmp_path / "checked"
    argv = ["-q", "catalog", "validate", str(path), "--wise", str(wise), "--out", str(out)]
    assert main(argv) == 0
    summary = json.loads(Path(f"{out}_summary.json").read_text())
    got = lsdb.open_catalog(out).compute().sort_values("id")
    vac_df = lsdb.open_catalog(path).compute().sort_values("id")
    assert summary["n_matched"] == len(vac_df) == len(got)
    # chi recomputed by hand from the two catalogs, detections only
    merged = vac_df.merge(src[cols], on="id", suffixes=("", "_src"))
    for i in range(1, 5):
        b = f"w{i}"
        det = (merged[f"{b}snr"] >= 2) & np.isfinite(merged[f"{b}sigmpro"])
        want = (merged[f"{b}_mag"] - merged[f"{b}mpro"]) / np.sqrt(
            merged[f"{b}_mag_err"] ** 2 + merged[f"{b}sigmpro"] ** 2
        )
        np.testing.assert_allclose(
            got[f"chi_{b}"].to_numpy(np.float64, na_value=np.nan),
            np.where(det, want, np.nan),
            rtol=1e-5,
            equal_nan=True,
        )
        chi = want[det].to_numpy(np.float64)
        assert summary["bands"][b]["n"] == int(det.sum())
        assert summary["bands"][b]["chi2_n"] == pytest.approx(np.mean(chi**2), rel=1e-5)
    with pytest.raises(SpecIRInputError, match="--wise"):
        validate_vac(path, path, tmp_path / "x")  # the VAC has no AllWISE columns


def test_import_real_sdss_files_and_run_job(sdss_dir, trained_bundle, tmp_path):
    """The 12 real spectra import (bad files reported, not dropped) and go through the job."""
    import json

    from specir.catalog.importer import import_sdss
    from specir.sdss import read_sdss

    files = sorted(Path(sdss_dir).glob("spec-*.fits"))
    assert len(files) == 12
    (tmp_path / "broken.fits").write_bytes(b"SIMPLE  =                    T" + b" " * 50)
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(str(f) for f in files[6:]) + "\nbroken.fits\nmissing.fits\n")
    out = tmp_path / "spectra"
    summary = import_sdss([str(f) for f in files[:6]] + [str(listing)], out, workers=1)
    assert (summary["n_files"], summary["n_imported"], summary["n_failed"]) == (14, 12, 2)
    report = json.loads(Path(f"{out}_import_report.json").read_text())
    assert sorted(Path(f["file"]).name for f in report["failed"]) == ["broken.fits", "missing.fits"]
    cat = lsdb.open_catalog(out).compute().sort_values("file")
    assert len(cat) == 12
    ref = read_sdss(files[0])
    row = cat[cat["file"] == files[0].name].iloc[0]
    assert row["ra"] == pytest.approx(ref.meta["ra"]) and row["z"] == pytest.approx(ref.meta["z"])
    assert np.stack(cat["flux"].to_numpy()).shape == (12, 3921)

    vac_path = run_job(
        Recipe(input=str(out), output=str(tmp_path / "vac"), model=_bundle_path(trained_bundle)),
        workers=1,
    )
    vac_df = lsdb.open_catalog(vac_path).compute()
    assert len(vac_df) == 12 and vac_df["id"].is_unique
    flags = dict(zip(cat["id"], vac_df.set_index("id").loc[cat["id"], "flags"], strict=True))
    boss = cat[cat["z"] > 0.5]["id"]
    assert len(boss) == 1 and flags[boss.iloc[0]] & int(Flags.Z_OUT_OF_RANGE)
    assert np.isfinite(vac_df["w1_mag"]).all()
    # imported spectra carry no total magnitude: every row says so
    assert (vac_df["flags"] & int(Flags.NO_TOTAL_MAG)).all()
