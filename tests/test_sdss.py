"""The SDSS reader on the 12 real spectra in ../shared/data/sdss."""

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import InverseVariance

from specir import Flags, SpecIRInputError, prepare_spectra, read_sdss
from specir.sdss import SDSS_FLUX_UNIT


def test_reads_every_file(sdss_files):
    assert len(sdss_files) == 12
    for path in sdss_files:
        spec = read_sdss(path)
        with fits.open(path) as hdul:
            coadd = hdul["COADD"].data
            # wavelengths in float64 from the float32 loglam (10**x in float32 is off by an ulp)
            wave = 10.0 ** coadd["loglam"].astype(np.float64)
            np.testing.assert_allclose(spec.spectral_axis.to_value(u.AA), wave, rtol=1e-12)
            np.testing.assert_array_equal(spec.flux.value, coadd["flux"])
            np.testing.assert_array_equal(spec.uncertainty.array, coadd["ivar"])
        assert spec.flux.unit == SDSS_FLUX_UNIT
        assert isinstance(spec.uncertainty, InverseVariance)
        assert spec.mask.dtype == bool
        assert np.all(np.diff(spec.spectral_axis.value) > 0)
        m = spec.meta
        plate, mjd, fiber = (int(x) for x in path.stem.split("-")[1:])
        assert (m["plate"], m["mjd"], m["fiberid"]) == (plate, mjd, fiber)
        assert m["class"] == "GALAXY"
        assert spec.redshift.value == pytest.approx(m["z"], rel=1e-6)
        assert -90 <= m["dec"] <= 90 and 0 <= m["ra"] < 360
        assert {"z_warning", "z_err", "instrument", "and_mask"} <= set(m)


def test_boss_layout_and_redshift(sdss_dir):
    spec = read_sdss(sdss_dir / "spec-3586-55181-0003.fits")
    assert spec.meta["instrument"] == "BOSS"
    assert spec.redshift.value == pytest.approx(0.5887, abs=1e-4)
    assert spec.shape == (4625,)


def test_mask_bits(sdss_dir):
    path = sdss_dir / "spec-0266-51602-0526.fits"
    default = read_sdss(path)
    every = read_sdss(path, mask_bits="all")
    none = read_sdss(path, mask_bits=())
    assert none.mask.sum() == 0
    assert default.mask.sum() < every.mask.sum()
    np.testing.assert_array_equal(every.mask, default.meta["and_mask"] != 0)


def test_all_prepare_and_boss_is_out_of_range(sdss_files):
    prep = prepare_spectra([read_sdss(p) for p in sdss_files])
    assert np.all(np.isfinite(prep.flux)) and np.all(prep.norm > 0)
    boss = next(i for i, p in enumerate(sdss_files) if p.name.startswith("spec-3586"))
    assert prep.flags[boss] & Flags.Z_OUT_OF_RANGE
    others = np.delete(prep.flags, boss)
    assert not np.any(others & Flags.Z_OUT_OF_RANGE)
    # restored flux equals the file's flux where pixels coincide with the grid
    spec = read_sdss(sdss_files[0])
    grid = prep.wavelength.to_value(u.AA)
    j = int(np.argmin(np.abs(grid - spec.spectral_axis.value[100])))
    assert grid[j] == pytest.approx(spec.spectral_axis.value[100], rel=1e-6)
    restored = prep.restored_flux()[0, j].to_value(SDSS_FLUX_UNIT)
    assert restored == pytest.approx(spec.flux.value[100], rel=1e-4)


def test_not_an_sdss_file(tmp_path):
    path = tmp_path / "x.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([])]).writeto(path)
    with pytest.raises(SpecIRInputError, match="COADD"):
        read_sdss(path)
    with pytest.raises(SpecIRInputError, match="does not exist"):
        read_sdss(tmp_path / "missing.fits")
    (tmp_path / "junk.fits").write_text("not fits")
    with pytest.raises(SpecIRInputError, match=r"junk\.fits: is not a FITS file"):
        read_sdss(tmp_path / "junk.fits")
