"""Stress tests of a bundle: spectra cut short, and the same galaxy made brighter or fainter.

:func:`stress_metrics` scores a bundle on held-out rows whose spectra are cut to a rest-frame
range (:data:`CUTS`, as other spectrographs, dichroic gaps or redshift leave them) with the
total r magnitude given, and measures how the predicted magnitudes move when a spectrum and its
total magnitude are made Δ mag fainter together (:data:`SHIFTS`): the same kind of galaxy with
less light should move by Δ in every band, so the median change of W − r is reported, with the
fraction of rows flagged out of distribution. For each cut it also reports ``median_shift``, the
median change of the predicted magnitudes from the full to the cut spectrum over *all* rows: the
median bias is taken over WISE detections, a set selected on the outcome, so a model that rightly
regresses towards the population when light is missing shows a bias there that ``median_shift``,
free of that selection, separates from a drift of the predictions themselves; on a simulated
catalog ``bias_vs_true``, the median of prediction minus the noise-free true magnitude over
all rows, measures the bias itself without that selection, and ``bias_vs_true_by_agn`` the same
per simulated AGN type (an AGN the spectrum does not betray leaves its torus light
unpredicted, which shows as a bias in W3 and W4 of that type). Predictions go
through the same out-of-distribution treatment as ``predict_ir``
(:func:`specir.predict.treated_outputs`). ``specir evaluate`` writes the result as ``stress``
next to the held-out metrics.
"""

import numpy as np

from specir.augment import cut_rest_frame
from specir.bands import BAND_NAMES, mjy_to_mag
from specir.inference import run_network
from specir.predict import support_outside, treated_outputs
from specir.scoring import score

__all__ = [
    "AGN_TYPES",
    "CUTS",
    "SHIFTS",
    "bias_by_agn_type",
    "bundle_predictions",
    "stress_metrics",
]

CUTS = ((3500.0, 7000.0), (3700.0, 6000.0))
"""Rest-frame ranges (Å) the spectra are cut to (issue 12's acceptance)."""
SHIFTS = (-2.0, -1.0, 1.0, 2.0)
"""Magnitude shifts Δ of the scaling test."""
AGN_TYPES = (("no AGN", 0), ("type 1", 1), ("type 2", 2))
"""The simulated AGN types (``agn_type_true``) of :func:`bias_by_agn_type`."""


def bias_by_agn_type(pred, data, idx):
    """Median prediction minus noise-free truth (mag) per band and simulated AGN type.

    None where the catalog holds no simulated truths. Each type maps to ``n`` and one median
    per band (None where the type has no row with a finite truth in that band).

    Examples
    --------
    >>> data = {"agn_type_true": np.array([0.0, 0.0, 2.0]),
    ...         "flux_true": np.full((3, 4), 1.0)}
    >>> pred = {"mag_mu": mjy_to_mag(np.array([[1.0] * 4, [1.0] * 4, [0.5] * 4]))}
    >>> out = bias_by_agn_type(pred, data, np.arange(3))
    >>> out["no AGN"]["n"], round(out["type 2"]["w4"], 2), out["type 1"]
    (2, 0.75, {'n': 0})
    """
    agn = np.asarray(data["agn_type_true"], float)[idx]
    true = mjy_to_mag(np.asarray(data["flux_true"], float)[idx])
    if not np.isfinite(agn).any() or not np.isfinite(true).any():
        return None
    out = {}
    for name, kind in AGN_TYPES:
        rows = agn == kind
        entry = {"n": int(rows.sum())}
        if rows.any():
            r = pred["mag_mu"][rows] - true[rows]
            for i, b in enumerate(BAND_NAMES):
                ok = np.isfinite(r[:, i])
                entry[b] = float(np.median(r[ok, i])) if ok.any() else None
        out[name] = entry
    return out


def bundle_predictions(
    bundle, data, idx, *, flux=None, valid=None, norm=None, r_mag=None, hide_total_mag=False
) -> dict:
    """A bundle's predictions on rows ``idx`` of ``data``, as ``predict_ir`` treats them.

    ``flux``, ``valid``, ``norm`` and ``r_mag`` (arrays over ``idx``) replace the catalog's;
    ``hide_total_mag`` withholds the total magnitude. The result holds ``ood`` as well.
    """
    flux = data["flux"][idx] if flux is None else flux
    valid = data["valid"][idx] if valid is None else valid
    norm = data["norm"][idx] if norm is None else norm
    r = data["r_mag"][idx] if r_mag is None else r_mag
    if hide_total_mag:
        r = np.full(len(idx), np.nan)
    z = data["z"][idx]
    raw = run_network(bundle.model, (flux, valid, z, norm, r), batch_size=1024)
    snr = data["spec_snr"][idx] if "spec_snr" in data else np.full(len(idx), np.inf)
    outside = support_outside(bundle, z, norm, r, valid, snr)
    return treated_outputs(bundle, raw, outside)


def _summary(scores, pred):
    bands = scores["bands"]
    return {
        "chi2_n": {b: bands[b].get("chi2_n") for b in BAND_NAMES},
        "coverage_68": {b: bands[b].get("coverage_68") for b in BAND_NAMES},
        "coverage_68_interval": {b: bands[b].get("coverage_68_interval") for b in BAND_NAMES},
        "bias": {b: bands[b].get("bias") for b in BAND_NAMES},
        "bias_vs_true": {b: bands[b].get("vs_true", {}).get("bias") for b in BAND_NAMES},
        "nmad": {b: bands[b].get("nmad") for b in BAND_NAMES},
        "median_sigma": {
            b: float(np.median(pred["mag_sig"][:, i])) for i, b in enumerate(BAND_NAMES)
        },
        "flagged_ood": float(np.mean(pred["ood"])),
    }


def stress_metrics(bundle, data: dict, idx: np.ndarray, *, snr_detect: float = 2.0) -> dict:
    """Cut-spectrum metrics and the scaling test on rows ``idx`` (see the module docstring)."""
    full = bundle_predictions(bundle, data, idx)
    out = {"full": _summary(score(full, data, idx, snr_detect=snr_detect), full), "cuts": {}}
    out["full"]["bias_vs_true_by_agn"] = bias_by_agn_type(full, data, idx)
    for lo, hi in CUTS:
        flux, valid, norm = cut_rest_frame(
            data["flux"][idx], data["valid"][idx], data["z"][idx], data["norm"][idx], lo, hi
        )
        pred = bundle_predictions(bundle, data, idx, flux=flux, valid=valid, norm=norm)
        summary = _summary(score(pred, data, idx, snr_detect=snr_detect), pred)
        shift = np.nanmedian(pred["mag_mu"] - full["mag_mu"], axis=0)
        summary["median_shift"] = dict(zip(BAND_NAMES, shift.tolist(), strict=True))
        summary["bias_vs_true_by_agn"] = bias_by_agn_type(pred, data, idx)
        out["cuts"][f"rest_{lo:.0f}_{hi:.0f}"] = summary
    has_r = np.isfinite(data["r_mag"][idx])
    rows = idx[has_r]
    base = bundle_predictions(bundle, data, rows)
    scaling = {}
    for delta in SHIFTS:
        f = 10.0 ** (-0.4 * delta)
        pred = bundle_predictions(
            bundle, data, rows, norm=data["norm"][rows] * f, r_mag=data["r_mag"][rows] + delta
        )
        change = pred["mag_mu"] - base["mag_mu"] - delta
        widened = pred["ood"] & ~base["ood"]
        ratio = pred["mag_sig"][widened] / base["mag_sig"][widened]
        scaling[f"{delta:+g}"] = {
            "median_colour_change": dict(
                zip(BAND_NAMES, np.median(change, 0).tolist(), strict=True)
            ),
            "flagged_ood": float(np.mean(pred["ood"])),
            "median_sigma_ratio_newly_flagged": float(np.median(ratio)) if ratio.size else None,
        }
    out["scaling"] = {"n": len(rows), "shifts": scaling}
    out["n"] = len(idx)
    return out
