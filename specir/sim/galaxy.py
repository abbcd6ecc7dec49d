"""One simulated galaxy: its SED modelled and observed (:func:`model_photometry`).

A process builds one bagpipes model (:class:`specir.sim.sed.GalaxySED`) on first use and
reuses it for every galaxy.
"""

import numpy as np

from specir.constants import C_KMS
from specir.errors import SpecIRInputError
from specir.sim.agn import agn_optical, torus
from specir.sim.cosmo import luminosity_distance_cm
from specir.sim.observe import observe_spectrum
from specir.sim.photometry import BAND_ORDER, band_fluxes_mjy

__all__ = ["DEFAULT_GALAXY", "model_photometry", "observe_galaxy"]

_SED = None  # one bagpipes model per process


def _sed():
    global _SED
    if _SED is None:
        from specir.sim.sed import GalaxySED

        _SED = GalaxySED()
    return _SED


def observe_galaxy(params, sed, rng, config):
    """Model and observe one galaxy; ``None`` when it fails the main-sample cut."""
    z = float(params["z"])
    flam_gal, truth = sed.compute(params)
    wave_obs = sed.wave_rest * (1.0 + z)
    inst_sigma = C_KMS / config.sdss.resolution / 2.3548
    if params["agn_type"] > 0:
        dfac = 1.0 / (4.0 * np.pi * luminosity_distance_cm(z) ** 2 * (1.0 + z))
        flam_agn = agn_optical(sed.wave_rest, params, instrument_sigma_kms=inst_sigma) * dfac
        flam_torus = torus(sed.wave_rest, params) * dfac
    else:
        flam_agn = flam_torus = np.zeros_like(flam_gal)
    fnu = band_fluxes_mjy(wave_obs, flam_gal + flam_agn + flam_torus)
    share = 0.0  # the AGN's largest share of a WISE band's light
    if params["agn_type"] > 0:
        fnu_agn = band_fluxes_mjy(wave_obs, flam_agn + flam_torus)[5:]
        share = float(np.max(fnu_agn / np.clip(fnu[5:], 1e-300, None)))
    modelmag = -2.5 * np.log10(np.clip(fnu[:5], 1e-30, None) / 3631e3)
    if not modelmag[2] < config.sdss.r_limit:
        return None
    sigma = float(np.hypot(params["veldisp"], inst_sigma))
    flux, ivar, mask = observe_spectrum(
        wave_obs,
        flam_gal,
        flam_agn,
        sigma,
        sed.dlnlam,
        sed.spec_slice,
        float(params["fiber_frac"]),
        rng,
        config.sdss,
    )
    row = {f"modelmag_{b}": modelmag[i] for i, b in enumerate(BAND_ORDER[:5])}
    row.update({f"{b}_flux_true": fnu[5 + i] for i, b in enumerate(BAND_ORDER[5:])})
    row.update(log_mstar_true=truth["log_mstar"], log_sfr_true=truth["log_sfr"])
    row["agn_ir_share_true"] = share
    return row, flux, ivar, mask


DEFAULT_GALAXY = {
    "z": 0.1,
    "age": 8.0,
    "tau": 2.0,
    "log_massformed": 10.7,
    "z_star": 1.0,
    "z_gas": 1.0,
    "av": 0.5,
    "eta": 2.0,
    "qpah": 2.5,
    "umin": 1.0,
    "gamma": 0.01,
    "log_u": -3.0,
    "veldisp": 120.0,
    "fiber_frac": 0.4,
    "agn_type": 0,
    "log_lagn": np.nan,
    "log_mbh": 7.5,
    "log_oiii": 41.0,
    "t_hot": 1200.0,
    "t_warm": 250.0,
    "f_hot": 0.15,
    "f_warm": 0.25,
    "oiii_hb": 10.0,
    "nii_ha": 1.0,
    "oii_oiii": 0.3,
    "sii_ha": 0.4,
    "oi_ha": 0.1,
    "nlr_sigma": 200.0,
    "av_lines": 1.0,
    "agb_ratio": 0.65,
    "av_hot": 25.0,
}
"""Parameters of one reference galaxy (a main-sequence disc at z = 0.1, log M* ≈ 10.45,
SFR ≈ 2 Msun/yr) for :func:`model_photometry`; the keys are those drawn by
:mod:`specir.sim.population`."""


def model_photometry(**params):
    """Noise-free photometry of one galaxy at fixed parameters (no sample cut).

    Keyword arguments override :data:`DEFAULT_GALAXY`; ``log_oiii`` follows ``log_lagn`` via
    L_bol = 3500 L[O III] unless given.

    Returns
    -------
    dict
        ``modelmag_u``...``modelmag_z`` (AB), ``w1_flux_true``...``w4_flux_true`` (mJy),
        ``w1_mag``...``w4_mag`` (Vega), ``log_mstar``, ``log_sfr``.

    Examples
    --------
    >>> ph = model_photometry(qpah=4.0)
    >>> ph["w2_mag"] - ph["w3_mag"] > 2
    True
    """
    from specir.bands import mjy_to_mag

    p = {**DEFAULT_GALAXY, **params}
    if "log_oiii" not in params and np.isfinite(p["log_lagn"]):
        p["log_oiii"] = p["log_lagn"] - np.log10(3500.0)
    unknown = set(params) - set(DEFAULT_GALAXY)
    if unknown:
        raise SpecIRInputError(
            sorted(unknown)[0], "is not a galaxy parameter", f"use one of {sorted(DEFAULT_GALAXY)}"
        )
    try:
        av_hot = float(p["av_hot"])
    except (TypeError, ValueError):
        av_hot = -1.0  # not a number: refused below
    if not (np.isnan(av_hot) or 0.0 <= av_hot < np.inf):  # NaN: the "fraction" view
        raise SpecIRInputError(
            "av_hot", f"is {p['av_hot']!r}", "give a finite A_V >= 0 mag, or NaN for a fixed share"
        )
    sed = _sed()
    z = float(p["z"])
    flam, truth = sed.compute(p)
    if p["agn_type"] > 0:
        dfac = 1.0 / (4.0 * np.pi * luminosity_distance_cm(z) ** 2 * (1.0 + z))
        flam = flam + (agn_optical(sed.wave_rest, p) + torus(sed.wave_rest, p)) * dfac
    fnu = band_fluxes_mjy(sed.wave_rest * (1.0 + z), flam)
    out = {f"modelmag_{b}": -2.5 * np.log10(fnu[i] / 3631e3) for i, b in enumerate(BAND_ORDER[:5])}
    mags = mjy_to_mag(fnu[5:])
    for i, b in enumerate(BAND_ORDER[5:]):
        out[f"{b}_flux_true"] = fnu[5 + i]
        out[f"{b}_mag"] = float(mags[i])
    out.update(log_mstar=truth["log_mstar"], log_sfr=truth["log_sfr"])
    return out
