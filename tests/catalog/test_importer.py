"""`specir import sdss` on the 12 real spectra plus broken files made here."""

import json
from pathlib import Path

import lsdb
import numpy as np
import pytest

from specir.catalog import Recipe, run_job
from specir.grid import Flags


def test_import_real_sdss_files_and_run_job(sdss_dir, trained_bundle, tmp_path):
    """The 12 real spectra import (bad files reported in words, not dropped) and go through the
    job; the command's exit status says "partial"."""
    from specir.scripts import EXIT_PARTIAL
    from specir.scripts.main import main
    from specir.sdss import read_sdss

    files = sorted(Path(sdss_dir).glob("spec-*.fits"))
    assert len(files) == 12
    (tmp_path / "broken.fits").write_bytes(files[0].read_bytes()[:30000])
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(str(f) for f in files[6:]) + "\nbroken.fits\nmissing.fits\n")
    out = tmp_path / "spectra"
    argv = ["-q", "import", "sdss", *map(str, files[:6]), str(listing), "--out", str(out)]
    assert main([*argv, "--workers", "1"]) == EXIT_PARTIAL
    report = json.loads(Path(f"{out}.report.json").read_text())
    assert (report["n_inputs"], report["n_done"], report["n_failed"]) == (14, 12, 2)
    reasons = {Path(f["input"]).name: f["reason"] for f in report["failed"]}
    assert "is truncated/corrupt" in reasons["broken.fits"]
    assert "missing.fits: does not exist" in reasons["missing.fits"]
    assert not any("Error" in r for r in reasons.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "broken.fits",
        "list.txt",
        "spectra",
        "spectra.report.json",
    ]
    cat = lsdb.open_catalog(out).compute().sort_values("file")
    assert len(cat) == 12
    ref = read_sdss(files[0])
    row = cat[cat["file"] == files[0].name].iloc[0]
    assert row["ra"] == pytest.approx(ref.meta["ra"]) and row["z"] == pytest.approx(ref.meta["z"])
    assert np.stack(cat["flux"].to_numpy()).shape == (12, 3921)

    vac_path = run_job(
        Recipe(
            input=str(out),
            output=str(tmp_path / "vac"),
            model=str(getattr(trained_bundle, "path", trained_bundle)),
        ),
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


def test_parallel_reading_gives_the_same_rows(sdss_files, tmp_path):
    """Two worker processes read what one reads, and the pool is shut down afterwards."""
    import multiprocessing

    import pandas as pd

    from specir.catalog.importer import _convert_all

    files = [*sdss_files[:4], tmp_path / "missing.fits"]
    frames = {}
    for workers in (1, 2):
        staging = tmp_path / f"staging{workers}"
        staging.mkdir()
        failures = [f for fails in _convert_all(files, staging, workers, 2, False) for f in fails]
        assert [Path(f).name for f, _ in failures] == ["missing.fits"]
        parts = sorted(staging.glob("batch_*.parquet"))
        frames[workers] = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    assert multiprocessing.active_children() == []
    assert list(frames[2]["file"]) == [f.name for f in sdss_files[:4]]
    pd.testing.assert_frame_equal(frames[1], frames[2])


def test_import_exit_statuses_and_checks(sdss_files, tmp_path):
    """1 when no file could be imported (no catalog written); 2 for an output that cannot be
    written or already exists, found before any file is read."""
    from specir.scripts import EXIT_FAILED, EXIT_USAGE
    from specir.scripts.main import main

    (tmp_path / "zero.fits").write_bytes(b"")
    out = tmp_path / "cat"
    assert main(["-q", "import", "sdss", str(tmp_path / "zero.fits"), "--out", str(out)]) == (
        EXIT_FAILED
    )
    assert not out.exists()
    report = json.loads(Path(f"{out}.report.json").read_text())
    assert report["status"] == "failed" and "is empty (0 bytes)" in report["failed"][0]["reason"]
    for target in (tmp_path / "no" / "cat", tmp_path / "zero.fits"):
        argv = ["-q", "import", "sdss", str(sdss_files[0]), "--out", str(target)]
        assert main(argv) == EXIT_USAGE
    assert (
        main(["-q", "import", "sdss", str(sdss_files[0]), "--out", str(out), "--workers", "0"])
        == EXIT_USAGE
    )
