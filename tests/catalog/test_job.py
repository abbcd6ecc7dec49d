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
    for col in ("w1_flux", "w4_mag_err", "q_pah", "p_agn", "log_lagn"):
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
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
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
    from specir.columns import COLUMNS, column_metadata

    path, _ = vac
    schema = pq.read_schema(path / "dataset" / "_common_metadata")
    assert column_metadata(schema.field("w1_flux"))["unit"] == "mJy"
    assert column_metadata(schema.field("ra"))["ucd"].startswith("pos.eq.ra")
    p_agn = column_metadata(schema.field("p_agn"))
    assert p_agn == {k: getattr(COLUMNS["p_agn"], k) for k in ("unit", "ucd", "description")}
    assert schema.field("p_agn").type == "float"  # float32, as defined
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
        k = (merged[f"{b}_mag_ci68"] / merged[f"{b}_mag_err"])[det].to_numpy(np.float64)
        want_cov = np.mean(np.abs(chi) <= k)
        assert summary["bands"][b]["coverage_68_interval"] == pytest.approx(want_cov, abs=1e-6)
    with pytest.raises(SpecIRInputError, match="--wise"):
        validate_vac(path, path, tmp_path / "x")  # the VAC has no AllWISE columns


# ---------------------------------------------------------------- recipe and input checks
# each bad recipe: (TOML text, with {cat} the fixture catalog and {tmp} a folder; the start of
# the one error line)
BAD_RECIPES = {
    "malformed TOML": ('input = "a"\noutput =\n', "{tmp}/r.toml: is not valid TOML (Invalid"),
    "empty recipe": ("", "input: is required but missing"),
    "missing input": ('output = "{tmp}/vac"\n', "input: is required but missing"),
    "missing output": ('input = "{cat}"\n', "output: is required but missing"),
    "unknown key": ('input = "{cat}"\noutput = "o"\nbach_size = 5\n', "bach_size: is not a known"),
    "wrong input path": ('input = "{tmp}/nope"\noutput = "{tmp}/vac"\n', "{tmp}/nope: does not"),
    "a file as input": (
        'input = "{tmp}/r.toml"\noutput = "{tmp}/vac"\n',
        "{tmp}/r.toml: is a file",
    ),
    "a folder that is no catalog": (
        'input = "{tmp}"\noutput = "{tmp}/vac"\n',
        "{tmp}: is not a readable HATS catalog",
    ),
    "unwritable output": (
        'input = "{cat}"\noutput = "{tmp}/no/such/vac"\n',
        "{tmp}/no/such/vac: cannot be written",
    ),
    "output exists": ('input = "{cat}"\noutput = "{tmp}"\n', "{tmp}: already exists"),
    "batch_size = 0": ('input = "{cat}"\noutput = "o"\nbatch_size = 0\n', "batch_size: is 0"),
    "batch_size = true": ('input = "{cat}"\noutput = "o"\nbatch_size = true\n', "batch_size: is"),
    "bad device": ('input = "{cat}"\noutput = "o"\ndevice = "tpu"\n', "device: is 'tpu'"),
    "orders swapped": (
        'input = "{cat}"\noutput = "o"\nmin_order = 5\nmax_order = 2\n',
        "min_order: (5) exceeds max_order (2)",
    ),
    "missing model": (
        'input = "{cat}"\noutput = "{tmp}/vac"\nmodel = "./no-bundle"\n',
        "model: ",
    ),
    "input orders outside the recipe's": (
        'input = "{cat}"\noutput = "{tmp}/vac"\nmin_order = 8\nmax_order = 9\n',
        "min_order/max_order: the input's partitions span orders",
    ),
}


@pytest.mark.parametrize("case", list(BAD_RECIPES))
def test_recipe_error_is_one_line_before_the_cluster(case, fixture_catalog, tmp_path, monkeypatch):
    import logging

    import specir.catalog.job
    from specir.scripts import EXIT_USAGE
    from specir.scripts.main import main

    def no_cluster(**kwargs):
        raise AssertionError("a Dask cluster was started for a bad recipe")

    monkeypatch.setattr(specir.catalog.job, "dask_client", no_cluster)
    text, start = BAD_RECIPES[case]
    toml = tmp_path / "r.toml"
    toml.write_text(text.format(cat=fixture_catalog, tmp=tmp_path))
    records = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = records.append
    logging.getLogger().addHandler(handler)
    try:
        assert main(["-q", "catalog", "run", str(toml)]) == EXIT_USAGE
    finally:
        logging.getLogger().removeHandler(handler)
    [record] = records
    line = record.getMessage()
    assert "\n" not in line and line.startswith(start.format(tmp=tmp_path)), line
    assert "Fix: " in line
    assert not list(tmp_path.glob("*.staging")) and not list(tmp_path.glob("*.partial"))


def test_recipe_paths_relative_to_the_file(tmp_path):
    (tmp_path / "sub").mkdir()
    toml = tmp_path / "sub" / "r.toml"
    toml.write_text('input = "../cat"\noutput = "vac"\nmodel = "../models/b"\n')
    recipe = load_recipe(toml)
    assert recipe.input == str(tmp_path / "cat") and recipe.output == str(tmp_path / "sub" / "vac")
    assert recipe.model == str(tmp_path / "models" / "b")
    assert load_recipe(toml, model="default").model == "default"


def test_run_job_refuses_bad_arguments(vac):
    _, recipe = vac
    with pytest.raises(SpecIRInputError, match=r"^workers: is 0"):
        run_job(recipe, workers=0)
    with pytest.raises(SpecIRInputError, match=r"^recipe: is a dict"):
        run_job({"input": recipe.input}, workers=1)
    with pytest.raises(SpecIRInputError, match=r"^memory_limit: is 'lots'"):
        run_job(recipe, workers=1, memory_limit="lots")


def test_failed_partition_is_reported_and_the_rest_written(trained_bundle, tmp_path):
    """A partition whose spectra are malformed contributes no rows; the others are written,
    the report names the partition and why, the exit status is 3 (partial)."""
    import json

    from fixture_survey import make_fixture_frame

    from specir.scripts import EXIT_PARTIAL
    from specir.scripts.main import main

    df = make_fixture_frame(120, seed=3)
    df.at[df.index[5], "flux"] = np.ones(100, np.float32)  # not on the model grid
    bad_id = df["id"].iloc[5]
    cat = lsdb.from_dataframe(
        df, ra_column="ra", dec_column="dec", lowest_order=0, highest_order=2, partition_rows=30
    )
    cat.write_catalog(tmp_path / "cat", progress_bar=False)
    incat = lsdb.open_catalog(tmp_path / "cat")
    parts = {p: incat.get_partition(p.order, p.pixel).compute() for p in incat.get_healpix_pixels()}
    bad, in_bad = next((p, len(d)) for p, d in parts.items() if bad_id in set(d["id"]))
    out = tmp_path / "vac"
    toml = tmp_path / "r.toml"
    toml.write_text(f'input = "cat"\noutput = "vac"\nmodel = "{_bundle_path(trained_bundle)}"\n')
    assert main(["-q", "catalog", "run", str(toml)]) == EXIT_PARTIAL
    got = lsdb.open_catalog(out).compute()
    assert len(got) == len(df) - in_bad and bad_id not in set(got["id"])
    report = json.loads(Path(f"{out}.report.json").read_text())
    assert (report["status"], report["n_failed"]) == ("partial", 1)
    [failure] = report["failed"]
    assert failure["input"].endswith(f"Norder={bad.order}/Npix={bad.pixel}")
    assert failure["reason"].startswith("column 'flux': rows do not all hold 3921 values")
    # the staged partitions are kept; --resume reuses them and retries only the failed one
    staged = sorted(Path(f"{out}.staging").rglob("*.parquet"))
    assert len(staged) == len(parts) - 1
    stamps = [p.stat().st_mtime_ns for p in staged]
    assert main(["-q", "catalog", "run", str(toml), "--resume"]) == EXIT_PARTIAL
    assert [p.stat().st_mtime_ns for p in staged] == stamps
    again = lsdb.open_catalog(out).compute()
    assert sorted(again["id"]) == sorted(got["id"])
    assert json.loads(Path(f"{out}.report.json").read_text())["failed"] == report["failed"]
