"""Bias, NMAD and χ²_N of predictions, with bootstrap errors.

The definitions are those of :mod:`specir.evaluate`: residual r = prediction − reference,
``bias`` its median, ``nmad`` = 1.4826 × median |r − median r|, ``chi2_n`` the mean of
(r / σ)² with σ the predicted error (and the reference's error in quadrature where it has one).
"""

import numpy as np

__all__ = ["STATISTICS", "bootstrap_stats", "residual_stats"]

STATISTICS = ("bias", "nmad", "chi2_n")
"""The statistics :func:`residual_stats` returns, in table order."""


def _stats(r, chi):
    med = np.median(r, axis=-1)
    nmad = 1.4826 * np.median(np.abs(r - med[..., None]), axis=-1)
    return med, nmad, np.mean(chi**2, axis=-1)


def _chi(r, sigma, ref_err):
    """Residuals in units of the total error; a zero error gives an infinite χ (and χ²_N)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return r / np.hypot(sigma, ref_err)


def residual_stats(pred, sigma, ref, ref_err=0.0):
    """Bias, NMAD and χ²_N of ``pred`` ± ``sigma`` against ``ref`` (finite rows only).

    Examples
    --------
    >>> s = residual_stats(np.array([1.0, 2.0, 3.0]), np.ones(3), np.array([1.0, 1.0, 1.0]))
    >>> s["n"], s["bias"], s["chi2_n"]
    (3, 1.0, 1.6666666666666667)
    """
    pred, sigma, ref = (np.asarray(a, float) for a in (pred, sigma, ref))
    ref_err = np.broadcast_to(np.asarray(ref_err, float), ref.shape)
    ok = np.isfinite(pred) & np.isfinite(sigma) & np.isfinite(ref) & np.isfinite(ref_err)
    if not ok.any():
        return {"n": 0, **{k: float("nan") for k in STATISTICS}}
    r = pred[ok] - ref[ok]
    chi = _chi(r, sigma[ok], ref_err[ok])
    bias, nmad, chi2 = _stats(r, chi)
    return {"n": int(ok.sum()), "bias": float(bias), "nmad": float(nmad), "chi2_n": float(chi2)}


def bootstrap_stats(pred, sigma, ref, ref_err=0.0, *, n_boot=1000, seed=0):
    """:func:`residual_stats` plus bootstrap standard errors (``bias_err``, ...).

    Rows are resampled with replacement ``n_boot`` times; each error is the standard
    deviation of the statistic over the resamples.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> truth = rng.normal(size=400)
    >>> s = bootstrap_stats(truth + rng.normal(size=400), np.ones(400), truth)
    >>> abs(s["bias"]) < 3 * s["bias_err"], 0.8 < s["chi2_n"] < 1.2
    (True, True)
    """
    out = residual_stats(pred, sigma, ref, ref_err)
    if out["n"] < 2:
        return {**out, **{f"{k}_err": float("nan") for k in STATISTICS}}
    pred, sigma, ref = (np.asarray(a, float) for a in (pred, sigma, ref))
    ref_err = np.broadcast_to(np.asarray(ref_err, float), ref.shape)
    ok = np.isfinite(pred) & np.isfinite(sigma) & np.isfinite(ref) & np.isfinite(ref_err)
    r = pred[ok] - ref[ok]
    chi = _chi(r, sigma[ok], ref_err[ok])
    idx = np.random.default_rng(seed).integers(0, len(r), size=(int(n_boot), len(r)))
    with np.errstate(invalid="ignore"):  # an infinite χ² has no spread: its error is NaN
        boot = _stats(r[idx], chi[idx])
        for name, values in zip(STATISTICS, boot, strict=True):
            out[f"{name}_err"] = float(np.std(values))
    return out
