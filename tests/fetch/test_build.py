"""End to end: ``specir fetch`` against ``specir serve`` and a SAS-like server; then train."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lsdb
import numpy as np
import pandas as pd
import pytest

from fetch.fetch_fixtures import MISSING_PLATE, REPO, cli_env, tap_tables

RECIPE = REPO / "catalogs" / "fetch_sdss_allwise.toml"


def _recipe(tmp_path):
    """The shipped recipe with a test's patience: short time-outs and backoff."""
    text = RECIPE.read_text()
    for old, new in [
        ("timeout_s = 60\n", "timeout_s = 1.0\n"),
        ("backoff_s = 2.0", "backoff_s = 0.05"),
        ("rate_per_s = 8.0", "rate_per_s = 100.0"),
        ("retries = 4", "retries = 2"),
        ("workers = 4", "workers = 2"),
    ]:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "recipe.toml"
    path.write_text(text)
    return path


def _fetch(tmp_path, tap, sas, out, *extra, wait=True):
    cmd = [sys.executable, "-m", "specir.scripts.main", "-q", "fetch", "sdss-allwise"]
    cmd += ["--out", str(out), "--recipe", str(_recipe(tmp_path)), "--tap-url", tap]
    cmd += ["--archive-url", f"{sas.url}/sas/dr17", *extra]
    if not wait:
        return subprocess.Popen(cmd, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=300)


def _expected_pairs(sdss_files, region=None):
    """The selection done with pandas on the fixture tables (independent of the ADQL)."""
    t = {k: v[0] for k, v in tap_tables(sdss_files).items()}
    s = t["sdss_dr17.specobj"]
    s = s[(s["class"] == "GALAXY") & (s["zwarning"] == 0)]
    m = s.merge(t["sdss_dr17.photoobj"], left_on="bestobjid", right_on="objid", suffixes=("", "_p"))
    m = m.merge(t["sdss_dr17.x1p5__specobj__allwise__source"], left_on="specobjid", right_on="id1")
    m = m.merge(t["allwise.source"], left_on="id2", right_on="source_id", suffixes=("", "_w"))
    return m[m["distance"] <= 1.5]


def _table(out):
    df = lsdb.open_catalog(out / "catalog").compute()
    return df.sort_values("id").reset_index(drop=True)


@pytest.fixture(scope="module")
def faulty_fetch(tap_service, sas_server, sdss_files, tmp_path_factory):
    """A fetch through a 500, a time-out and a truncated transfer (each once), and a 404."""
    tmp = tmp_path_factory.mktemp("fetch_faults")
    srv0 = sas_server()
    paths = sorted(p for p in srv0.files if "/sdss/" in p)  # selected: plate 266, zWarning 0
    faults = {paths[0]: ["500"], paths[1]: ["stall"], paths[2]: ["truncate"]}
    srv = sas_server(faults=faults, stall_s=2.5)
    r = _fetch(tmp, tap_service, srv, tmp / "out")
    return tmp, srv, r, paths[:3]


def test_dry_run_prints_adql_and_count(tap_service, sas_server, sdss_files, tmp_path):
    r = _fetch(tmp_path, tap_service, sas_server(), tmp_path / "x", "--dry-run")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "JOIN sdss_dr17.x1p5__specobj__allwise__source AS x" in r.stdout
    assert f"expected rows: {len(_expected_pairs(sdss_files))}" in r.stdout
    assert not (tmp_path / "x").exists()


def test_fetch_reports_failures_and_builds_the_catalog(faulty_fetch, sdss_files):
    tmp, srv, r, faulty = faulty_fetch
    out = tmp / "out"
    assert r.returncode == 3, r.stderr[-3000:]  # partial: the 404 is reported
    report = json.loads((out / "download_report.json").read_text())
    assert [Path(f["url"]).name.split("-")[1] for f in report["failed"]] == [str(MISSING_PLATE)]
    assert "404" in report["failed"][0]["error"]
    assert all(srv.hits[p] == 2 for p in faulty)  # each fault was retried once, then succeeded
    assert not list(out.rglob("*.part*"))
    pairs = _expected_pairs(sdss_files)
    nearest = pairs.sort_values("distance").drop_duplicates("specobjid").set_index("specobjid")
    cat = _table(out)
    assert len(cat) == len(nearest) - 1 == report["n_in_catalog"]  # all but the 404
    ref = nearest.loc[cat["id"]]
    for col in ("w1mpro", "w3sigmpro", "w2snr", "modelmag_r"):
        np.testing.assert_allclose(cat[col], ref[col], rtol=1e-6)
    assert (cat["allwise_source_id"].to_numpy() == ref["source_id"].to_numpy()).all()
    assert (cat["ph_qual"].to_numpy() == ref["ph_qual"].to_numpy()).all()
    assert np.isnan(cat["w4sigmpro"]).any()  # upper limits travel as NaN errors
    props = (out / "catalog" / "hats.properties").read_text()
    assert "specir_fetch_adql" in props and "specir_fetch_query_utc" in props


def test_train_one_epoch_on_the_fetched_catalog(faulty_fetch, tmp_path):
    tmp = faulty_fetch[0]
    cfg = tmp_path / "train.toml"
    cfg.write_text(
        f'catalog = "{tmp / "out" / "catalog"}"\noutput = "{tmp_path / "model"}"\n'
        "epochs = 1\nbatch_size = 4\nsplit_order = 12\nsplit_fractions = [0.5, 0.25, 0.25]\n"
        'threads = 1\ndevice = "cpu"\n'
        "[model]\nchannels = [4, 8]\nkernels = [5, 5]\nstrides = [4, 4]\nmlp_hidden = 8\n"
        "latent_dim = 4\ncoarse_bins = 4\n"
        '[training_data]\ndescription = "fixture: 11 real SDSS spectra, SYNTHETIC WISE values"\n'
    )
    cmd = [sys.executable, "-m", "specir.scripts.main", "-q", "train", str(cfg)]
    r = subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    card = json.loads((tmp_path / "model" / "model_card.json").read_text())
    assert card["training_data"]["n_rows_read"] == len(_table(tmp / "out"))
    assert "specir_fetch_adql" in card["training_data"]["catalog_properties"]


def test_kill9_during_downloads_then_resume_is_identical(
    faulty_fetch, tap_service, sas_server, tmp_path
):
    srv = sas_server(delay_s=0.4)
    out = tmp_path / "out"
    proc = _fetch(tmp_path, tap_service, srv, out, wait=False)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "spectra").rglob("*.fits"))) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the fetch ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()
    done_before = set(p.name for p in (out / "spectra").rglob("*.fits"))
    assert 3 <= len(done_before) < 11 and not (out / "catalog").exists()
    hits_before = dict(srv.hits)
    r = _fetch(tmp_path, tap_service, srv, out, "--resume")
    assert r.returncode == 3, r.stderr[-3000:]
    again = {p: srv.hits[p] - hits_before.get(p, 0) for p in srv.hits}
    assert all(again[p] == 0 for p in again if Path(p).name in done_before)  # kept, not refetched
    resumed, reference = _table(out), _table(faulty_fetch[0] / "out")
    pd.testing.assert_frame_equal(resumed, reference, check_like=True)
