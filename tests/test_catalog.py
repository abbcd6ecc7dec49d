"""The value-added catalog job on the mechanics fixture catalog (a tiny trained bundle)."""

import lsdb
import numpy as np
import pandas as pd
import pytest

from specir.catalog import Recipe, load_recipe, run_job
from specir.errors import SpecIRInputError


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
    want = predict_prepared(prep, model=_bundle_path(trained_bundle), device="cpu")
    for col in ("w1_flux", "w4_mag_err", "q_pah", "log_lagn"):
        np.testing.assert_allclose(
            got[col].to_numpy(), np.asarray(want[col].value, np.float32), rtol=1e-5, equal_nan=True
        )
    np.testing.assert_array_equal(got["flags"].to_numpy(), np.asarray(want["flags"]))


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


def test_sigkill_then_resume_identical(vac, tmp_path):
    """SIGKILL a real CLI run once a partition is staged; --resume gives the same catalog."""
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
    cmd = [sys.executable, "-m", "specir.cli", "-q", "catalog", "run", str(toml), "--workers", "1"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    staging = Path(f"{out}.staging")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if staging.exists() and any(staging.rglob("*.parquet")):
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    assert subprocess.run([*cmd, "--resume"], env=env, timeout=300).returncode == 0
    one = lsdb.open_catalog(path).compute().sort_values("id").reset_index(drop=True)
    got = lsdb.open_catalog(out).compute().sort_values("id").reset_index(drop=True)
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
