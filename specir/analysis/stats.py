"""Bias, NMAD and χ²_N of predictions, with bootstrap errors.

The definitions are those of :mod:`specir.evaluate`: residual r = prediction − reference,
``bias`` its median, ``nmad`` = 1.4826 × median |r − median r|, ``chi2_n`` the mean of
(r / σ)² with σ the predicted error (and the reference's error in quadrature where it has one).
"""

import numpy as np

__all__ = ["STATISTICS", "bootstrap_stats", "residual_drivers", "residual_stats"]

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


def residual_drivers(resid, errors, *, n_boot=1000, seed=0):
    """Least-squares split of residuals into parameter errors and what remains without them.

    Fits ``resid = intercept + Σ_k slope_k × errors[k]`` over the rows where everything is
    finite. ``intercept`` is the mean residual expected were every parameter at its truth;
    ``explained`` the fraction of the residuals' variance the parameter errors account for.
    Errors (``*_err``) are bootstrap standard deviations over ``n_boot`` row resamples.

    Parameters
    ----------
    resid : array-like, shape (n,)
        Prediction minus truth of one quantity (e.g. a band's magnitude).
    errors : dict of str to array-like, shape (n,)
        Fitted minus true value of each parameter.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> dav = rng.normal(0.02, 0.05, 300)
    >>> d = residual_drivers(-1.0 * dav + rng.normal(0, 0.01, 300), {"av": dav})
    >>> abs(d["intercept"]) < 3 * d["intercept_err"], abs(d["slopes"]["av"] + 1) < 0.1
    (True, True)
    """
    names = list(errors)
    y = np.asarray(resid, float)
    columns = [np.asarray(errors[k], float) for k in names]
    bad = [k for k, c in zip(names, columns, strict=True) if c.shape != y.shape]
    if y.ndim != 1 or bad:
        from specir.errors import SpecIRInputError

        raise SpecIRInputError(
            f"errors[{bad[0]!r}]" if bad else "resid",
            f"is not a 1-d array of the residuals' shape {y.shape}",
            "give one value per residual",
        )
    x = np.column_stack([np.ones_like(y), *columns])
    ok = np.isfinite(y) & np.all(np.isfinite(x), axis=1)
    y, x = y[ok], x[ok]
    out = {"n": int(ok.sum()), "intercept": float("nan"), "intercept_err": float("nan")}
    out |= {"explained": float("nan"), "slopes": {k: float("nan") for k in names}}
    out["slopes_err"] = dict(out["slopes"])
    if len(y) <= x.shape[1]:
        return out
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    idx = np.random.default_rng(seed).integers(0, len(y), size=(int(n_boot), len(y)))
    boot = np.array([np.linalg.lstsq(x[i], y[i], rcond=None)[0] for i in idx])
    err = boot.std(axis=0)
    out.update(intercept=float(coef[0]), intercept_err=float(err[0]))
    out["explained"] = float(1.0 - np.var(y - x @ coef) / np.var(y)) if np.var(y) > 0 else 0.0
    out["slopes"] = {k: float(v) for k, v in zip(names, coef[1:], strict=True)}
    out["slopes_err"] = {k: float(v) for k, v in zip(names, err[1:], strict=True)}
    return out
