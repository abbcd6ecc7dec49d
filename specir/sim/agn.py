"""AGN emission: narrow and broad lines, accretion-disc continuum and an analytic torus.

All functions return rest-frame luminosity densities L_λ (erg/s/Å) on a given rest-frame
vacuum wavelength array, for one AGN described by the parameter dict drawn in
:mod:`specir.sim.population`. Sources for every number are in ``docs/simulation.rst``.
"""

import functools

import numpy as np

from specir.constants import C_KMS
from specir.sim.extinction import mir_extinction

__all__ = ["SPECIFIC_EDDINGTON", "agn_optical", "calzetti_k", "torus"]

SPECIFIC_EDDINGTON = 1.3e38 * 0.002
"""erg/s per solar mass of stars: the Eddington luminosity of a black hole of 0.002 M*, the
unit of the specific accretion rate λ_sBHAR = L_bol / (SPECIFIC_EDDINGTON M*) of Aird et al.
(2012, ApJ 746, 90)."""

_H, _C_CGS, _K = 6.62607015e-27, 2.99792458e10, 1.380649e-16

# narrow lines (vacuum Å) with their ratio to a reference line:
# (wavelength, reference, factor); references are derived per AGN below
_NARROW = (
    ("oiii_5008", 5008.24),
    ("oiii_4960", 4960.30),
    ("hb", 4862.69),
    ("hg", 4341.69),
    ("ha", 6564.61),
    ("nii_6585", 6585.27),
    ("nii_6550", 6549.86),
    ("oii_3727", 3727.09),
    ("oii_3730", 3729.88),
    ("neiii_3870", 3869.86),
    ("oi_6302", 6302.05),
    ("sii_6718", 6718.29),
    ("sii_6733", 6732.67),
)


def calzetti_k(wave):
    """Calzetti et al. (2000) k(λ) for rest wavelengths in Å (R_V = 4.05).

    Examples
    --------
    >>> round(float(calzetti_k(5500.0)), 2)
    4.05
    """
    x = 1e4 / np.asarray(wave, float)  # inverse micron
    blue = 2.659 * (-2.156 + 1.509 * x - 0.198 * x**2 + 0.011 * x**3) + 4.05
    red = 2.659 * (-1.857 + 1.040 * x) + 4.05
    return np.clip(np.where(x > 1.0 / 0.63, blue, red), 0.0, None)


def _narrow_luminosities(p):
    l5007 = 10.0 ** p["log_oiii"]
    hb = l5007 / p["oiii_hb"]
    ha = 3.1 * hb  # case-B-like Balmer decrement of AGN narrow-line regions
    oii = l5007 * p["oii_oiii"]
    sii = ha * p["sii_ha"]
    return {
        "oiii_5008": l5007,
        "oiii_4960": l5007 / 2.98,
        "hb": hb,
        "hg": 0.468 * hb,
        "ha": ha,
        "nii_6585": ha * p["nii_ha"],
        "nii_6550": ha * p["nii_ha"] / 3.05,
        "oii_3727": oii * 0.45,
        "oii_3730": oii * 0.55,
        "neiii_3870": 0.1 * l5007,
        "oi_6302": ha * p["oi_ha"],
        "sii_6718": 0.5 * sii,
        "sii_6733": 0.5 * sii,
    }


def _gauss_lines(wave, centres, lums, sigma_kms):
    out = np.zeros_like(wave)
    for c, lum in zip(centres, lums, strict=True):
        sig = c * sigma_kms / C_KMS
        lo, hi = np.searchsorted(wave, [c - 6 * sig, c + 6 * sig])
        if hi <= lo:
            continue
        w = wave[lo:hi]
        out[lo:hi] += lum * np.exp(-0.5 * ((w - c) / sig) ** 2) / (np.sqrt(2 * np.pi) * sig)
    return out


def agn_optical(wave, p, *, instrument_sigma_kms=0.0):
    """Optical/UV AGN emission (L_λ, erg/s/Å) at rest vacuum wavelengths ``wave``.

    Both types: narrow lines with Seyfert-like ratios scaled by L[O III] (drawn from L_bol via
    Heckman et al. 2004 with scatter), attenuated by the host's A_V (Calzetti). Type 1 adds
    the accretion-disc continuum (λL_λ(5100 Å) = L_bol / 9.26; f_ν ∝ ν^-0.44 below 1 µm,
    Vanden Berk et al. 2001; Rayleigh-Jeans beyond) and broad Hα, Hβ, Hγ (Greene & Ho 2005).
    Lines are broadened by ``instrument_sigma_kms`` in quadrature.
    """
    wave = np.asarray(wave, float)
    if p["agn_type"] == 0:
        return np.zeros_like(wave)
    lums = _narrow_luminosities(p)
    centres = np.array([c for _, c in _NARROW])
    lum = np.array([lums[name] for name, _ in _NARROW])
    lum *= 10.0 ** (-0.4 * p["av_lines"] * calzetti_k(centres) / 4.05)
    sig = np.hypot(p["nlr_sigma"], instrument_sigma_kms)
    out = _gauss_lines(wave, centres, lum, sig)
    if p["agn_type"] == 1:
        lbol = 10.0 ** p["log_lagn"]
        l5100 = lbol / 9.26  # λL_λ at 5100 Å (Richards et al. 2006 bolometric correction)
        cont = l5100 / 5100.0 * (wave / 5100.0) ** -1.56
        red = wave > 1e4
        cont[red] = l5100 / 5100.0 * (1e4 / 5100.0) ** -1.56 * (wave[red] / 1e4) ** -4.0
        out += cont
        l_ha = 5.25e42 * (l5100 / 1e44) ** 1.157  # Greene & Ho (2005), eq. 1
        # FWHM from the virial mass estimator (Greene & Ho 2005, eq. 6) and log M_BH
        fwhm = 1e3 * (10.0 ** p["log_mbh"] / 2.0e6 / (l_ha / 1e42) ** 0.55) ** (1.0 / 2.06)
        fwhm = float(np.clip(fwhm, 1200.0, 12000.0))
        bsig = np.hypot(fwhm / 2.3548, instrument_sigma_kms)
        out += _gauss_lines(
            wave, [6564.61, 4862.69, 4341.69], [l_ha, l_ha / 3.06, l_ha / 3.06 * 0.468], bsig
        )
    return out


def _greybody(wave, temp, beta):
    lam_cm = wave * 1e-8
    x = _H * _C_CGS / (lam_cm * _K * temp)
    with np.errstate(over="ignore"):
        bl = lam_cm**-5 / np.expm1(np.minimum(x, 700.0))
    return bl * (1e4 / wave) ** beta  # emissivity ∝ ν^β, referenced to 1 µm


def _clumpy_temperatures(y, q, n=24):
    """Temperatures and luminosity weights of a clumpy torus's clouds.

    Clouds from the sublimation radius R_in (T = 1500 K, Nenkova et al. 2008a) to Y R_in, their
    number per unit radius ∝ r^-q (Nenkova et al. 2008b: q = 1-2). Each radius absorbs a share
    of the central light ∝ its clouds, N(r) dr, and re-emits it at the temperature of dust
    heated by the central source, T ∝ r^(-1/2.8) (Barvainis 1987, ApJ 320, 537).

    Examples
    --------
    >>> t, w = _clumpy_temperatures(10.0, 1.0)
    >>> int(t[0]), int(round(t[-1])), round(float(w.sum()), 6)
    (1500, 659, 1.0)
    """
    x = np.geomspace(1.0, y, n)
    weight = x ** (1.0 - q)  # N(r) dr per d ln r
    return 1500.0 * x ** (-1.0 / 2.8), weight / weight.sum()


@functools.lru_cache(maxsize=4)
def _extinction(wave_key):
    """A_λ/A_V on a wavelength array (its bytes), computed once per model sampling; the curve
    is held at its 1 µm value below 1 µm, where the dust emits nothing."""
    return mir_extinction(np.maximum(np.frombuffer(wave_key, dtype=float), 1e4))


def _outer_share(weights):
    """Share of a clumpy torus's clouds (along an equatorial ray) outside each shell: the part
    of the full column that lies in front of that shell for a type 2 observer (half of the
    shell's own clouds counted as in front).

    Examples
    --------
    >>> [round(float(x), 3) for x in _outer_share(np.array([0.5, 0.25, 0.25]))]
    [0.75, 0.375, 0.125]
    """
    return 1.0 - np.cumsum(weights) + 0.5 * weights


def torus(wave, p):
    """Analytic torus L_λ (erg/s/Å): hot (T≈1000–1400 K, blackbody) plus warm (T≈200–300 K,
    β = 1.5) dust, each normalised to a fraction of L_bol (covering factors; Mor & Netzer 2012),
    plus, where ``p["f_torus"] > 0``, a clumpy torus whose clouds span 1500 K down to
    1500 K × Y^(-1/2.8) (:func:`_clumpy_temperatures`, blackbodies: optically thick clouds).

    These are the spectra of unobscured (type 1) AGN. A type 2 is seen through its torus:
    with a finite ``p["av_hot"]`` its hot dust lies behind that A_V (mag) and each shell of the
    clumpy torus behind the share of it outside the shell (:func:`_outer_share`), with the
    Milky Way's infrared extinction curve (:func:`specir.sim.extinction.mir_extinction`); the
    warm dust, mostly outside the torus, is seen unobscured. With ``NaN`` (or no ``av_hot``) a
    type 2 keeps 60% of the hot component and all of the clumpy torus.
    """
    wave = np.asarray(wave, float)
    if p["agn_type"] == 0:
        return np.zeros_like(wave)
    lbol = 10.0 ** p["log_lagn"]
    av_hot = float(p.get("av_hot", np.nan)) if p["agn_type"] == 2 else 0.0
    screen = not np.isnan(av_hot)  # only NaN means the fixed-share view
    hot_share = 1.0 if screen else 0.6  # a type 1 has av_hot 0: all of it, unextinguished
    # (temperature, β, share of L_bol, A_V in front of it)
    parts = [(p["t_hot"], 0.0, p["f_hot"] * hot_share, av_hot if screen else 0.0)]
    parts.append((p["t_warm"], 1.5, p["f_warm"], 0.0))
    if p.get("f_torus", 0.0) > 0.0:
        temps, weights = _clumpy_temperatures(p["torus_y"], p["torus_q"])
        front = _outer_share(weights) * (av_hot if screen else 0.0)
        parts += [
            (t, 0.0, p["f_torus"] * w, a) for t, w, a in zip(temps, weights, front, strict=True)
        ]
    fine = np.geomspace(3e3, 3e7, 3000)
    extinction = _extinction(np.ascontiguousarray(wave).tobytes())
    out = np.zeros_like(wave)
    for temp, beta, frac, av in parts:
        norm = np.trapezoid(_greybody(fine, temp, beta), fine)
        seen = 10.0 ** (-0.4 * av * extinction) if av > 0.0 else 1.0
        out += frac * lbol * _greybody(wave, temp, beta) / norm * seen
    return out
