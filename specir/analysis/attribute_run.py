"""``specir attribute``: integrated gradients over a catalog, with the controls built in.

:func:`attribute_catalog` reads a HATS catalog, attributes each chosen band's mean and σ to
the input flux (:func:`specir.analysis.attribute.integrated_gradients`), stacks the
attributions in the rest frame and writes, under ``out``:

- ``attribution.json``: the run (bundle, catalog, N, baseline, steps), completeness (the
  fraction of spectra whose attributions sum to f(x) − f(x') within 1 %), and per group the
  strongest rest-frame features of each output, identified against
  :data:`specir.analysis.lines.LINES`, plus the acceptance checks;
- ``stacks.npz``: the stacked curves (rest wavelength, mean and mean |attribution|, counts);
- ``attribution_<group>.png``: stacked mean |attribution| against rest wavelength, one panel
  per band, lines marked.

Groups: ``all``; by class (``star_forming``, ``quiescent``, ``agn``; only where the catalog
holds the simulated truths: AGN where one is visible (``agn_visible_true``,
:func:`specir.dataset.visible_agn`; every simulated AGN on surveys without the share), else
quiescent where log sSFR < :data:`QUIESCENT_LOG_SSFR`); star-forming galaxies in redshift bins
(``star_forming_z0`` …); and ``no_total_mag``, all spectra again with the total-magnitude input
removed (the aperture ablation). The acceptance checks (:func:`check_group`) apply to the
star-forming groups. On a simulated catalog the report also holds ``information``: how much of
each band's true colour each family of optical features carries, per class, whatever network
reads them (:mod:`specir.analysis.information`).
"""

import itertools
import json
import logging
import os
from pathlib import Path

import numpy as np

from specir.analysis.attribute import (
    MAX_STEPS,
    OUTPUTS,
    integrated_gradients,
    relative_error,
    rest_stack,
    top_features,
)
from specir.analysis.information import information_table
from specir.errors import SpecIRInputError

__all__ = ["CHECK_LINES", "QUIESCENT_LOG_SSFR", "Z_EDGES", "attribute_catalog", "check_group"]

log = logging.getLogger(__name__)

QUIESCENT_LOG_SSFR = -11.0
"""log10 sSFR (1/yr) below which an AGN-free galaxy counts as quiescent."""
Z_EDGES = (0.0, 0.06, 0.1, 0.15, 0.4)
"""Redshift bins of the star-forming control groups."""
CHECK_LINES = ("Hα + [N II]", "Hβ", "[O II] 3727")
"""Lines carrying SFR and attenuation: where the W3/W4 attributions of star-forming
galaxies should peak."""
MIN_GROUP = 200
"""Groups with fewer spectra are reported but not checked."""


def galaxy_class(data):
    """``star_forming`` / ``quiescent`` / ``agn`` per row from simulated truths (or None)."""
    from specir.dataset import ColumnMap

    names = ColumnMap().optical_truths
    truths = data["optical_truths"]
    if not np.isfinite(data["agn_type_true"]).any():
        return None
    logm = truths[:, names.index("log_mstar_true")]
    logsfr = truths[:, names.index("log_sfr_true")]
    cls = np.where(logsfr - logm < QUIESCENT_LOG_SSFR, "quiescent", "star_forming")
    return np.where(data["agn_visible_true"] > 0, "agn", cls)


def check_group(features):
    """Acceptance checks of one group's feature tables (``{output: rows}``).

    ``w3``/``w4``: the strongest feature of the mean's attribution is one of
    :data:`CHECK_LINES`; ``w1``: the strongest is not an emission line (stellar continuum or
    an absorption feature). Outputs absent from ``features`` are not checked.

    Examples
    --------
    >>> check_group({"w3_mean": [{"feature": "Hβ", "kind": "emission"}],
    ...              "w1_mean": [{"feature": "Hβ", "kind": "emission"}]})
    {'w3_mean': True, 'w1_mean': False}
    """
    out = {}
    for name, rows in features.items():
        if not rows:
            continue
        if name in ("w3_mean", "w4_mean"):
            out[name] = rows[0]["feature"] in CHECK_LINES
        elif name == "w1_mean":
            out[name] = rows[0]["kind"] != "emission"
    return out


def _groups(data, cls, z_edges):
    n = len(data["z"])
    groups = {"all": np.ones(n, bool)}
    if cls is not None:
        for c in ("star_forming", "quiescent", "agn"):
            groups[c] = cls == c
        for i, (lo, hi) in enumerate(itertools.pairwise(z_edges)):
            groups[f"star_forming_z{i}"] = (
                (cls == "star_forming") & (data["z"] >= lo) & (data["z"] < hi)
            )
    return groups


def _summarise(res, data, sel, outputs):
    z_max = float(np.max(data["z"]))  # one rest grid for every group
    stack = rest_stack(res["attr"][sel], data["z"][sel], data["valid"][sel], z_max=z_max)
    feats = {
        name: top_features(stack["wave"], stack["mean_abs"][k], stack["count"])
        for k, name in enumerate(outputs)
    }
    return stack, feats


def _plot(path, stack, outputs, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from specir.analysis.lines import LINES

    bands = sorted({o.split("_")[0] for o in outputs})
    fig, axes = plt.subplots(len(bands), 1, figsize=(11, 2.2 * len(bands)), sharex=True)
    axes = np.atleast_1d(axes)
    w = stack["wave"]
    ok = stack["count"] >= 20
    for ax, band in zip(axes, bands, strict=True):
        for kind, style in (("mean", "-"), ("sigma", ":")):
            name = f"{band}_{kind}"
            if name in outputs:
                y = np.where(ok, stack["mean_abs"][outputs.index(name)], np.nan)
                if not np.isfinite(y).any():  # too few spectra per pixel to show
                    continue
                ax.plot(w, y / np.nanmax(y), style, lw=0.8, label=f"{band.upper()} {kind}")
        for f in LINES:
            colour = "tab:blue" if f.kind == "emission" else "tab:red"
            ax.axvspan(f.lo, f.hi, color=colour, alpha=0.12, lw=0)
        ax.set_ylabel("mean |IG| (norm.)")
        if ax.get_legend_handles_labels()[0]:  # a small group may have no curve to show
            ax.legend(loc="upper right", fontsize=7)
        else:
            ax.text(0.5, 0.5, "fewer than 20 spectra per pixel", transform=ax.transAxes,
                    ha="center", va="center", fontsize=8)  # fmt: skip
    for f in LINES:
        axes[0].text(f.wavelength, 1.02, f.name, rotation=90, fontsize=6, va="bottom",
                     ha="center", transform=axes[0].get_xaxis_transform())  # fmt: skip
    axes[-1].set_xlabel("rest wavelength (Å, vacuum); blue: emission, red: absorption")
    axes[-1].set_xlim(w[ok][0] if ok.any() else w[0], w[ok][-1] if ok.any() else w[-1])
    fig.suptitle(title, y=1.0, fontsize=9)
    fig.tight_layout()
    tmp = Path(str(path) + ".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)


def _run_ig(bundle, data, outputs, r_mag, baseline, n_steps, max_steps, batch_size, desc):
    from tqdm.auto import tqdm

    n, parts = len(data["z"]), []
    step = max(int(batch_size), 1) * 4
    for start in tqdm(range(0, n, step), desc=desc, unit="batch", disable=n <= step):
        sl = slice(start, start + step)
        parts.append(
            integrated_gradients(
                bundle.model,
                data["flux"][sl],
                data["valid"][sl],
                data["z"][sl],
                data["norm"][sl],
                None if r_mag is None else r_mag[sl],
                outputs=outputs,
                baseline=baseline,
                n_steps=n_steps,
                max_steps=max_steps,
                batch_size=batch_size,
            )
        )
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def attribute_catalog(
    bundle, catalog, out, *, bands=("w1", "w2", "w3", "w4"), n=0, baseline="smooth", n_steps=32,
    max_steps=MAX_STEPS, batch_size=16, z_edges=Z_EDGES, ablation=True, sigma=True,
):  # fmt: skip
    """Attribute, stack and summarise a catalog's spectra (see the module docstring).

    Parameters
    ----------
    bundle : str, path or ModelBundle
    catalog : str or path
        A HATS catalog with the agreed columns (:class:`specir.dataset.ColumnMap`).
    out : str or path
        Output folder (created).
    bands : sequence of str
        Bands whose mean (and σ) are attributed.
    n : int
        Use the first ``n`` spectra (0: all).
    baseline, n_steps, max_steps, batch_size
        As in :func:`~specir.analysis.attribute.integrated_gradients`.
    z_edges : sequence of float
        Redshift bins of the star-forming control groups.
    ablation : bool
        Also attribute the means with the total-magnitude input removed.
    sigma : bool
        Also attribute each band's σ (False: the means only; the σ outputs need more
        integration steps than the means, ``benchmarks/bench_ig_convergence.py``).

    Returns
    -------
    dict
        What ``attribution.json`` holds.
    """
    from specir.bundle import load_bundle
    from specir.dataset import read_catalog_arrays

    bad = [b for b in bands if f"{b}_mean" not in OUTPUTS]
    if bad or not bands:
        raise SpecIRInputError("bands", f"{bad or 'none'} unknown", "use w1,w2,w3,w4")
    bundle = load_bundle(bundle, device="cpu")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = read_catalog_arrays(catalog, max_rows=int(n), progress=False)
    outputs = [f"{b}_mean" for b in bands] + ([f"{b}_sigma" for b in bands] if sigma else [])
    r_mag = data["r_mag"] if bundle.model.config.total_mag_input else None
    res = _run_ig(bundle, data, outputs, r_mag, baseline, n_steps, max_steps, batch_size, "IG")
    cls = galaxy_class(data)
    report = {
        "bundle": str(bundle.path),
        "bundle_sha256": bundle.card["sha256"],
        "catalog": str(catalog),
        "n": len(data["z"]),
        "baseline": baseline,
        "n_steps": int(n_steps),
        "max_steps": int(max_steps),
        "outputs": outputs,
        "completeness": _completeness(res, outputs),
        "groups": {},
        "information": information_table(data, cls, bands=bands),
    }
    stacks = _group_reports(report, res, data, _groups(data, cls, z_edges), outputs, out)
    if ablation and r_mag is not None:
        means = outputs[: len(bands)]
        res_nr = _run_ig(
            bundle, data, means, None, baseline, n_steps, max_steps, batch_size, "no r"
        )
        stack, feats = _summarise(res_nr, data, slice(None), means)
        stacks["no_total_mag"] = stack
        report["groups"]["no_total_mag"] = {
            "n": len(data["z"]),
            "features": feats,
            "completeness": _completeness(res_nr, means),
        }
        _plot(out / "attribution_no_total_mag.png", stack, means, "total magnitude removed")
    _write(out, report, stacks)
    return report


def _completeness(res, outputs):
    rel = relative_error(res)
    within = rel <= 0.01
    return {
        "by_output": {o: float(np.mean(within[:, k])) for k, o in enumerate(outputs)},
        "criterion": "|sum(attr) - (f(x) - f(baseline))| <= 1% of max(|f(x) - f(baseline)|,"
        " 0.01 mag), every attributed output of a spectrum",
        "fraction_within_1pct": float(np.mean(np.all(rel <= 0.01, axis=1))),
        "median_relative_error": float(np.median(rel)),
        "max_relative_error": float(np.max(rel)),
        "max_steps_used": int(np.max(res["steps"])),
    }


def _group_reports(report, res, data, groups, outputs, out):
    """Stack, summarise, check and plot each group; fills ``report["groups"]``."""
    stacks = {}
    for name, sel in groups.items():
        entry = {"n": int(sel.sum())}
        if sel.sum() >= 1:
            stack, feats = _summarise(res, data, sel, outputs)
            entry["features"] = feats
            entry["checked"] = bool(sel.sum() >= MIN_GROUP)
            entry["checks"] = check_group(feats) if name.startswith("star_forming") else {}
            stacks[name] = stack
            _plot(out / f"attribution_{name}.png", stack, outputs, f"{name}: N = {sel.sum()}")
        report["groups"][name] = entry
    return stacks


def _write(out, report, stacks):
    arrays = {}
    for name, s in stacks.items():
        for key in ("wave", "mean", "mean_abs", "count"):
            arrays[f"{name}__{key}"] = s[key]
    tmp = out / "stacks.tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, out / "stacks.npz")
    tmp = out / "attribution.json.tmp"
    tmp.write_text(json.dumps(report, indent=1, allow_nan=False) + "\n")
    os.replace(tmp, out / "attribution.json")
