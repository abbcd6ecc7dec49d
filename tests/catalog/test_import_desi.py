"""``specir import desi`` + ``specir catalog run`` on the real DESI files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import lsdb
import numpy as np
import pytest
from astropy.io import fits

from specir.batch import report_path
from specir.grid import Flags

GALAXY_ID, DWARF_ID = 39633345008634465, 39089837499744649


def _cli(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.setdefault("OMP_NUM_THREADS", "1")
    cmd = [sys.executable, "-m", "specir.scripts.main", "-q", *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _vega_from_tractor(row, band, offset):
    """The conversion written out independently: nanomaggies (AB) to Vega, with 2-sigma limits."""
    f, ivar = float(row[f"FLUX_W{band}"]), float(row[f"FLUX_IVAR_W{band}"])
    sigma = ivar**-0.5
    if f / sigma >= 2:
        return 22.5 - 2.5 * np.log10(f) - offset, 1.0857362 * sigma / f
    return 22.5 - 2.5 * np.log10(max(f, 0.0) + 2 * sigma) - offset, np.nan


@pytest.fixture(scope="module")
def imported(desi_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("desi")
    out = tmp / "spectra"
    r = _cli(
        "import",
        "desi",
        desi_dir,
        "--out",
        out,
        "--photometry",
        desi_dir / "tractor-1054p567.fits",
        cwd=tmp,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return tmp, out


def test_wise_columns_equal_tractor_after_conversion(imported, desi_dir):
    _, out = imported
    cat = lsdb.open_catalog(out).compute().set_index("id")
    assert sorted(cat.index) == sorted([GALAXY_ID, DWARF_ID])
    gal = cat.loc[GALAXY_ID]
    tractor = fits.getdata(desi_dir / "tractor-1054p567.fits")[0]
    for band, offset in zip((1, 2, 3, 4), (2.699, 3.339, 5.174, 6.620), strict=True):
        mag, err = _vega_from_tractor(tractor, band, offset)
        assert gal[f"w{band}mpro"] == pytest.approx(mag, abs=1e-5), band
        assert np.isnan(err) == np.isnan(gal[f"w{band}sigmpro"]), band
        if not np.isnan(err):
            assert gal[f"w{band}sigmpro"] == pytest.approx(err, rel=1e-5)
    assert np.isnan(gal["w4sigmpro"]) and gal["w4snr"] < 2  # W4 is not detected: upper limit
    fm = fits.getdata(desi_dir / "coadd-4-80613-thru20210324.fits", "FIBERMAP")[0]
    assert gal["modelmag_r"] == pytest.approx(22.5 - 2.5 * np.log10(fm["FLUX_R"]), abs=1e-5)
    assert gal["z"] == pytest.approx(0.36874, abs=1e-4)
    assert gal["import_flags"] == 1  # DESI instrument only: photometry and tractor row found
    dwarf = cat.loc[DWARF_ID]  # RELEASE 0: no Legacy Surveys photometry, flagged, not dropped
    assert dwarf["import_flags"] == 7 and all(
        np.isnan(float(dwarf[c])) for c in ("modelmag_r", "w1mpro", "w3mpro")
    )
    report = json.loads(report_path(out).read_text())
    assert report["status"] == "ok" and report["details"]["n_targets"] == 2
    assert report["details"]["flag_counts"] == {
        "DESI_INSTRUMENT": 2,
        "NO_LS_PHOTOMETRY": 1,
        "NO_TRACTOR_MATCH": 1,
    }


def test_catalog_run_makes_a_vac(imported):
    tmp, out = imported
    recipe = tmp / "desi_vac.toml"
    recipe.write_text(f'input = "{out}"\noutput = "{tmp / "vac"}"\nmodel = "default"\n')
    r = _cli("catalog", "run", recipe, "--workers", "1", cwd=tmp)
    assert r.returncode == 0, r.stderr[-3000:]
    vac = lsdb.open_catalog(tmp / "vac").compute().set_index("id")
    assert sorted(vac.index) == sorted([GALAXY_ID, DWARF_ID])
    assert np.isfinite(vac.loc[GALAXY_ID, ["w1_mag", "w2_mag", "w3_mag", "w4_mag"]]).all()
    # both redshifts lie outside the shipped model's range; the dwarf has no total magnitude
    assert (vac["flags"] & int(Flags.Z_OUT_OF_RANGE)).all()
    assert vac.loc[DWARF_ID, "flags"] & int(Flags.NO_TOTAL_MAG)
    assert not vac.loc[GALAXY_ID, "flags"] & int(Flags.NO_TOTAL_MAG)
