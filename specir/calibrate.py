"""Calibration on the validation split: one σ factor and one 68 % interval factor per band.

A network trained by maximum likelihood can end with error bars that are too narrow or too
wide overall. :func:`calibrate_sigma` finds, per band, a factor s for σ_pred and stores log s
in the network's ``mag_logsig_calib`` buffer, so that the saved weights carry it. Two methods
(:data:`METHODS`):

``"likelihood"``
    s maximises the training likelihood itself (:func:`specir.likelihood.mag_nll`: detections,
    faint detections and non-detections in flux) summed over *every* validation galaxy
    (golden-section search on log s, :func:`likelihood_sigma_factor`). No selection on the
    WISE measurement enters, so σ describes the galaxies as drawn, faint ones included.
``"detections"`` (the default)
    s makes the mean of (pred − obs)² / ((s σ_pred)² + σ_obs²) one on the validation
    detections (bisection on log s, which the mean decreases with monotonically;
    :func:`sigma_factor`). Faint detections are galaxies that noise scattered up, so a
    prediction that is right for the galaxy misses them and s comes out too large for the
    faint bands (W3, W4). It is the default because it makes χ²_N one on what a user can check,
    the WISE detections; on the shipped bundle, whose network is trained by the same
    likelihood, the two methods give nearly the same factors (``docs/training.rst``).

With σ so scaled, the normalised residuals χ of real spectra are heavy-tailed (the AGN that
a spectrum cannot reveal, ``chi2_n_at_68`` in :mod:`specir.scoring`): ±1 σ then covers more
than 68 % of galaxies. The central 68 % predictive interval is therefore reported separately,
as ±k σ with k the 68.27th percentile of ``abs(χ)`` on the same validation detections
(:func:`interval_factor`): split conformal prediction with normalised residuals as scores
(Papadopoulos et al. 2002; Lei et al. 2018, JASA 113, 1094), which gives the interval its
coverage on galaxies drawn like the validation split whatever the residuals' shape. σ stays
the predictive standard deviation (χ²_N = 1); k ≤ 1 where the tails are heavy.
"""

import math

import numpy as np

from specir.bands import BAND_NAMES
from specir.config import check_choice
from specir.dataset import targets_from
from specir.scoring import COVERAGE_1SIGMA, network_predictions

__all__ = [
    "METHODS",
    "calibrate_sigma",
    "interval_factor",
    "likelihood_sigma_factor",
    "sigma_factor",
]

METHODS = ("likelihood", "detections")
"""The σ-calibration methods of :func:`calibrate_sigma` (see the module docstring)."""
_LOG_S_RANGE = (math.log(0.25), math.log(4.0))


def sigma_factor(resid, sig_pred, sig_obs, *, lo=0.25, hi=4.0, steps=40) -> float:
    """The factor s (within ``lo``–``hi``) with mean r² / ((s σ_p)² + σ_o²) = 1.

    Examples
    --------
    >>> r = np.array([2.0, -2.0])
    >>> round(sigma_factor(r, np.ones(2), np.zeros(2)), 3)
    2.0
    """
    r2, sp2, so2 = resid**2, sig_pred**2, sig_obs**2
    a, b = np.log(lo), np.log(hi)
    for _ in range(steps):
        m = 0.5 * (a + b)
        if np.mean(r2 / (np.exp(2 * m) * sp2 + so2)) > 1.0:
            a = m
        else:
            b = m
    return float(np.exp(0.5 * (a + b)))


def likelihood_sigma_factor(nll_of_log_s, n_bands, *, tol=1e-4) -> np.ndarray:
    """Per band, the factor s (0.25–4) minimising ``nll_of_log_s(log_s)``.

    ``nll_of_log_s`` maps a tensor of ``n_bands`` values of log s to the summed negative
    log-likelihood of each band (the bands are independent); golden-section search on each.

    Examples
    --------
    >>> import torch
    >>> r = torch.tensor([[2.0, 0.5], [-2.0, -0.5]])   # residuals, sigma_pred = 1
    >>> nll = lambda ls: (ls + 0.5 * r**2 / torch.exp(2 * ls)).sum(0)
    >>> [round(float(v), 3) for v in likelihood_sigma_factor(nll, 2)]
    [2.0, 0.5]
    """
    import torch

    g = (math.sqrt(5.0) - 1.0) / 2.0
    a = torch.full((n_bands,), _LOG_S_RANGE[0], dtype=torch.float64)
    b = torch.full((n_bands,), _LOG_S_RANGE[1], dtype=torch.float64)
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = nll_of_log_s(c), nll_of_log_s(d)
    while float((b - a).max()) > tol:
        left = fc < fd  # the minimum lies in [a, d]: d becomes the new upper end
        a, b = torch.where(left, a, c), torch.where(left, d, b)
        keep, fkeep = torch.where(left, c, d), torch.where(left, fc, fd)
        new = torch.where(left, b - g * (b - a), a + g * (b - a))
        fnew = nll_of_log_s(new)
        c, fc = torch.where(left, new, keep), torch.where(left, fnew, fkeep)
        d, fd = torch.where(left, keep, new), torch.where(left, fkeep, fnew)
    return torch.exp(0.5 * (a + b)).numpy()


def interval_factor(chi) -> float:
    """The half-width k, in units of σ, of the central 68.27 % interval of residuals ``chi``.

    The finite-sample conformal quantile: the ⌈(n + 1) q⌉-th smallest abs(χ) (q = 0.6827), so
    that the interval covers a new galaxy drawn like these with probability at least q.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> round(interval_factor(rng.normal(0, 1, 100000)), 2)  # Gaussian: ±1 σ
    1.0
    >>> t = rng.standard_t(4, 100000) / np.sqrt(2)  # unit variance, heavy tails
    >>> round(interval_factor(t), 2)
    0.81
    """
    a = np.sort(np.abs(np.asarray(chi, float)[np.isfinite(chi)]))
    if not len(a):
        return float("nan")
    rank = min(len(a), int(np.ceil((len(a) + 1) * COVERAGE_1SIGMA)))
    return float(a[rank - 1])


def _likelihood_factors(pred, data, rows, snr_detect, loss):
    """σ factors of :func:`likelihood_sigma_factor` from the validation predictions."""
    import torch

    from specir.likelihood import mag_nll

    detected, upper = (m[rows] for m in targets_from(data, snr_detect=snr_detect))
    finite = np.isfinite(pred["mag_mu"]) & np.isfinite(pred["mag_sig"]) & (pred["mag_sig"] > 0)
    detected, upper = detected & finite, upper & finite  # a NaN prediction: left out, not NaN
    batch = {
        k: torch.as_tensor(np.asarray(data[k][rows], float)) for k in ("mag", "mag_err", "snr")
    }
    batch.update(detected=torch.as_tensor(detected), upper=torch.as_tensor(upper))
    mu = torch.as_tensor(np.asarray(pred["mag_mu"], float))
    logsig = torch.log(torch.as_tensor(np.asarray(pred["mag_sig"], float)))

    def nll(log_s):
        return mag_nll(mu, logsig + log_s, batch, **(loss or {})).sum(0)

    factors = likelihood_sigma_factor(nll, len(BAND_NAMES))
    # a band without a single WISE measurement has nothing to calibrate on: factor 1
    return np.where((detected | upper).any(axis=0), factors, 1.0).tolist()


def calibrate_sigma(
    model,
    data: dict,
    rows: np.ndarray,
    *,
    snr_detect: float = 2.0,
    method: str = "detections",
    loss: dict | None = None,
) -> dict:
    """Fit and set the per-band σ factors on rows ``rows`` by ``method`` (:data:`METHODS`),
    then fit the 68 % interval factors (:func:`interval_factor`) of the calibrated σ on the
    detections; the ``calibration`` card entry. ``loss`` holds the likelihood's options
    (:func:`specir.likelihood.loss_options`) for the ``"likelihood"`` method."""
    import torch

    check_choice("calibration", method, METHODS)
    model.mag_logsig_calib.zero_()
    pred = network_predictions(model, data, rows)
    det = targets_from(data, snr_detect=snr_detect)[0][rows]
    det &= np.isfinite(pred["mag_mu"]) & np.isfinite(pred["mag_sig"])  # NaN: left out
    resid = pred["mag_mu"] - data["mag"][rows]
    sig_obs = data["mag_err"][rows]
    if method == "likelihood":
        factors = _likelihood_factors(pred, data, rows, snr_detect, loss)
    else:
        factors = [
            sigma_factor(resid[d, i], pred["mag_sig"][d, i], sig_obs[d, i]) if d.any() else 1.0
            for i, d in enumerate(det.T)
        ]
    half = [
        interval_factor(
            resid[det[:, i], i] / np.hypot(f * pred["mag_sig"][det[:, i], i], sig_obs[det[:, i], i])
        )
        for i, f in enumerate(factors)
    ]
    model.mag_logsig_calib.copy_(torch.log(torch.tensor(factors, dtype=torch.float32)))
    how = {
        "likelihood": "per band, the factor maximising the training likelihood (detections, and "
        "faint detections and non-detections in flux) over every validation galaxy",
        "detections": "per band, mean chi^2 = 1 on the validation detections",
    }[method]
    return {
        "mag_sigma_factor": dict(zip(BAND_NAMES, factors, strict=True)),
        "interval68_factor": dict(zip(BAND_NAMES, half, strict=True)),
        "measured_on": f"validation split ({len(rows)} rows)",
        "calibration": method,
        "method": f"{how}; the 68% interval is +-k sigma, k the conformal 68.27th percentile of "
        "|chi| on the validation detections",
    }
