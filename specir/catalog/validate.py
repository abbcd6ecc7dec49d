"""``specir catalog validate VAC --wise WISE``: score a value-added catalog against observed WISE.

The VAC is crossmatched with an observed WISE HATS catalog (AllWISE columns ``wNmpro``,
``wNsigmpro``, ``wNsnr``) with lsdb's crossmatch (nearest neighbour within ``radius_arcsec``).
For each match and band where WISE detects the source (``wNsnr >= snr_detect`` and a finite
``wNsigmpro``) the normalised residual

    chi_wN = (wN_mag − wNmpro) / sqrt(wN_mag_err² + wNsigmpro²)

is added; it is NaN for non-detections (AllWISE upper limits). The crossmatched catalog is written
with ``write_catalog``; the summary per band (χ²_N = mean chi², 68%/95% coverage, median chi, the
number of detections, and where the VAC has ``wN_mag_ci68`` the coverage of its 68 % intervals)
goes to ``<out>_summary.json``. For a calibrated model χ²_N ≈ 1 and the interval coverage 0.68.

Matches near partition edges need a margin cache on the WISE catalog (``lsdb`` warns otherwise);
open it as a collection with its margin.
"""

import json
import logging
from pathlib import Path

import numpy as np

from specir.bands import BAND_NAMES
from specir.columns import IDENTITY_COLUMNS, PREDICTION_COLUMNS
from specir.errors import SpecIRInputError
from specir.scoring import chi_stats

__all__ = ["chi_summary", "validate_vac"]

log = logging.getLogger(__name__)

# the value-added columns it reads: identity, flags, the predicted magnitudes and their errors
_VAC_COLUMNS = [c.name for c in IDENTITY_COLUMNS] + [
    n for n in PREDICTION_COLUMNS if n == "flags" or n.endswith(("_mag", "_mag_err"))
]
_WISE_COLUMNS = [f"{b}{k}" for b in BAND_NAMES for k in ("mpro", "sigmpro", "snr")]
# the 68 % interval half-widths, used where the VAC has them (VACs from before they existed lack
# them)
_INTERVAL_COLUMNS = [f"{b}_mag_ci68" for b in BAND_NAMES]


def _add_chi(df, *, snr_detect):
    df = df.copy()
    for b in BAND_NAMES:
        obs = df[f"{b}mpro"].to_numpy(np.float64, na_value=np.nan)
        err = df[f"{b}sigmpro"].to_numpy(np.float64, na_value=np.nan)
        snr = df[f"{b}snr"].to_numpy(np.float64, na_value=np.nan)
        pred = df[f"{b}_mag"].to_numpy(np.float64, na_value=np.nan)
        sig = df[f"{b}_mag_err"].to_numpy(np.float64, na_value=np.nan)
        det = (snr >= snr_detect) & np.isfinite(err)
        with np.errstate(invalid="ignore"):
            chi = (pred - obs) / np.sqrt(sig**2 + err**2)
        df[f"chi_{b}"] = np.where(det, chi, np.nan)
        if f"{b}_mag_ci68" in df:
            half = df[f"{b}_mag_ci68"].to_numpy(np.float64, na_value=np.nan)
            with np.errstate(invalid="ignore", divide="ignore"):
                df[f"k68_{b}"] = np.where(det, half / sig, np.nan)
    return df


def chi_summary(df) -> dict[str, dict]:
    """χ²_N, coverage and counts per band from ``chi_wN`` columns; with ``k68_wN`` columns (the
    68 % interval half-width over σ) also ``coverage_68_interval``, the fraction within it.

    Examples
    --------
    >>> import pandas as pd
    >>> s = chi_summary(pd.DataFrame({f"chi_w{i}": [1.0, -1.0, np.nan] for i in range(1, 5)}))
    >>> s["w1"]["chi2_n"], s["w1"]["n"]
    (1.0, 2)
    >>> df = pd.DataFrame({"chi_w1": [0.5, -0.9, 2.0], "k68_w1": [0.8, 0.8, 0.8]})
    >>> round(chi_summary(df)["w1"]["coverage_68_interval"], 3)
    0.333
    """
    out = {}
    for b in BAND_NAMES:
        if f"chi_{b}" not in df:
            continue
        out[b] = chi_stats(df[f"chi_{b}"])
        if f"k68_{b}" in df:
            chi = df[f"chi_{b}"].to_numpy(np.float64, na_value=np.nan)
            k = df[f"k68_{b}"].to_numpy(np.float64, na_value=np.nan)
            ok = np.isfinite(chi) & np.isfinite(k)
            out[b]["coverage_68_interval"] = float(np.mean(np.abs(chi[ok]) <= k[ok]))
    return out


def validate_vac(vac, wise, out, *, radius_arcsec: float = 1.0, snr_detect: float = 2.0) -> dict:
    """Crossmatch ``vac`` with ``wise``, add ``chi_wN`` columns, write ``out``.

    Returns the summary also written to ``<out>_summary.json``.
    """
    import lsdb

    out = Path(out)
    if out.exists():
        raise SpecIRInputError("out", f"{out} already exists", "choose a new output path")
    if not radius_arcsec > 0:
        raise SpecIRInputError("radius", f"is {radius_arcsec}", "give a positive radius in arcsec")
    left = lsdb.open_catalog(vac)
    missing = [c for c in _VAC_COLUMNS if c not in left.all_columns]
    if missing:
        raise SpecIRInputError(
            "VAC", f"{vac} lacks {missing}", "give a catalog made by `specir catalog run`"
        )
    right = lsdb.open_catalog(wise)
    missing = [c for c in _WISE_COLUMNS if c not in right.all_columns]
    if missing:
        raise SpecIRInputError(
            "--wise",
            f"{wise} lacks the AllWISE columns {missing}",
            "give a WISE HATS catalog with wNmpro, wNsigmpro and wNsnr",
        )
    intervals = [c for c in _INTERVAL_COLUMNS if c in left.all_columns]
    left = lsdb.open_catalog(vac, columns=_VAC_COLUMNS + intervals)
    right_cols = ["ra", "dec", *_WISE_COLUMNS]
    right = lsdb.open_catalog(wise, columns=right_cols)
    xm = left.crossmatch(
        right,
        n_neighbors=1,
        radius_arcsec=float(radius_arcsec),
        suffixes=("", "_wise"),
        suffix_method="overlapping_columns",
    )
    xm = xm.map_partitions(_add_chi, snr_detect=float(snr_detect))
    xm.write_catalog(out, catalog_name=out.name, as_collection=False)
    cols = [f"chi_{b}" for b in BAND_NAMES] + [f"k68_{c[:2]}" for c in intervals]
    result = lsdb.open_catalog(out, columns=cols).compute()
    summary = {
        "vac": str(vac),
        "wise": str(wise),
        "radius_arcsec": float(radius_arcsec),
        "snr_detect": float(snr_detect),
        "n_vac": int(left.hc_structure.catalog_info.total_rows or 0),
        "n_matched": len(result),
        "bands": chi_summary(result),
    }
    Path(f"{out}_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    for b, s in summary["bands"].items():
        log.info("%s: chi2_N %.3f over %d detections", b, s["chi2_n"], s["n"])
    return summary
