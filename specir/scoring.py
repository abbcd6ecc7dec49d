"""Scoring: how well Gaussian predictions match observed (and simulated true) WISE photometry.

Metrics, per band, over detections (``wNsnr >= snr_detect``), in Vega magnitudes:

- ``chi2_n`` = mean of (pred − obs)² / (σ_pred² + σ_obs²) (1 for calibrated errors), with
  ``chi2_n_err`` its standard error (the spread of χ² over √n) in :func:`gauss_stats`;
- ``coverage_68`` / ``coverage_95``: fraction with |pred − obs| ≤ 1 σ_tot / 1.96 σ_tot;
- ``coverage_68_interval``, for predictions with 68 % intervals (``mag_half68``, the
  bundle's calibrated ±k σ of :mod:`specir.calibrate`): fraction within k σ_tot;
- ``chi2_n_at_68``: the χ²_N the errors would have if one factor scaled them to exactly 68.27%
  coverage (mean χ² / q², q the 68.27th percentile of |χ|): 1 for Gaussian residuals. Where
  it lies outside 0.95–1.05 the residuals' shape (heavy tails), not the size of σ, keeps
  χ²_N and coverage from both reaching their Gaussian values;
- ``rms`` and ``nmad`` (1.4826 × median |r − median r|) of the residuals r = pred − obs, and of
  pred − true where the catalog holds ``wN_flux_true``;
- colour residuals W1−W2 and W2−W3 (rows detected in both bands);
- log L_AGN (true AGN only) and q_PAH: rms, nmad, 68% coverage; AGN-presence accuracy (and the
  share of visible AGN, the accuracy of always answering "none" being one minus it);
- on a simulated survey, the same band scores by AGN group (:func:`score_by_agn`).

``specir train`` scores its test split with :func:`metrics_for_split`, ``specir evaluate`` the
model and every baseline with :func:`score`, ``specir catalog validate`` a value-added catalog's
normalised residuals with :func:`chi_stats`.
"""

import numpy as np

from specir.bands import BAND_NAMES, mjy_to_mag
from specir.columns import AGN_THRESHOLD
from specir.dataset import targets_from
from specir.fitting import SPECTRUM_INPUTS
from specir.inference import gaussian_outputs, run_network

__all__ = [
    "chi_stats",
    "gauss_stats",
    "metrics_for_split",
    "network_predictions",
    "nmad",
    "normalised_residuals",
    "score",
    "score_by_agn",
]

Z_95 = 1.959964
"""Half-width of the central 95% interval of a unit Gaussian."""
COVERAGE_1SIGMA = 0.682689
"""Probability of a unit Gaussian within ±1."""


def nmad(r):
    """Normalised median absolute deviation of the finite values (NaN when there are none).

    Examples
    --------
    >>> nmad(np.array([-1.0, 0.0, 1.0, np.nan]))
    1.4826
    """
    r = r[np.isfinite(r)]
    return float(1.4826 * np.median(np.abs(r - np.median(r)))) if len(r) else float("nan")


def rms(r):
    """Root mean square of the finite values (NaN when there are none)."""
    r = r[np.isfinite(r)]
    return float(np.sqrt(np.mean(r**2))) if len(r) else float("nan")


def chi_stats(chi):
    """``n``, ``chi2_n``, ``coverage_68``, ``coverage_95`` and ``median_chi`` of residuals.

    Examples
    --------
    >>> s = chi_stats(np.array([1.0, -1.0, 3.0, np.nan]))
    >>> s["n"], s["chi2_n"], s["coverage_68"]
    (3, 3.6666666666666665, 0.6666666666666666)
    """
    chi = np.asarray(chi, dtype=np.float64)
    chi = chi[np.isfinite(chi)]
    if not len(chi):
        nan = float("nan")
        return {"n": 0, "chi2_n": nan, "coverage_68": nan, "coverage_95": nan, "median_chi": nan}
    return {
        "n": len(chi),
        "chi2_n": float(np.mean(chi**2)),
        "coverage_68": float(np.mean(np.abs(chi) <= 1.0)),
        "coverage_95": float(np.mean(np.abs(chi) <= Z_95)),
        "median_chi": float(np.median(chi)),
    }


def gauss_stats(pred, sig, obs, obs_err=0.0, *, half68=None):
    """Calibration and scatter of Gaussian predictions ``pred ± sig`` against ``obs ± obs_err``.

    ``half68``, the half-widths of the predicted central 68 % intervals, adds
    ``coverage_68_interval``: the fraction of residuals within ``k σ_tot``, k = half68 / sig.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> g = gauss_stats(rng.normal(0, 1, 20000), np.ones(20000), np.zeros(20000))
    >>> round(g["chi2_n"], 1), round(g["chi2_n_at_68"], 1)  # Gaussian: both 1
    (1.0, 1.0)
    >>> t = gauss_stats(rng.standard_t(4, 20000) / np.sqrt(2), np.ones(20000), np.zeros(20000))
    >>> round(t["chi2_n"], 1), t["coverage_68"] > 0.72, t["chi2_n_at_68"] > 1.2  # heavy tails
    (1.0, True, True)
    """
    tot = np.sqrt(sig**2 + np.asarray(obs_err, float) ** 2)
    # a zero total error cannot normalise a residual: such a row is left out
    ok = np.isfinite(pred) & np.isfinite(obs) & np.isfinite(sig) & (tot != 0)
    if not ok.any():
        return {"n": 0}
    r = pred[ok] - obs[ok]
    tot = tot[ok]
    chi = r / tot
    stats = chi_stats(chi)
    del stats["median_chi"]
    # standard error of the mean χ²: large where a few big residuals make the tails;
    # unknown from one residual
    c2 = chi[np.isfinite(chi)] ** 2
    stats["chi2_n_err"] = float(np.std(c2, ddof=1) / np.sqrt(len(c2))) if len(c2) > 1 else np.nan
    q = np.quantile(np.abs(chi), COVERAGE_1SIGMA)
    stats["chi2_n_at_68"] = float(stats["chi2_n"] / q**2) if q > 0 else float("nan")
    if half68 is not None:
        k = np.asarray(half68, np.float64)[ok] / sig[ok]
        stats["coverage_68_interval"] = float(np.mean(np.abs(chi) <= k))
    return {**stats, "bias": float(np.median(r)), "rms": rms(r), "nmad": nmad(r)}


def normalised_residuals(pred, data, idx, snr_detect):
    """Per band, (pred − obs) / σ_tot of the detections among rows ``idx``."""
    det = targets_from(data, snr_detect=snr_detect)[0][idx]
    r = (pred["mag_mu"] - data["mag"][idx]) / np.sqrt(
        pred["mag_sig"] ** 2 + data["mag_err"][idx] ** 2
    )
    return [r[det[:, i], i] for i in range(len(BAND_NAMES))]


def _band_scores(pred, data, idx, det):
    mag, err = data["mag"][idx], data["mag_err"][idx]
    mu, sig = pred["mag_mu"], pred["mag_sig"]
    true_mag = mjy_to_mag(data["flux_true"][idx])
    out = {}
    for i, b in enumerate(BAND_NAMES):
        d = det[:, i]
        half = pred["mag_half68"][d, i] if "mag_half68" in pred else None
        m = gauss_stats(mu[d, i], sig[d, i], mag[d, i], err[d, i], half68=half)
        t = np.isfinite(true_mag[:, i]) & np.isfinite(mu[:, i]) & np.isfinite(sig[:, i])
        if t.any():
            r_true = mu[t, i] - true_mag[t, i]
            m["vs_true"] = {
                "n": int(t.sum()),
                "bias": float(np.median(r_true)),
                "rms": rms(r_true),
                "nmad": nmad(r_true),
                "chi2_n": chi_stats(r_true / sig[t, i])["chi2_n"],
            }
        out[b] = m
    return out


def _colour_scores(pred, data, idx, det):
    mag, mu = data["mag"][idx], pred["mag_mu"]
    out = {}
    for i, j in ((0, 1), (1, 2)):
        both = det[:, i] & det[:, j]
        r = (mu[both, i] - mu[both, j]) - (mag[both, i] - mag[both, j])
        out[f"{BAND_NAMES[i]}_{BAND_NAMES[j]}"] = {
            "n": int(both.sum()),
            "bias": float(np.median(r)) if len(r) else float("nan"),
            "rms": rms(r),
            "nmad": nmad(r),
        }
    return out


def score(pred: dict, data: dict, idx: np.ndarray, *, snr_detect: float = 2.0) -> dict:
    """Metrics of predictions ``pred`` (as :func:`network_predictions` gives them) on rows ``idx``.

    ``data`` holds the arrays of :func:`specir.dataset.read_catalog_arrays`.
    """
    det = targets_from(data, snr_detect=snr_detect)[0][idx]
    out = {
        "bands": _band_scores(pred, data, idx, det),
        "colours": _colour_scores(pred, data, idx, det),
    }
    if "lagn_mu" in pred:
        agn = np.nan_to_num(data["agn_visible_true"][idx]) > 0
        truth = np.where(agn, data["log_lagn_true"][idx], np.nan)
        out["log_lagn"] = gauss_stats(pred["lagn_mu"], pred["lagn_sig"], truth)
        known = np.isfinite(data["agn_visible_true"][idx])
        if known.any() and "p_agn" in pred:
            out["agn_presence_accuracy"] = float(
                np.mean((pred["p_agn"][known] >= AGN_THRESHOLD) == agn[known])
            )
            out["agn_visible_fraction"] = float(np.mean(agn[known]))
    if "qpah_mu" in pred:
        out["q_pah"] = gauss_stats(pred["qpah_mu"], pred["qpah_sig"], data["q_pah_true"][idx])
    return out


def agn_groups(data: dict, idx: np.ndarray) -> dict | None:
    """Masks over rows ``idx``: no AGN, an AGN that is not visible, a visible AGN (simulated
    truths ``agn_type_true`` and ``agn_visible_true``); None where the catalog has neither.

    >>> data = {"agn_type_true": np.array([0.0, 2.0, 1.0, np.nan]),
    ...         "agn_visible_true": np.array([0.0, 0.0, 1.0, np.nan])}
    >>> {k: v.tolist() for k, v in agn_groups(data, np.arange(4)).items()}
    ... # doctest: +NORMALIZE_WHITESPACE
    {'no AGN': [True, False, False, False], 'AGN not visible': [False, True, False, False],
     'visible AGN': [False, False, True, False]}
    """
    if "agn_type_true" not in data:
        return None
    kind = np.asarray(data["agn_type_true"], float)[idx]
    if not np.isfinite(kind).any():
        return None
    visible = np.asarray(data.get("agn_visible_true", np.full(len(data["agn_type_true"]), np.nan)))
    visible = visible.astype(float)[idx]
    return {
        "no AGN": kind == 0,
        "AGN not visible": (kind > 0) & (visible == 0),
        "visible AGN": visible > 0,
    }


def score_by_agn(preds: dict, data: dict, idx: np.ndarray, *, snr_detect: float = 2.0):
    """Band scores of each method in ``preds`` over the WISE detections of each AGN group.

    ``preds`` maps method names to predictions over rows ``idx``; per group (:func:`agn_groups`)
    the result holds ``n`` and, per method and band, n, chi2_n, coverage_68, bias, nmad and
    median_sigma. None without simulated AGN truths.
    """
    groups = agn_groups(data, idx)
    if groups is None:
        return None
    det = targets_from(data, snr_detect=snr_detect)[0][idx]
    mag, err = data["mag"][idx], data["mag_err"][idx]
    keep = ("n", "chi2_n", "coverage_68", "bias", "nmad")
    out = {}
    for name, rows in groups.items():
        methods = {}
        for method, p in preds.items():
            bands = {}
            for i, b in enumerate(BAND_NAMES):
                d = rows & det[:, i]
                g = gauss_stats(p["mag_mu"][d, i], p["mag_sig"][d, i], mag[d, i], err[d, i])
                bands[b] = {k: g.get(k) for k in keep}
                bands[b]["median_sigma"] = float(np.median(p["mag_sig"][d, i])) if d.any() else None
            methods[method] = bands
        out[name] = {"n": int(rows.sum()), "methods": methods}
    return out


def network_predictions(
    model, data: dict, idx: np.ndarray, *, inputs=SPECTRUM_INPUTS, hide_total_mag: bool = False
) -> dict:
    """A network's Gaussian predictions (:func:`~specir.inference.gaussian_outputs`) on rows
    ``idx``; ``hide_total_mag`` withholds the total r-band magnitude (spectrum only)."""
    arrays = [None if (k == "r_mag" and hide_total_mag) else data[k][idx] for k in inputs]
    return gaussian_outputs(run_network(model, arrays, batch_size=1024))


def metrics_for_split(
    model, data: dict, idx: np.ndarray, snr_detect: float = 2.0, *, interval_factors=None
) -> dict:
    """Metrics of a spectrum model on rows ``idx`` (used for the model card);
    ``interval_factors`` (per band, :mod:`specir.calibrate`) add the 68 % interval coverage."""
    if len(idx) == 0:
        return {"n": 0}
    pred = network_predictions(model, data, idx)
    if interval_factors is not None:
        pred["mag_half68"] = pred["mag_sig"] * np.asarray(interval_factors, float)
    return {"n": len(idx), **score(pred, data, idx, snr_detect=snr_detect)}
