"""The training support of a bundle's inputs, and what happens to a row outside it.

A network answers confidently wherever it is asked, also for spectra unlike any it learnt
from. Besides the distance of the latent summary from the training latents (:mod:`specir.card`),
a bundle therefore records the range its training set covered in five input quantities
(:func:`support_from`):

``z``
    the redshift;
``abs_mag``
    the reference magnitude minus the distance modulus, r_ref − 5 log10(D_L / 10 pc): the
    galaxy's luminosity as the network sees it (r_ref is the total r magnitude, else the
    spectrum's own; :meth:`specir.model.SpecIRNet.reference_mag`);
``log_norm``
    log10 of the spectrum's normalisation (its brightness through the fibre);
``coverage``
    the fraction of the model grid's pixels with data (lower bound only);
``snr``
    the median per-pixel S/N of the spectrum (lower bound only).

The bounds are the ``percentiles`` of the training split (for ``z`` its full range, a design
choice of the survey), widened for ``coverage`` and ``snr`` to what the training augmentation
(:mod:`specir.augment`) produced. :func:`outside_support`
says which rows leave them; ``predict_ir`` flags those rows ``OUT_OF_DISTRIBUTION`` and
widens their σ by :func:`widen_sigma`: σ² + σ_prior², with σ_prior the training set's spread
of each band's colour W − r_ref, i.e. the error bar of a prediction that knows nothing beyond
the population.

Examples
--------
>>> stats = {"z": np.array([0.05, 0.9]), "abs_mag": np.array([-20.0, -20.0])}
>>> sup = {"z": [0.01, 0.35], "abs_mag": [-23.0, -16.0]}
>>> outside_support(sup, stats).tolist()
[False, True]
"""

import functools

import numpy as np

from specir.grid import NORM_WINDOW, grid_wavelength

__all__ = [
    "input_statistics",
    "measure_support",
    "median_snr",
    "outside_support",
    "support_from",
    "widen_sigma",
]

LOWER_ONLY = ("coverage", "snr")
"""Quantities whose support has only a lower bound (more data is never out of support)."""


def median_snr(flux, ivar) -> np.ndarray:
    """Median per-pixel S/N of each spectrum over its valid pixels (NaN when it has none).

    Examples
    --------
    >>> median_snr(np.array([[1.0, 2.0, 0.0]]), np.array([[4.0, 1.0, 0.0]])).tolist()
    [2.0]
    """
    import warnings

    flux, ivar = np.asarray(flux, float), np.asarray(ivar, float)
    snr = np.where(ivar > 0, np.abs(flux) * np.sqrt(np.clip(ivar, 0, None)), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows without valid pixels: NaN
        return np.nanmedian(snr, axis=1)


@functools.cache
def _distmod_table():
    from astropy.cosmology import FlatLambdaCDM

    zt = np.geomspace(1e-4, 2.0, 4000)  # flat LCDM, H0 = 70, Om0 = 0.3 (as the simulator)
    return zt, FlatLambdaCDM(H0=70.0, Om0=0.3).distmod(zt).value


def _distance_modulus(z):
    zt, mu = _distmod_table()
    return np.interp(np.clip(np.asarray(z, float), zt[0], zt[-1]), zt, mu)


def input_statistics(z, norm, r_mag, valid, snr, *, ap_mean) -> dict:
    """Per row, the five quantities of the module docstring.

    ``ap_mean`` is the training set's mean aperture term (the model's ``cond_shift[-1]``),
    used for r_ref where ``r_mag`` is NaN; ``snr`` is the median S/N per valid pixel.
    """
    norm = np.asarray(norm, float)
    lognorm = np.log10(np.clip(norm, 1e-30, None))
    r = np.asarray(r_mag, float)
    ref = np.where(np.isfinite(r), r, ap_mean - 2.5 * lognorm)
    return {
        "z": np.asarray(z, float),
        "abs_mag": ref - _distance_modulus(z),
        "log_norm": lognorm,
        "coverage": np.asarray(valid, bool).mean(axis=1),
        "snr": np.asarray(snr, float),
    }


def support_from(stats: dict, *, percentiles=(0.1, 99.9), narrowest=None, noise_max=0.0):
    """Support bounds ``{name: [low, high]}`` of training-split statistics.

    ``narrowest`` is the rest-frame range (Å) of the most severe cut the augmentation makes
    and ``noise_max`` its largest added noise (in units of the normalisation): the coverage
    and S/N bounds then cover the augmented spectra as well.
    """
    lo_p, hi_p = percentiles
    out = {}
    for name, x in stats.items():
        x = x[np.isfinite(x)]
        # the redshift range is a design choice of the survey: all of it counts as support
        lo, hi = (0.0, 100.0) if name == "z" else (lo_p, hi_p)
        out[name] = [float(np.percentile(x, lo)), float(np.percentile(x, hi))]
    for name in LOWER_ONLY:
        out[name][1] = None  # no upper bound (JSON has no infinity)
    if narrowest is not None:
        lam = grid_wavelength()
        width = np.log(narrowest[1] / narrowest[0]) / np.log(lam[-1] / lam[0])
        out["coverage"][0] = min(out["coverage"][0], float(width))
    if noise_max > 0:
        low = out["snr"][0]
        out["snr"][0] = float(1.0 / np.sqrt(1.0 / low**2 + noise_max**2))
    return out


def outside_support(support: dict, stats: dict) -> np.ndarray:
    """True for rows outside the support in any recorded quantity (NaN counts as outside)."""
    n = len(next(iter(stats.values())))
    out = np.zeros(n, bool)
    for name, (lo, hi) in support.items():
        if name not in stats:
            continue
        hi = np.inf if hi is None else hi
        x = np.asarray(stats[name], float)
        with np.errstate(invalid="ignore"):
            out |= ~((x >= lo) & (x <= hi))
    return out


def widen_sigma(sigma, prior_sigma, rows):
    """σ of ``rows`` replaced by sqrt(σ² + σ_prior²) (per band); other rows unchanged.

    Examples
    --------
    >>> widen_sigma(np.array([[0.3, 0.1]]), [0.4, 0.2], np.array([True])).round(3).tolist()
    [[0.5, 0.224]]
    """
    sigma = np.array(sigma, dtype=float, copy=True)
    prior = np.asarray(prior_sigma, float)
    sigma[rows] = np.sqrt(sigma[rows] ** 2 + prior**2)
    return sigma


def norm_window_covered(valid, z) -> np.ndarray:
    """Whether each spectrum has data in the normalisation window (rest frame)."""
    rest = grid_wavelength()[None, :] / (1.0 + np.asarray(z, float))[:, None]
    inside = (rest >= NORM_WINDOW[0]) & (rest <= NORM_WINDOW[1])
    return (np.asarray(valid, bool) & inside).any(axis=1)


def measure_support(model, data: dict, rows: np.ndarray, augment=None) -> dict:
    """The ``support`` entry of a model card, from the training rows of ``data``.

    ``data`` may hold ``detected`` (rows × bands, the WISE detections); the prior widths are
    measured on those.

    ``augment`` (an :class:`~specir.augment.AugmentConfig`) widens the coverage and S/N
    bounds to what the augmentation produced. Also records ``prior_sigma_mag``, the training
    set's spread (NMAD) per band of W − r_ref, which :func:`widen_sigma` adds.
    """
    ap_mean = float(model.cond_shift[-1]) if model.config.total_mag_input else 0.0
    stats = input_statistics(
        data["z"][rows],
        data["norm"][rows],
        data["r_mag"][rows],
        data["valid"][rows],
        data["spec_snr"][rows],
        ap_mean=ap_mean,
    )
    use = augment is not None and augment.probability > 0
    bounds = support_from(
        stats,
        narrowest=(augment.blue_cut_aa[1], augment.red_cut_aa[0]) if use else None,
        noise_max=augment.noise[1] if use else 0.0,
    )
    ref = stats["abs_mag"] + _distance_modulus(stats["z"])
    detected = data["detected"][rows] if "detected" in data else np.isfinite(data["mag"][rows])
    colour = np.where(detected, data["mag"][rows], np.nan) - ref[:, None]
    med = np.nanmedian(colour, axis=0)
    prior = 1.4826 * np.nanmedian(np.abs(colour - med), axis=0)
    return {
        "bounds": bounds,
        "percentiles": [0.1, 99.9],
        "prior_sigma_mag": [float(v) for v in prior],
        "treatment": "OUT_OF_DISTRIBUTION; sigma -> sqrt(sigma^2 + prior_sigma_mag^2)",
    }
