"""Write a :class:`~specir.sim.realism.RealismReport` out: JSON, a table, an .rst include, figures.

:func:`survey_realism` reads a simulated HATS catalog with lsdb (scalar columns only), measures
it (:func:`~specir.sim.realism.realism_report`) and writes into a folder:

- ``realism.json``: every row and the survey's provenance (``n``, ``seed``, simulator);
- ``realism.txt``: the table as plain text (relation / literature / simulation / tolerance);
- ``realism.inc``: the same table as an reStructuredText ``list-table``, to be included by the
  documentation (``docs/simulation.rst`` includes ``docs/generated/realism.inc``);
- ``sfr_w3.png``, ``sfr_w4.png``, ``colours.png``, ``stern.png``: simulated points over the
  published relations.
"""

import json
import logging
from pathlib import Path

import numpy as np

from specir.errors import SpecIRInputError
from specir.sim.realism import (
    CLUVER17,
    K_BOL_X,
    MASS_BINS,
    MATEOS12,
    STERN12,
    realism_report,
)

__all__ = ["SURVEY_COLUMNS", "read_survey", "survey_realism", "write_report"]

logger = logging.getLogger(__name__)

SURVEY_COLUMNS = (
    "z",
    "w1_flux_true",
    "w2_flux_true",
    "w3_flux_true",
    "w4_flux_true",
    "log_mstar_true",
    "log_sfr_true",
    "log_lagn_true",
    "agn_type_true",
)
"""Columns of a simulated survey that the realism report reads."""


def read_survey(path):
    """The :data:`SURVEY_COLUMNS` of a simulated HATS catalog and its HATS properties."""
    import lsdb

    path = Path(path)
    if not path.exists():
        raise SpecIRInputError(str(path), "does not exist", "give a simulated HATS catalog")
    try:
        cat = lsdb.open_catalog(path, columns=list(SURVEY_COLUMNS))
    except Exception as exc:  # lsdb/hats raise several types for a non-catalog
        raise SpecIRInputError(
            str(path), f"is not a readable HATS catalog ({exc})", "give `specir simulate` output"
        ) from exc
    info = cat.hc_structure.catalog_info
    props = info.model_dump(mode="json") if hasattr(info, "model_dump") else dict(vars(info))
    return cat.compute(), {k: v for k, v in props.items() if v is not None}


def _fmt(x, unit_digits=2):
    return "n/a" if not np.isfinite(x) else f"{x:+.{unit_digits}f}"


def _table_lines(rows):
    head = ("Relation", "Literature", "Simulation", "Tolerance", "N", "Pass")
    body = [
        (
            f"{r['relation']} [{r['group']}]",
            _fmt(r["literature"]),
            _fmt(r["simulation"]),
            f"{r['tolerance']:.2f}",
            str(r["n"]),
            "info" if r.get("informative") else ("yes" if r["passed"] else "NO"),
        )
        for r in rows
    ]
    return head, body


def _rst(rows, meta):
    head, body = _table_lines(rows)
    out = [
        ".. This file is written by `specir sim realism`; do not edit it by hand.",
        "",
        f"Measured on ``{meta['survey']}`` ({meta['n_galaxies']} galaxies, seed "
        f"{meta.get('seed', '?')}, simulator {meta.get('simulator', '?')}; galaxies at "
        f"z <= {meta['z_max']} except in the Stern et al. selection) by "
        f"``specir sim realism``: {meta['n_passed']} of {meta['n_counted']} relations within "
        "tolerance (rows marked *info* are shown for reference and not counted).",
        *_config_sentence(meta.get("config_changes")),
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
    ]
    for line in (head, *body):
        out.append(f"   * - {line[0]}")
        out.extend(f"     - {cell}" for cell in line[1:])
    return "\n".join(out) + "\n"


def _config_sentence(changes):
    if not changes:
        return []
    items = ", ".join(f"``{k} = {v!r}``" for k, v in sorted(changes.items()))
    return ["", f"Simulated with the default configuration except {items}."]


def config_changes(props):
    """The settings of a survey's ``specir_sim_config`` that differ from the defaults."""
    import dataclasses

    from specir.sim.config import SimConfig

    try:
        used = json.loads(props.get("specir_sim_config") or "{}")
    except (TypeError, ValueError):
        return {}
    if not isinstance(used, dict):
        return {}
    # through JSON, as the survey stored it: tuples become lists on both sides
    default = _flat(json.loads(json.dumps(dataclasses.asdict(SimConfig()))))
    return {k: v for k, v in _flat(used).items() if k not in default or default[k] != v}


def _flat(table, prefix=""):
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _text(rows):
    head, body = _table_lines(rows)
    widths = [max(len(r[i]) for r in (head, *body)) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in (head, *body)
    )


def _figures(report, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for band in ("w3", "w4"):
        true, pred, mass = report.points[f"sfr_{band}"]
        fig, ax = plt.subplots(figsize=(5, 4.5))
        sc = ax.scatter(true, pred, c=mass, s=4, cmap="viridis", vmin=8.5, vmax=11.5)
        lim = [-2.5, 1.5]
        sig = CLUVER17[band]["scatter"]
        ax.plot(lim, lim, "k-", label="Cluver et al. 2017")
        ax.fill_between(lim, np.subtract(lim, sig), np.add(lim, sig), color="k", alpha=0.15)
        ax.set(xlabel="true log SFR (M$_\\odot$/yr)", ylabel=f"log SFR from {band.upper()}")
        ax.set(xlim=lim, ylim=lim)
        fig.colorbar(sc, label="log M*")
        ax.legend(loc="upper left")
        fig.savefig(out / f"sfr_{band}.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
    w23, w12, agn, _ = report.points["colours"]
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.scatter(w23[~agn], w12[~agn], s=3, c="0.5", label="no AGN")
    ax.scatter(w23[agn], w12[agn], s=5, c="C3", label="AGN")
    ax.axhline(STERN12["cut"], color="k", ls="--", label="Stern et al. 2012")
    ax.axvline(1.5, color="k", ls=":", lw=0.8)
    ax.axvline(3.0, color="k", ls=":", lw=0.8, label="Jarrett et al. 2017 types")
    ax.set(xlabel="W2 - W3 (Vega)", ylabel="W1 - W2 (Vega)", xlim=(-0.5, 6), ylim=(-0.5, 2))
    ax.legend(loc="upper left", fontsize=8)
    fig.savefig(out / "colours.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    lagn, selected = report.points["stern"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    bins = np.arange(42.0, 47.01, 0.5)
    idx = np.digitize(lagn, bins)
    frac = [selected[idx == i].mean() if (idx == i).any() else np.nan for i in range(1, bins.size)]
    ax.step(bins[:-1], frac, where="post", label="simulation")
    ax.axhline(STERN12["completeness"], color="k", ls="--", label="Stern et al. 2012")
    x = MATEOS12["log_lx_min"] + np.log10(K_BOL_X)
    for t, marker in ((1, "o"), (2, "s")):
        ref = MATEOS12[f"type{t}"]
        ax.errorbar(x, ref["completeness"], ref["error"], xerr=[[0], [0.5]], fmt=marker,
                    color="C3", ms=4, label=f"Mateos et al. 2012, type {t}")  # fmt: skip
    ax.set(xlabel="log L_AGN (erg/s)", ylabel="W1 - W2 >= 0.8 fraction", ylim=(0, 1.05))
    ax.legend(loc="upper left", fontsize=8)
    fig.savefig(out / "stern.png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def write_report(report, out, *, meta, figures=True):
    """Write ``report`` as JSON, text and .rst (and figures) into folder ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        **meta,
        "n_passed": report.n_passed,
        "n_counted": len(report.counted),
        "passed": report.passed,
    }
    rows = [
        {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
        for r in report.rows
    ]
    payload = {"meta": meta, "mass_bins": MASS_BINS, "rows": rows}
    (out / "realism.json").write_text(json.dumps(payload, indent=1, allow_nan=False))
    (out / "realism.txt").write_text(_text(report.rows) + "\n")
    (out / "realism.inc").write_text(_rst(report.rows, meta))
    if figures:
        _figures(report, out)
    return out


def survey_realism(survey, out, *, z_max=0.07, tolerances=None, figures=True):
    """Measure the simulated HATS catalog ``survey`` and write the report into ``out``.

    Returns
    -------
    RealismReport
    """
    df, props = read_survey(survey)
    report = realism_report(df, z_max=z_max, tolerances=tolerances)
    meta = {
        "survey": Path(survey).name,
        "n_galaxies": len(df),
        "seed": props.get("specir_sim_seed"),
        "simulator": props.get("specir_simulator"),
        "z_max": z_max,
        "config_changes": config_changes(props),
    }
    write_report(report, out, meta=meta, figures=figures)
    logger.info("%d of %d relations within tolerance", report.n_passed, len(report.counted))
    return report
