"""prepare_spectra: units, input containers, normalisation, flags and bad input."""

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import InverseVariance, StdDevUncertainty, VarianceUncertainty
from conftest import SDSS_UNIT, galaxy_like, make_spectrum
from specutils import Spectrum, SpectrumCollection

from specir import Flags, SpecIRInputError, SpecIRWarning, prepare_spectra
from specir.grid import NORM_WINDOW, grid_wavelength
from specir.spectra import prepare_grid_arrays


def _same(a, b, rtol=1e-6):
    np.testing.assert_allclose(a.flux, b.flux, rtol=rtol, atol=1e-6 * np.abs(a.flux).max())
    np.testing.assert_allclose(a.ivar, b.ivar, rtol=rtol, atol=1e-6 * np.abs(a.ivar).max())
    np.testing.assert_allclose(a.norm, b.norm, rtol=rtol)
    np.testing.assert_array_equal(a.flags, b.flags)


def test_units_give_the_same_arrays():
    wave, flux, ivar = galaxy_like(seed=3)
    sigma = 1 / np.sqrt(ivar)
    f_aa = flux * SDSS_UNIT
    ref = prepare_spectra(
        Spectrum(
            flux=f_aa,
            spectral_axis=wave * u.AA,
            uncertainty=StdDevUncertainty(sigma),
            redshift=0.08,
        )
    )
    w_nm = (wave * u.AA).to(u.nm)
    f_si = f_aa.to(u.W / u.m**2 / u.nm)
    s_si = (sigma * SDSS_UNIT).to(u.W / u.m**2 / u.nm)
    nm = Spectrum(
        flux=f_si,
        spectral_axis=w_nm,
        uncertainty=VarianceUncertainty(s_si.value**2, unit=s_si.unit**2),
        redshift=0.08,
    )
    w_um = (wave * u.AA).to(u.um)
    f_mjy = f_aa.to(u.mJy, equivalencies=u.spectral_density(wave * u.AA))
    s_mjy = (sigma * SDSS_UNIT).to(u.mJy, equivalencies=u.spectral_density(wave * u.AA))
    um = Spectrum(
        flux=f_mjy,
        spectral_axis=w_um,
        uncertainty=InverseVariance(s_mjy.value**-2, unit=u.mJy**-2),
        redshift=0.08,
    )
    nu = (wave * u.AA).to(u.THz, equivalencies=u.spectral())[::-1]
    hz = Spectrum(
        flux=f_mjy.to(u.Jy)[::-1],
        spectral_axis=nu,
        uncertainty=StdDevUncertainty(s_mjy.to_value(u.Jy)[::-1]),
        redshift=0.08,
    )
    k = (wave * u.AA).to(1 / u.cm, equivalencies=u.spectral())[::-1]
    wavenumber = Spectrum(
        flux=f_aa[::-1],
        spectral_axis=k,
        uncertainty=StdDevUncertainty(sigma[::-1]),
        redshift=0.08,
    )
    for other in (nm, um, hz, wavenumber):
        _same(ref, prepare_spectra(other))


def test_deprecated_spectrum1d_and_containers():
    from specutils import Spectrum1D

    wave, flux, ivar = galaxy_like(seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = Spectrum1D(
            flux=flux * SDSS_UNIT,
            spectral_axis=wave * u.AA,
            uncertainty=InverseVariance(ivar),
            redshift=0.08,
        )
    ref = prepare_spectra(make_spectrum(seed=4))
    _same(ref, prepare_spectra(old))
    specs = [make_spectrum(seed=s, z=0.05 + 0.01 * s) for s in range(3)]
    one_by_one = [prepare_spectra(s) for s in specs]
    as_list = prepare_spectra(specs)
    for i, p in enumerate(one_by_one):
        _same(p, as_list[i])
    # 2-D flux: many spectra on one axis
    fl = np.stack([s.flux.value for s in specs])
    iv = np.stack([s.uncertainty.array for s in specs])
    two_d = Spectrum(
        flux=fl * SDSS_UNIT, spectral_axis=specs[0].spectral_axis, uncertainty=InverseVariance(iv)
    )
    _same(as_list, prepare_spectra(two_d, z=[0.05, 0.06, 0.07]))
    plain = [
        Spectrum(flux=s.flux, spectral_axis=s.spectral_axis.value * u.AA, uncertainty=s.uncertainty)
        for s in specs
    ]
    coll = SpectrumCollection.from_spectra(plain)
    _same(as_list, prepare_spectra(coll, z=[0.05, 0.06, 0.07]))


def test_normalisation_and_restoring():
    spec = make_spectrum(seed=7, z=0.1)
    prep = prepare_spectra(spec)
    rest = grid_wavelength() / 1.1
    win = (rest >= NORM_WINDOW[0]) & (rest <= NORM_WINDOW[1]) & (prep.ivar[0] > 0)
    restored = prep.restored_flux()[0].to_value(SDSS_UNIT)
    assert prep.norm[0] == pytest.approx(np.median(restored[win]), rel=1e-6)
    assert np.median(prep.flux[0][win]) == pytest.approx(1.0, rel=1e-6)
    # ivar scales with norm²: S/N is unchanged by normalisation
    snr_before = restored[win] * np.sqrt(prep.ivar[0][win] / prep.norm[0] ** 2)
    np.testing.assert_allclose(snr_before, prep.flux[0][win] * np.sqrt(prep.ivar[0][win]), 1e-5)


def test_air_wavelengths():
    from specutils.utils.wcs_utils import vac_to_air

    spec = make_spectrum(seed=8)
    air_axis = vac_to_air(spec.spectral_axis.to(u.AA), method="Morton2000")
    air = Spectrum(flux=spec.flux, spectral_axis=air_axis, uncertainty=spec.uncertainty)
    a = prepare_spectra(air, z=0.08, air=True)
    v = prepare_spectra(spec)
    np.testing.assert_allclose(a.flux, v.flux, atol=1e-4 * np.abs(v.flux).max())
    # reading air wavelengths as vacuum shifts the spectrum by about 1.5 pixels: detectable
    wrong = prepare_spectra(air, z=0.08)
    assert np.abs(wrong.flux - v.flux).max() > 100 * np.abs(a.flux - v.flux).max()


def test_nan_pixels_are_masked_with_a_warning():
    spec = make_spectrum(seed=9)
    flux = spec.flux.value.copy()
    flux[500:510] = np.nan
    bad = Spectrum(
        flux=flux * SDSS_UNIT, spectral_axis=spec.spectral_axis, uncertainty=spec.uncertainty
    )
    with pytest.warns(SpecIRWarning, match="NaN"):
        prep = prepare_spectra(bad, z=0.08)
    assert prep.flags[0] & Flags.NONFINITE_MASKED
    assert np.all(np.isfinite(prep.flux)) and np.all(np.isfinite(prep.ivar))
    j = np.argmin(np.abs(grid_wavelength() - spec.spectral_axis.value[505]))
    assert prep.ivar[0, j] == 0


def test_flags():
    z_far = prepare_spectra(make_spectrum(seed=1, z=0.5))
    assert Flags.describe(z_far.flags[0]) == ["Z_OUT_OF_RANGE"]
    short = make_spectrum(seed=2, n_pix=1500)
    prep = prepare_spectra(short)
    assert prep.flags[0] & Flags.LOW_COVERAGE and 0.3 < prep.coverage[0] < 0.5
    faint = make_spectrum(seed=3)
    faint = Spectrum(
        flux=faint.flux * 1e-3, spectral_axis=faint.spectral_axis, uncertainty=faint.uncertainty
    )
    assert prepare_spectra(faint, z=0.08).flags[0] & Flags.LOW_SNR
    assert prepare_spectra(make_spectrum(seed=3)).flags[0] == 0


def test_grid_arrays_flag_instead_of_raising():
    flux = np.ones((4, 3921))
    ivar = np.ones((4, 3921))
    flux[1] = np.nan
    ivar[2, :3000] = 0
    prep = prepare_grid_arrays(flux, ivar, [0.1, 0.1, 0.1, -1.0])
    assert prep.flags[0] == 0
    assert prep.flags[1] & Flags.NO_DATA and prep.flags[1] & Flags.NONFINITE_MASKED
    assert np.isnan(prep.norm[1]) and np.all(prep.ivar[1] == 0)
    assert prep.flags[2] & Flags.LOW_COVERAGE
    assert prep.flags[3] & Flags.Z_OUT_OF_RANGE
    with pytest.raises(SpecIRInputError, match="model grid"):
        prepare_grid_arrays(np.ones((2, 100)), np.ones((2, 100)), [0.1, 0.1])


# ------------------------------------------------------------------------ bad input, one each


def _spec(**kw):
    wave, flux, ivar = galaxy_like(seed=11)
    args = dict(
        flux=flux * SDSS_UNIT,
        spectral_axis=wave * u.AA,
        uncertainty=InverseVariance(ivar),
        redshift=0.08,
    )
    args.update(kw)
    return Spectrum(**args)


def _raises(field, spectra, **kw):
    with pytest.raises(SpecIRInputError, match=field) as info:
        prepare_spectra(spectra, **kw)
    assert "Fix:" in str(info.value) and isinstance(info.value, ValueError)
    return info.value


def test_missing_and_negative_redshift():
    wave, flux, ivar = galaxy_like()
    nz = Spectrum(
        flux=flux * SDSS_UNIT, spectral_axis=wave * u.AA, uncertainty=InverseVariance(ivar)
    )
    err = _raises("redshift", nz)
    assert "z=" in err.fix
    _raises("redshift", nz, z=-0.1)
    _raises("redshift", nz, z=np.nan)
    _raises("z", [nz, nz], z=[0.1, 0.2, 0.3])
    assert prepare_spectra(nz, z=0.08).z[0] == 0.08


def test_bad_spectral_axes():
    wave, _flux, _ivar = galaxy_like()
    wave = wave.copy()
    wave[100], wave[101] = wave[101], wave[100]
    # specutils itself may refuse some axes; either way the user gets a clear ValueError
    try:
        s = _spec(spectral_axis=wave * u.AA)
    except ValueError:
        s = None
    if s is not None:
        _raises("spectral_axis", s)
    dup = galaxy_like()[0].copy()
    dup[200] = dup[199]
    try:
        s = _spec(spectral_axis=dup * u.AA)
    except ValueError:
        s = None
    if s is not None:
        _raises("spectral_axis", s)
    far = _spec(spectral_axis=galaxy_like()[0] * 10 * u.AA)
    _raises("overlap", far)


def test_bad_flux_units_and_values():
    _wave, flux, _ivar = galaxy_like()
    _raises("flux.unit", _spec(flux=flux * u.one))
    _raises("flux.unit", _spec(flux=flux * u.ct))
    _raises("flux.unit", _spec(flux=flux * u.erg / u.s))
    _raises("flux", _spec(flux=np.full_like(flux, np.nan) * SDSS_UNIT))


def test_bad_uncertainties():
    _wave, _flux, ivar = galaxy_like()
    s = _spec()
    s.uncertainty = None
    _raises("uncertainty", s)
    neg = ivar.copy()
    neg[10] = -1
    _raises("uncertainty", _spec(uncertainty=InverseVariance(neg)))
    nan = ivar.copy()
    nan[10:20] = np.nan
    with pytest.warns(SpecIRWarning):
        prep = prepare_spectra(_spec(uncertainty=InverseVariance(nan)))
    assert prep.flags[0] & Flags.NONFINITE_MASKED
    s = _spec()
    wrong = InverseVariance(ivar)
    wrong._unit = u.Jy**-2  # specutils refuses this at construction; we must too, later
    s._uncertainty = wrong
    _raises("uncertainty.unit", s)
    s = _spec()
    s._uncertainty = InverseVariance(ivar[:-5])  # bypass specutils' own shape check
    _raises("uncertainty", s)


def test_empty_and_wrong_containers():
    _raises("spectra", [])
    _raises("spectra", np.ones(10))
    _raises("spectra", [np.ones(3)])
    empty = _spec()
    empty._data = np.zeros(0)
    with pytest.raises((SpecIRInputError, ValueError)):
        prepare_spectra(empty)
