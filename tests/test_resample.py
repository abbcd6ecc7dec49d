"""The vectorised flux-conserving resampler against specutils' reference implementation."""

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import InverseVariance
from specutils import Spectrum
from specutils.manipulation import FluxConservingResampler

from specir.grid import grid_wavelength
from specir.resample import edges_from_centres, resample


def _reference(wave, flux, ivar, out):
    spec = Spectrum(flux=flux * u.Jy, spectral_axis=wave * u.AA, uncertainty=InverseVariance(ivar))
    res = FluxConservingResampler(extrapolation_treatment="nan_fill")(spec, out * u.AA)
    return res.flux.value, res.uncertainty.array


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_specutils(seed):
    rng = np.random.default_rng(seed)
    # an irregular, linearly sampled input grid, coarser and finer than the model grid
    step = rng.uniform(0.8, 3.5, 3000)
    wave = 3700 + np.cumsum(step)
    flux = 10 + 5 * np.sin(wave / 37.0) + rng.normal(0, 1, wave.size)
    ivar = rng.uniform(0.5, 2.0, wave.size)
    out = grid_wavelength()
    ref_f, ref_iv = _reference(wave, flux, ivar, out)
    f, iv = resample(wave, flux[None], ivar[None], out)
    out_edges = edges_from_centres(out)
    in_edges = edges_from_centres(wave)
    inside = (out_edges[:-1] >= in_edges[0]) & (out_edges[1:] <= in_edges[-1])
    assert inside.sum() > 3000
    np.testing.assert_allclose(f[0, inside], ref_f[inside], rtol=1e-6)
    np.testing.assert_allclose(iv[0, inside], ref_iv[inside], rtol=1e-6)
    assert np.all(iv[0, ~inside & (out > in_edges[-1])] == 0)


def test_conserves_flux_and_ignores_masked_pixels():
    rng = np.random.default_rng(5)
    wave = 10 ** (3.5805 + 1e-4 * np.arange(3800))
    flux = rng.uniform(1, 3, (4, wave.size))
    ivar = np.ones_like(flux)
    out = grid_wavelength()
    f, _ = resample(wave, flux, ivar, out)
    ein, eout = edges_from_centres(wave), edges_from_centres(out)
    inside = (eout[:-1] >= ein[0]) & (eout[1:] <= ein[-1])
    lo, hi = eout[:-1][inside][0], eout[1:][inside][-1]
    sel = (ein[:-1] >= lo) & (ein[1:] <= hi)
    np.testing.assert_allclose(
        (f[:, inside] * np.diff(eout)[inside]).sum(1),
        (flux[:, sel] * np.diff(ein)[sel]).sum(1),
        rtol=2e-3,  # the ends of the covered range differ by at most one partial pixel
    )
    # a masked pixel's flux value has no influence at all
    ivar2 = ivar.copy()
    ivar2[:, 1000] = 0
    flux2 = flux.copy()
    flux2[:, 1000] = 1e6
    fa, iva = resample(wave, flux, ivar2, out)
    fb, _ivb = resample(wave, flux2, ivar2, out)
    np.testing.assert_array_equal(fa, fb)
    assert np.all(np.isfinite(fb)) and (iva <= np.asarray(resample(wave, flux, ivar, out)[1])).all()


def test_identity_on_the_same_grid():
    out = grid_wavelength()
    flux = np.random.default_rng(1).normal(5, 1, (3, out.size))
    f, iv = resample(out, flux, np.full_like(flux, 3.0), out)
    np.testing.assert_allclose(f, flux, rtol=1e-10)
    np.testing.assert_allclose(iv, 3.0, rtol=1e-10)
