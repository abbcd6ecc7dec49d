"""Synthetic WISE photometry: the W4 response of Brown, Jarrett & Cluver (2014)."""

import numpy as np
import pytest

pytest.importorskip("speclite")

from specir.sim.photometry import BAND_ORDER, W4_STRETCH, _curves, band_fluxes_mjy


def _mean_wavelength(wave, resp):
    return np.trapezoid(wave * resp, wave) / np.trapezoid(resp, wave)


def test_w4_curve_is_stretched_to_22_8_micron_and_w3_is_not():
    import speclite.filters

    curves = dict(zip(BAND_ORDER, _curves(), strict=True))
    for band, stretch in (("w3", 1.0), ("w4", 22.8 / 22.1)):
        orig = speclite.filters.load_filter(f"wise2010-{band.upper()}")
        w0 = np.asarray(orig.wavelength, float)
        w0 = w0 * 1e4 if w0.max() < 100 else w0
        ratio = _mean_wavelength(*curves[band]) / _mean_wavelength(w0, orig.response)
        assert ratio == pytest.approx(stretch, rel=1e-6)
    assert W4_STRETCH == pytest.approx(1.0317, abs=1e-4)


def test_w4_of_a_rising_spectrum_is_brighter_through_the_redder_response():
    import speclite.filters

    # dust continuum rising to the red (f_nu ~ lambda^3) against a flat f_nu source
    w = np.geomspace(2e3, 4e5, 60000)
    c = 2.99792458e18
    fnu_red = 1e-26 * (w / 2.2e5) ** 3
    flat = band_fluxes_mjy(w, 1e-26 * c / w**2)[-1]
    red = band_fluxes_mjy(w, fnu_red * c / w**2)[-1]
    orig = speclite.filters.load_filter("wise2010-W4")
    w0 = np.asarray(orig.wavelength, float)
    w0 = w0 * 1e4 if w0.max() < 100 else w0
    r0 = np.interp(w, w0, orig.response, left=0, right=0)
    red_2010 = np.trapezoid(fnu_red * r0 / w, w) / np.trapezoid(r0 / w, w) * 1e26
    assert flat == pytest.approx(1.0, rel=1e-3)
    # (22.8 / 22.1)^3 = 1.098: the stretched band sees ~10% more of a lambda^3 continuum
    assert red / red_2010 == pytest.approx(W4_STRETCH**3, rel=0.01)
