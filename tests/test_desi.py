"""read_desi on the real DESI coadd files (DESI's public test data, BSD-3)."""

import shutil

import numpy as np
import pytest
from astropy.io import fits

from specir import SpecIRInputError, prepare_spectra, read_desi
from specir.constants import FLUX_UNIT

GALAXY = "coadd-4-80613-thru20210324.fits"
DWARF = "coadd-special-dark-27247.fits"


@pytest.mark.parametrize(
    ("name", "z", "targetid"),
    [(GALAXY, 0.369, 39633345008634465), (DWARF, 0.0073, 39089837499744649)],
)
def test_redshift_identity_and_units(desi_dir, name, z, targetid):
    (spec,) = read_desi(desi_dir / name)
    assert float(spec.redshift.value) == pytest.approx(z, abs=5e-4)
    assert spec.meta["targetid"] == targetid and spec.meta["spectype"] == "GALAXY"
    assert spec.flux.unit == FLUX_UNIT and spec.meta["instrument"] == "DESI"
    with fits.open(desi_dir / name) as h:
        assert spec.meta["ra"] == pytest.approx(h["FIBERMAP"].data["TARGET_RA"][0])


@pytest.mark.parametrize("name", [GALAXY, DWARF])
def test_arms_joined_on_one_continuous_grid(desi_dir, name):
    (spec,) = read_desi(desi_dir / name)
    wave = spec.spectral_axis.value
    with fits.open(desi_dir / name) as h:
        b, r, zz = (h[f"{a}_WAVELENGTH"].data for a in "BRZ")
        bflux, bivar = h["B_FLUX"].data[0], h["B_IVAR"].data[0]
        rflux, rivar = h["R_FLUX"].data[0], h["R_IVAR"].data[0]
    assert wave[0] == pytest.approx(b[0]) and wave[-1] == pytest.approx(zz[-1])
    assert np.allclose(np.diff(wave), 0.8, atol=1e-6)  # no gap, no repeated pixel
    assert len(wave) < len(b) + len(r) + len(zz)  # the overlaps are merged, not stacked
    good = ~spec.mask
    assert good.mean() > 0.95 and np.isfinite(spec.flux.value[good]).all()
    # a pixel in the B/R overlap: the inverse-variance mean of the two arms
    w0 = r[10]
    ib, ir, k = np.argmin(abs(b - w0)), 10, np.argmin(abs(wave - w0))
    expect = (bflux[ib] * bivar[ib] + rflux[ir] * rivar[ir]) / (bivar[ib] + rivar[ir])
    assert spec.flux.value[k] == pytest.approx(expect, rel=1e-5)
    assert spec.uncertainty.array[k] == pytest.approx(bivar[ib] + rivar[ir], rel=1e-5)
    # a pixel of B alone keeps B's values
    assert spec.flux.value[5] == pytest.approx(bflux[5], rel=1e-6)


def test_masked_pixels_carry_no_weight(desi_dir, tmp_path):
    coadd = tmp_path / GALAXY
    shutil.copy(desi_dir / GALAXY, coadd)
    shutil.copy(desi_dir / GALAXY.replace("coadd", "redrock"), tmp_path)
    with fits.open(coadd, mode="update") as h:
        h["B_MASK"].data[0, 100:110] = 1  # B only: the blue end has no other arm
        h["R_MASK"].data[0, 10] = 1  # in the B/R overlap: B alone remains
        bflux = h["B_FLUX"].data[0].copy()
        b, r = h["B_WAVELENGTH"].data, h["R_WAVELENGTH"].data
    (spec,) = read_desi(coadd)
    assert spec.mask[100:110].all() and not spec.mask[99] and not spec.mask[110]
    k = np.argmin(abs(spec.spectral_axis.value - r[10]))
    assert not spec.mask[k]
    assert spec.flux.value[k] == pytest.approx(bflux[np.argmin(abs(b - r[10]))], rel=1e-6)
    prep = prepare_spectra(spec)  # the masked pixels reach the model grid as unusable
    assert np.isfinite(prep.flux).all()


def test_missing_redrock_and_wrong_file_are_named(desi_dir, tmp_path):
    lone = tmp_path / GALAXY
    shutil.copy(desi_dir / GALAXY, lone)
    with pytest.raises(SpecIRInputError, match="redrock"):
        read_desi(lone)
    with pytest.raises(SpecIRInputError, match="TARGETID"):
        read_desi(lone, redrock=desi_dir / DWARF.replace("coadd", "redrock"))
    with pytest.raises(SpecIRInputError, match="has no HDU FIBERMAP"):
        read_desi(desi_dir / "tractor-1054p567.fits")


def test_redshift_from_a_fibermap_column(desi_dir, tmp_path):
    with fits.open(desi_dir / GALAXY) as h:
        fm = h["FIBERMAP"]
        cols = fits.ColDefs([*fm.columns, fits.Column(name="Z", format="D", array=[0.25])])
        h["FIBERMAP"] = fits.BinTableHDU.from_columns(cols, header=fm.header, name="FIBERMAP")
        h.writeto(tmp_path / GALAXY)
    (spec,) = read_desi(tmp_path / GALAXY)
    assert float(spec.redshift.value) == pytest.approx(0.25)
