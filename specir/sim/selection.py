"""The observable volume of a flux-limited sample: an approximate r magnitude and z_max.

:func:`draw_population` needs, for each (mass, type), the highest redshift at which a galaxy
could still pass the main-sample cut r < 17.77, before any SED is modelled. It uses a
mass-to-light ratio, a k-correction slope and a residual correction fitted to the bagpipes
models of the population (:func:`fit_rmag_estimate`), plus a margin; the exact cut is applied
afterwards to each galaxy's modelled magnitude, so the margin only has to be wide enough that
no galaxy that would pass is left out of the volume.
"""

import logging

import numpy as np

from specir.errors import SpecIRInputError
from specir.sim.cosmo import luminosity_distance_cm

__all__ = ["estimate_rmag", "fit_rmag_estimate", "zmax_estimate"]

logger = logging.getLogger(__name__)

MSUN_R_AB = 4.65
"""Absolute AB magnitude of the Sun in SDSS r (Willmer 2018, ApJS 236, 47)."""
LOG_ML_R = {False: -0.25, True: 0.25}
"""Approximate r-band log M*/L of star-forming (False) and quiescent (True) galaxies."""
KCORR_SLOPE = {False: 0.6, True: 2.0}
"""Approximate r-band k-correction per unit redshift."""
RMAG_CORRECTION = {False: (0.884, -1.838, 0.65), True: (0.276, -1.683, 0.179)}
"""(offset, z slope, slope in log M* - 10) added to the estimate, by type: the least-squares
fit of :func:`fit_rmag_estimate` (600 galaxies of the default configuration, seed 5)."""
RMAG_MARGIN = {False: 0.74, True: 0.39}
"""Magnitudes by which the estimate may exceed the limit: the 99th percentile of
estimate - modelled r in the same fit."""


def _uncorrected(logm, z, q):
    log_ml = np.where(q, LOG_ML_R[True], LOG_ML_R[False])
    kslope = np.where(q, KCORR_SLOPE[True], KCORR_SLOPE[False])
    absmag = MSUN_R_AB - 2.5 * (logm - log_ml)
    dm = 5.0 * np.log10(luminosity_distance_cm(z) / 3.0856775814913673e19)
    return absmag + dm + kslope * z


def estimate_rmag(logm, z, quiescent):
    """Approximate r-band AB magnitude used to bound the observable volume (not the final cut).

    Examples
    --------
    >>> bool(17.0 < estimate_rmag(10.5, 0.1, False) < 18.5)
    True
    """
    q = np.asarray(quiescent, bool)
    logm, z = np.asarray(logm, float), np.asarray(z, float)
    corr = np.zeros(np.broadcast(logm, z, q).shape)
    for flag in (False, True):
        a, b, c = RMAG_CORRECTION[flag]
        corr = np.where(q == flag, a + b * z + c * (logm - 10.0), corr)
    return _uncorrected(logm, z, q) + corr


def zmax_estimate(logm, quiescent, r_limit, z_range):
    """Highest redshift in ``z_range`` at which the estimate is within the margin of the limit."""
    zg = np.linspace(z_range[0], z_range[1], 400)
    out = np.empty(np.shape(logm))
    for q in (False, True):
        sel = np.asarray(quiescent) == q
        if not np.any(sel):
            continue
        m = estimate_rmag(np.asarray(logm)[sel, None], zg[None, :], np.full((1, zg.size), q))
        ok = m < r_limit + RMAG_MARGIN[q]
        last = np.where(ok.any(axis=1), ok.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1), -1)
        out[sel] = np.where(last >= 0, zg[np.maximum(last, 0)], z_range[0])
    return out


def modelled_rmag(pop):
    """bagpipes r-band model magnitudes (AB, no noise, no cut) of a drawn population."""
    from specir.sim.galaxy import DEFAULT_GALAXY, model_photometry

    keys = [k for k in DEFAULT_GALAXY if k in pop]
    n = np.size(pop["z"])
    return np.array(
        [model_photometry(**{k: pop[k][i] for k in keys})["modelmag_r"] for i in range(n)]
    )


def fit_rmag_estimate(pop):
    """Fit :data:`RMAG_CORRECTION` and :data:`RMAG_MARGIN` to modelled galaxies.

    Models the r magnitudes of a drawn population (``draw_population``; the stored values
    come from 600 galaxies of the default :class:`~specir.sim.config.SimConfig`, seed 5) with
    bagpipes and fits, per type, the residual of the uncorrected estimate as
    ``a + b z + c (log M* - 10)``::

        pop = draw_population(600, np.random.default_rng(5), SimConfig())
        fit_rmag_estimate(pop)

    Returns
    -------
    dict
        ``{"correction": {False: (a, b, c), True: ...}, "margin": {False: m, True: m}}``.
    """
    q = np.asarray(pop["quiescent"], bool)
    if min(q.sum(), (~q).sum()) < 10:
        raise SpecIRInputError(
            "pop", "holds fewer than 10 galaxies of one type", "draw a larger population"
        )
    r = modelled_rmag(pop)
    logm, z = pop["log_mstar_target"], pop["z"]
    resid = r - _uncorrected(logm, z, q)
    out = {"correction": {}, "margin": {}}
    for flag in (False, True):
        s = q == flag
        design = np.c_[np.ones(s.sum()), z[s], logm[s] - 10.0]
        coef = np.linalg.lstsq(design, resid[s], rcond=None)[0]
        over = design @ coef - resid[s]
        out["correction"][flag] = tuple(round(float(c), 3) for c in coef)
        out["margin"][flag] = round(float(np.percentile(over, 99)), 2)
        logger.info("type %s: %s, margin %.2f mag", flag, coef, out["margin"][flag])
    return out
