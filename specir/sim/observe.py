"""Observe a model SED as SDSS (fibre spectrum) and WISE (AllWISE-style photometry) would.

Sources and numbers are documented in ``docs/simulation.rst``.
"""

import functools

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import gammainc

from specir.bands import BAND_NAMES, mjy_to_mag
from specir.constants import C_KMS
from specir.grid import GRID_NPIX, grid_wavelength
from specir.resample import resample
from specir.sim.cosmo import angular_diameter_distance_mpc
from specir.sim.sed import air_to_vacuum

__all__ = [
    "fiber_fraction",
    "observe_spectrum",
    "observe_wise",
    "rebin",
    "sky_spectrum",
    "throughput",
]

_ARCSEC_PER_RAD = 206264.806


def rebin(wave, flam):
    """Mean f_λ of a finely sampled SED in each pixel of the model grid.

    Flux-conserving: :func:`specir.resample.resample` (specutils' scheme) with the pixel
    edges :func:`specir.resample.edges_from_centres` gives the grid.
    """
    flux, _ = resample(wave, flam[None, :], np.ones((1, np.size(wave))), grid_wavelength())
    return flux[0]


def fiber_fraction(re_kpc, sersic, z, *, fiber_diameter=3.0, seeing_fwhm=1.5):
    """Fraction of a Sérsic galaxy's light inside the SDSS fibre.

    The half-light radius in arcsec (angular-diameter distance) is broadened by the seeing in
    quadrature (a Gaussian PSF's half-light radius is FWHM/2), and the enclosed light of a
    Sérsic profile is ``P(2n, b_n (r/R_e)^(1/n))`` (Graham & Driver 2005).

    Examples
    --------
    >>> f = fiber_fraction([3.0, 3.0], [1.0, 1.0], [0.03, 0.3])
    >>> bool(f[0] < f[1])
    True
    """
    re_kpc, sersic, z = (np.asarray(a, float) for a in (re_kpc, sersic, z))
    re_arcsec = re_kpc / (angular_diameter_distance_mpc(z) * 1e3) * _ARCSEC_PER_RAD
    re_eff = np.hypot(re_arcsec, 0.5 * seeing_fwhm)
    b = 2.0 * sersic - 1.0 / 3.0 + 0.009876 / sersic
    return gammainc(2.0 * sersic, b * (0.5 * fiber_diameter / re_eff) ** (1.0 / sersic))


# Bright night-sky lines (air Å) and peak heights (1e-17 erg/s/cm²/Å per pixel in a fibre):
# Hg street lights, [O I], Na D and a representative subset of the OH Meinel bands
# (Osterbrock et al. 1996).
_SKY_LINES = (
    (4046.6, 15),
    (4358.3, 40),
    (5460.7, 45),
    (5577.3, 400),
    (5889.95, 60),
    (5895.9, 50),
    (6300.3, 150),
    (6363.8, 50),
    (6863.9, 60),
    (6923.2, 50),
    (7276.4, 60),
    (7316.3, 120),
    (7340.9, 120),
    (7369.2, 90),
    (7401.7, 80),
    (7524.1, 80),
    (7571.7, 90),
    (7750.6, 120),
    (7794.1, 130),
    (7821.5, 110),
    (7853.3, 100),
    (7913.7, 120),
    (7964.7, 170),
    (7993.3, 170),
    (8344.6, 260),
    (8399.2, 220),
    (8430.2, 220),
    (8465.4, 200),
    (8504.6, 160),
    (8761.3, 120),
    (8827.1, 280),
    (8886.0, 240),
    (8919.6, 200),
    (8943.4, 210),
    (8958.1, 240),
    (8988.4, 210),
    (9001.0, 260),
    (9038.0, 150),
    (9097.3, 140),
    (9203.0, 120),
    (9313.9, 300),
)


@functools.cache
def sky_spectrum():
    """Model sky flux in a fibre on the grid: (continuum, lines), 1e-17 erg/s/cm²/Å."""
    w = grid_wavelength()
    cont = 4.0 * (w / 5000.0) ** 1.2
    lines = np.zeros_like(w)
    for lam, peak in _SKY_LINES:
        c = float(air_to_vacuum(lam))
        sig = c / 2000.0 / 2.3548
        lines += peak * np.exp(-0.5 * ((w - c) / sig) ** 2)
    return cont, lines


@functools.cache
def throughput():
    """Relative SDSS system throughput on the grid (peak 1; dichroic dip near 6000 Å)."""
    w = grid_wavelength()
    t = np.exp(-0.5 * (np.log(w / 6200.0) / 0.38) ** 2)
    return t * (1.0 - 0.4 * np.exp(-0.5 * ((w - 5980.0) / 60.0) ** 2))


def _noise_scale(cfg):
    """k in var = k (f + sky) / T, calibrated so fibre g = 20.2 gives the configured S/N."""
    w = grid_wavelength()
    i = int(np.argmin(np.abs(w - 4700.0)))
    f = 3631e-23 * 10.0 ** (-0.4 * 20.2) * 2.99792458e18 / w[i] ** 2 * 1e17
    cont, _ = sky_spectrum()
    return f**2 * throughput()[i] / (cfg.snr_at_fiber_g20**2 * (f + cont[i]))


def observe_spectrum(
    wave_obs, flam_gal, flam_lines, sigma_kms, dlnlam, spec_slice, fiber_frac, rng, cfg
):
    """SDSS-like fibre spectrum on the model grid.

    Parameters
    ----------
    wave_obs : ndarray
        Observed wavelengths (Å) of the SED samples.
    flam_gal : ndarray
        Galaxy f_λ (erg/s/cm²/Å), convolved here with ``sigma_kms`` (stellar velocity
        dispersion and instrument in quadrature) over the uniformly log-sampled ``spec_slice``.
    flam_lines : ndarray
        Already-broadened additions (AGN lines and continuum), f_λ.
    fiber_frac : float
        Fraction of the total light inside the fibre.

    Returns
    -------
    flux, ivar : ndarray of float32 (3921,)
    mask : ndarray of bool (3921,)
    """
    s = spec_slice
    w = wave_obs[s]
    f = gaussian_filter1d(flam_gal[s], sigma_kms / C_KMS / dlnlam, mode="nearest")
    f = f + flam_lines[s]
    model = rebin(w, f) * 1e17 * fiber_frac
    grid = grid_wavelength()
    x = (grid - 6500.0) / 2800.0
    a1, a2 = cfg.calibration_error * rng.standard_normal(2)
    model *= np.exp(a1 * x + a2 * (x**2 - 1.0 / 3.0))

    cont, lines = sky_spectrum()
    k = _noise_scale(cfg) * 10.0 ** (-cfg.exposure_scatter * rng.standard_normal())
    t = throughput()
    var = k * (np.clip(model, 0.0, None) + cont + lines) / t + (0.02 * lines) ** 2
    flux = model + np.sqrt(var) * rng.standard_normal(GRID_NPIX)

    mask = (grid < 3800.0) | (grid > 9200.0)
    mask |= rng.random(GRID_NPIX) < cfg.bad_pixel_fraction
    if rng.random() < cfg.bad_column_probability:
        start = int(rng.integers(0, GRID_NPIX - 30))
        mask[start : start + int(rng.integers(5, 31))] = True
    if rng.random() < 0.2:  # occasional masked residual of the 5577 Å sky line
        mask |= np.abs(grid - 5578.9) < 4.0
    ivar = np.where(mask, 0.0, 1.0 / var)
    return flux.astype(np.float32), ivar.astype(np.float32), mask


def observe_wise(flux_true, rng, cfg):
    """AllWISE-style profile-fit photometry of true W1–W4 fluxes (mJy, shape (n, 4)).

    Returns a dict of ``wNmpro``, ``wNsigmpro``, ``wNsnr`` arrays. A band with S/N < 2 reports
    the 95% upper limit (flux + 2σ, as a magnitude) in ``wNmpro`` and NaN in ``wNsigmpro``.
    """
    flux_true = np.atleast_2d(np.asarray(flux_true, float))
    n = flux_true.shape[0]
    depth = 10.0 ** (cfg.depth_scatter * rng.standard_normal((n, 1)))
    sigma = np.hypot(np.asarray(cfg.sigma_mjy)[None, :] * depth, cfg.calibration_error * flux_true)
    obs = flux_true + sigma * rng.standard_normal(flux_true.shape)
    snr = obs / sigma
    detected = snr >= 2.0
    mag_det, err_det = mjy_to_mag(np.where(detected, obs, 1.0), sigma)
    mag_ul = mjy_to_mag(np.clip(obs, 0.0, None) + 2.0 * sigma)
    mpro = np.where(detected, mag_det, mag_ul)
    sig = np.where(detected, err_det, np.nan)
    out = {}
    for i, band in enumerate(BAND_NAMES):
        out[f"{band}mpro"] = mpro[:, i]
        out[f"{band}sigmpro"] = sig[:, i]
        out[f"{band}snr"] = snr[:, i]
    return out
