"""Draw the physical properties of a flux-limited galaxy population.

Each relation and its literature source is listed in ``docs/simulation.rst``. All draws are
vectorised and use only the :class:`numpy.random.Generator` passed in, so a seed fixes them.
"""

import numpy as np

from specir.sim.agn import SPECIFIC_EDDINGTON
from specir.sim.cosmo import age_gyr, comoving_volume
from specir.sim.selection import zmax_estimate
from specir.sim.sfh import solve_delayed_tau

__all__ = [
    "age_support",
    "draw_population",
    "dust_emission",
    "qpah_relation",
]

# Baldry et al. (2012) double-Schechter stellar mass function (GAMA, z < 0.06).
_SMF_LOGMSTAR, _SMF_PHI1, _SMF_A1, _SMF_PHI2, _SMF_A2 = 10.66, 3.96e-3, -0.35, 0.79e-3, -1.47
_QPAH_POOR_RATIO = 1.0 / 3.55  # Draine et al. (2007): median q_PAH 1.0% vs 3.55%


STAR_FORMING_AGE_FRACTION = (0.35, 0.95)
"""Age (time since the onset of star formation) of star-forming galaxies, as a fraction of the
age of the universe at their redshift (uniform)."""
QUIESCENT_QUENCHED_GYR = (0.3, 3.0)
"""Quiescent galaxies' age is the age of the universe less this (Gyr, uniform): they formed
early."""
MIN_AGE_GYR = 1.0
"""No galaxy's stars are younger than this (Gyr)."""
LATEST_ONSET_GYR = 0.05
"""Star formation began at least this long (Gyr) before the galaxy is observed."""


def age_support(z):
    """(lowest, highest) age in Gyr that :func:`draw_population` gives a galaxy at ``z``.

    Examples
    --------
    >>> lo, hi = age_support(0.1)
    >>> bool(1.0 <= lo < hi < float(age_gyr(0.1)))
    True
    """
    t = float(age_gyr(z))
    lo = min(STAR_FORMING_AGE_FRACTION[0] * t, t - QUIESCENT_QUENCHED_GYR[1])
    hi = max(STAR_FORMING_AGE_FRACTION[1] * t, t - QUIESCENT_QUENCHED_GYR[0])
    return max(MIN_AGE_GYR, lo), min(t - LATEST_ONSET_GYR, hi)


_MS_ANCHOR_AGE = float(age_gyr(0.05))  # Gyr; the median redshift of Renzini & Peng (2015)


def _smf(logm):
    x = 10.0 ** (logm - _SMF_LOGMSTAR)
    return np.log(10.0) * np.exp(-x) * x * (_SMF_PHI1 * x**_SMF_A1 + _SMF_PHI2 * x**_SMF_A2)


def quiescent_fraction(logm, config):
    """Fraction of quiescent galaxies at stellar mass ``logm`` (logistic, Peng et al. 2010)."""
    return 1.0 / (1.0 + np.exp(-(logm - config.quiescent_mass) / config.quiescent_width))


def _speagle(logm, t):
    return (0.84 - 0.026 * t) * logm - (6.51 - 0.11 * t)


def _main_sequence(logm, z):
    """Star-forming main sequence, log SFR in Msun/yr.

    At the SDSS main sample's redshifts that of Renzini & Peng (2015, ApJ 801, L29),
    log SFR = 0.76 log M* - 7.64, measured on SDSS DR7 itself (0.02 < z < 0.085); its evolution
    with cosmic time t that of Speagle et al. (2014, ApJS 214, 15), anchored at z = 0.05.
    """
    t = age_gyr(z)
    return 0.76 * logm - 7.64 + _speagle(logm, t) - _speagle(logm, _MS_ANCHOR_AGE)


def qpah_relation(oh, metal_rich):
    """q_PAH (%) at gas-phase 12 + log(O/H) (Tremonti et al. 2004 scale), before scatter.

    Draine et al. (2007, ApJ 663, 866) find q_PAH of metal-poor galaxies (below
    12 + log(O/H) ≈ 8.1) at 0.28 times that of metal-rich ones (medians 1.0% and 3.55%); the
    step is a logistic of width 0.08 dex. ``metal_rich`` sets the plateau
    (``population.qpah_metal_rich``; ``docs/simulation.rst`` derives its value).

    Examples
    --------
    >>> [round(float(q), 2) for q in qpah_relation(np.array([7.6, 8.9]), 2.1)]
    [0.59, 2.1]
    """
    step = 1.0 / (1.0 + np.exp(-(np.asarray(oh, float) - 8.15) / 0.08))
    return metal_rich * (_QPAH_POOR_RATIO + (1.0 - _QPAH_POOR_RATIO) * step)


def _attenuation(logm, log_sfr, z, quiescent, rng, cfg):
    """A_V of the diffuse ISM and the birth-cloud factor eta (Charlot & Fall 2000).

    Emission lines come from birth clouds and see the Balmer-decrement attenuation
    A_Hα(M*) of Garn & Best (2010), A_V,lines = A_Hα / 0.82 (Calzetti k ratio), raised with the
    offset from the main sequence. The diffuse ISM, which every star sees, holds a fraction
    ``mu`` of it (``population.ism_fraction``; Charlot & Fall 2000, da Cunha et al. 2008), so
    bagpipes' A_V = mu A_V,lines and eta = 1 / mu. Quiescent galaxies: A_V,lines ≈ 0.06 / mu.
    """
    n = np.size(logm)
    xg = np.clip(logm - 10.0, -1.5, 1.5)
    a_ha = 0.91 + 0.77 * xg + 0.11 * xg**2 - 0.09 * xg**3
    dms = log_sfr - _main_sequence(logm, z)
    av_lines = a_ha / 0.82 * 10.0 ** (0.25 * np.clip(dms, -1, 1))
    mu = cfg.ism_fraction
    av = np.where(quiescent, 0.06, mu * av_lines)
    av = np.clip(av * 10.0 ** (cfg.av_scatter * rng.standard_normal(n)), 0.0, 3.0)
    return av, np.full(n, 1.0 / mu)


def _mass_type_redshift(n, rng, config):
    """(log M*, quiescent, z) of a flux-limited sample: Phi(M, type) V_max(M, type), dV/dz."""
    pop_cfg = config.population
    z_lo, z_hi = pop_cfg.z_range
    mgrid = np.arange(pop_cfg.log_mstar_range[0], pop_cfg.log_mstar_range[1], 0.01) + 0.005
    weights = []
    for q in (False, True):
        fq = quiescent_fraction(mgrid, pop_cfg)
        phi = _smf(mgrid) * (fq if q else 1.0 - fq)
        zmax = zmax_estimate(mgrid, np.full(mgrid.size, q), config.sdss.r_limit, (z_lo, z_hi))
        vmax = np.clip(comoving_volume(zmax) - comoving_volume(z_lo), 0.0, None)
        weights.append(phi * vmax)
    w = np.concatenate(weights)
    cdf = np.cumsum(w) / w.sum()
    k = np.searchsorted(cdf, rng.random(n))
    quiescent = k >= mgrid.size
    logm = mgrid[k % mgrid.size] + rng.uniform(-0.005, 0.005, n)
    zmax = zmax_estimate(logm, quiescent, config.sdss.r_limit, (z_lo, z_hi))
    v = comoving_volume(z_lo) + rng.random(n) * (comoving_volume(zmax) - comoving_volume(z_lo))
    zg = np.linspace(z_lo, z_hi, 2000)
    return logm, quiescent, np.interp(v, comoving_volume(zg), zg)


def _star_formation(logm, z, quiescent, rng, cfg):
    """Main sequence (or quiescent sSFR ~ 1e-12/yr) and the age of a delayed-tau SFH.

    τ and the formed mass are solved for afterwards (:func:`specir.sim.sfh.solve_delayed_tau`),
    once the stellar metallicity that sets the mass lost by stellar evolution is drawn.
    """
    n = np.size(logm)
    log_sfr = np.where(
        quiescent,
        logm - 12.0 + 0.4 * rng.standard_normal(n),
        _main_sequence(logm, z) + cfg.ms_scatter * rng.standard_normal(n),
    )
    log_ssfr = np.clip(log_sfr - logm, -13.5, -8.8)
    t_univ = age_gyr(z)
    age = np.where(
        quiescent,
        t_univ - rng.uniform(*QUIESCENT_QUENCHED_GYR, n),
        t_univ * rng.uniform(*STAR_FORMING_AGE_FRACTION, n),
    )
    return {"age": np.clip(age, MIN_AGE_GYR, t_univ - LATEST_ONSET_GYR)}, log_ssfr


def _metallicity(logm, rng, cfg):
    """Tremonti et al. (2004) gas 12 + log(O/H); Gallazzi et al. (2005)-like stellar Z/Z_sun."""
    n = np.size(logm)
    xm = np.clip(logm, 8.5, 11.5)
    oh = -1.492 + 1.847 * xm - 0.08026 * xm**2 + cfg.mz_scatter * rng.standard_normal(n)
    z_star = 10.0 ** (-0.25 + 0.35 * np.tanh((logm - 10.0) / 0.8) + 0.15 * rng.standard_normal(n))
    return {"oh": oh, "z_gas": 10.0 ** (oh - 8.69), "z_star": np.clip(z_star, 0.02, 2.4)}


def dust_emission(oh, log_ssfr, rng, cfg):
    """Draine & Li (2007) parameters and the nebular log U.

    q_PAH follows metallicity (:func:`qpah_relation`), U_min follows sSFR (Magdis et al. 2012:
    <U> ~ sSFR), gamma is small and rises with sSFR.
    """
    n = np.size(oh)
    qpah = qpah_relation(oh, cfg.qpah_metal_rich)
    qpah = np.clip(qpah + cfg.qpah_scatter * rng.standard_normal(n), 0.47, 4.58)
    log_umin = 0.2 + 0.7 * (log_ssfr + 10.0) + cfg.umin_scatter * rng.standard_normal(n)
    gamma = 10.0 ** (-1.8 + 0.3 * (log_ssfr + 10.0) + 0.3 * rng.standard_normal(n))
    log_u = -3.1 + 0.3 * (log_ssfr + 10.0) + 0.25 * rng.standard_normal(n)
    return {
        "qpah": qpah,
        "umin": np.clip(10.0**log_umin, 0.1, 25.0),
        "gamma": np.clip(gamma, 1e-3, 0.5),
        "log_u": np.clip(log_u, -4.0, -1.5),
    }


def _structure(logm, quiescent, rng):
    """sigma ~ M^0.3 (Zahid et al. 2016); R_e(M) of Shen et al. (2003); Sersic n 1 or 4."""
    n = np.size(logm)
    veldisp = 10.0 ** (
        2.05 + 0.3 * (logm - 10.5) - np.where(quiescent, 0.0, 0.1) + 0.07 * rng.standard_normal(n)
    )
    mlin = 10.0**logm
    re_late = 0.1 * mlin**0.14 * (1.0 + mlin / 3.98e10) ** (0.39 - 0.14)
    re_early = 2.88e-6 * mlin**0.56
    re_kpc = np.where(quiescent, np.maximum(re_early, 0.5 * re_late), re_late)
    re_kpc *= 10.0 ** (np.where(quiescent, 0.13, 0.2) * rng.standard_normal(n))
    return {
        "veldisp": np.clip(veldisp, 30.0, 400.0),
        "re_kpc": re_kpc,
        "sersic": np.where(quiescent, 4.0, 1.0),
    }


def draw_population(n, rng, config):
    """Draw ``n`` galaxies (before the exact r < 17.77 cut) as a dict of arrays.

    Masses and types follow the stellar mass function weighted by each galaxy's observable
    volume V_max (a flux-limited sample); redshifts follow dV/dz inside that volume.
    """
    pop_cfg = config.population
    logm, quiescent, z = _mass_type_redshift(n, rng, config)
    sfh, log_ssfr = _star_formation(logm, z, quiescent, rng, pop_cfg)
    metals = _metallicity(logm, rng, pop_cfg)
    # no random draws: the SFH whose surviving mass and 100 Myr sSFR are the drawn ones
    sfh["tau"], sfh["log_massformed"], log_ssfr = solve_delayed_tau(
        logm, log_ssfr, sfh["age"], metals["z_star"]
    )
    sfh["log_sfr_target"] = logm + log_ssfr
    av, eta = _attenuation(logm, sfh["log_sfr_target"], z, quiescent, rng, pop_cfg)
    dust = dust_emission(metals["oh"], log_ssfr, rng, pop_cfg)
    structure = _structure(logm, quiescent, rng)
    agn = _draw_agn(n, rng, logm, quiescent, config.agn)
    ra, dec = _footprint(n, rng, pop_cfg.sky_patch)
    agb_ratio = rng.uniform(*pop_cfg.agb_ratio_range, n)  # drawn last: earlier draws unchanged
    agn.update(_draw_clumpy_torus(n, rng, config.agn))  # after it: the same holds for these
    agn.update(_draw_type2_extinction(n, rng, config.agn))  # and after those, for these
    return {
        "ra": ra,
        "dec": dec,
        "z": z,
        "quiescent": quiescent,
        "log_mstar_target": logm,
        **sfh,
        **metals,
        "av": av,
        "eta": eta,
        **dust,
        **structure,
        **agn,
        "agb_ratio": agb_ratio,
    }


def _draw_agn(n, rng, logm, quiescent, cfg):
    specific = cfg.incidence == "specific"
    if specific:
        frac = cfg.fraction_at_1e11 * np.where(quiescent, cfg.quiescent_incidence, 1.0)
    else:
        frac = cfg.fraction_at_1e11 * 10.0 ** (cfg.fraction_slope * (logm - 11.0))
    has = rng.random(n) < np.clip(frac, 0, 1)
    # black-hole mass from the bulge (Haring & Rix 2004), Eddington ratio from a power law
    bulge = np.where(quiescent, 0.8, 0.3)
    log_mbh = 8.2 + 1.12 * (logm + np.log10(bulge) - 11.0) + 0.3 * rng.standard_normal(n)
    lo, hi = cfg.log_edd_range
    a = cfg.edd_slope * np.log(10.0)
    u = rng.random(n)
    if abs(a) < 1e-9:
        log_edd = lo + u * (hi - lo)
    else:
        log_edd = np.log(np.exp(a * lo) + u * (np.exp(a * hi) - np.exp(a * lo))) / a
    if specific:  # the drawn ratio is the specific accretion rate
        log_lbol = logm + np.log10(SPECIFIC_EDDINGTON) + log_edd
    else:
        log_lbol = log_mbh + np.log10(1.26e38) + log_edd
    l0 = 44.0 + 0.7 * np.log(1.0 / max(cfg.type1_fraction_at_1e44, 1e-6) - 1.0 + 1e-12)
    p1 = 1.0 / (1.0 + np.exp(-(log_lbol - l0) / 0.7))
    agn_type = np.where(has, np.where(rng.random(n) < p1, 1, 2), 0)
    return {
        "agn_type": agn_type.astype(np.int8),
        "log_lagn": np.where(has, log_lbol, np.nan),
        "log_mbh": log_mbh,
        "log_oiii": log_lbol - np.log10(3500.0) + cfg.oiii_bol_scatter * rng.standard_normal(n),
        "t_hot": rng.uniform(1000.0, 1400.0, n),
        "t_warm": rng.uniform(200.0, 300.0, n),
        "f_hot": cfg.torus_hot_fraction * 10.0 ** (0.15 * rng.standard_normal(n)),
        "f_warm": cfg.torus_warm_fraction * 10.0 ** (0.15 * rng.standard_normal(n)),
        "oiii_hb": 10.0 ** (0.95 + 0.15 * rng.standard_normal(n)),
        "nii_ha": 10.0 ** (0.0 + 0.15 * rng.standard_normal(n)),
        "oii_oiii": 10.0 ** (-0.5 + 0.2 * rng.standard_normal(n)),
        "sii_ha": 10.0 ** (-0.4 + 0.15 * rng.standard_normal(n)),
        "oi_ha": 10.0 ** (-1.0 + 0.2 * rng.standard_normal(n)),
        "nlr_sigma": 10.0 ** (2.3 + 0.12 * rng.standard_normal(n)),
    }


def _draw_clumpy_torus(n, rng, cfg):
    """The clumpy torus (``torus = "clumpy"``): its share of L_bol, outer-to-inner radius Y
    and the power q of the clouds' radial distribution (Nenkova et al. 2008b); none drawn,
    and a share of 0, for the two-temperature torus."""
    if cfg.torus != "clumpy":
        return {"f_torus": np.zeros(n), "torus_y": np.full(n, 10.0), "torus_q": np.ones(n)}
    return {
        "f_torus": cfg.torus_clumpy_fraction * 10.0 ** (0.15 * rng.standard_normal(n)),
        "torus_y": 10.0 ** rng.uniform(np.log10(5.0), np.log10(30.0), n),
        "torus_q": rng.uniform(1.0, 2.0, n),
    }


def _draw_type2_extinction(n, rng, cfg):
    """A_V towards the hot dust of a type 2 AGN (``type2_view = "extinction"``), drawn
    uniformly in ``type2_av_hot_range`` for every galaxy (used only where the AGN is of type
    2). NaN, and no draw, for ``"fraction"`` (a type 2 keeps a fixed share of its hot dust)."""
    if cfg.type2_view != "extinction":
        return {"av_hot": np.full(n, np.nan)}
    return {"av_hot": rng.uniform(*cfg.type2_av_hot_range, n)}


def _footprint(n, rng, patch=()):
    """Random positions in an SDSS-Legacy-like footprint: the northern cap plus Stripe 82.

    With ``patch = (ra_min, ra_max, dec_min, dec_max)``: uniform on that patch instead.
    """
    if patch:
        ra = rng.uniform(patch[0], patch[1], n)
        sin_dec = rng.uniform(np.sin(np.radians(patch[2])), np.sin(np.radians(patch[3])), n)
        return ra, np.degrees(np.arcsin(sin_dec))
    north = rng.random(n) < 0.9
    ra = np.empty(n)
    sin_dec = np.empty(n)
    nn = int(north.sum())
    ra[north] = rng.uniform(120.0, 250.0, nn)
    sin_dec[north] = rng.uniform(np.sin(np.radians(-3.0)), np.sin(np.radians(65.0)), nn)
    ns = n - nn
    ra[~north] = np.mod(rng.uniform(-50.0, 60.0, ns), 360.0)
    sin_dec[~north] = rng.uniform(np.sin(np.radians(-1.25)), np.sin(np.radians(1.25)), ns)
    return ra, np.degrees(np.arcsin(sin_dec))
