"""``specir evaluate BUNDLE CATALOG --out DIR``: score a bundle against baselines.

The metrics are those of :mod:`specir.scoring`; the baselines and the information ceiling are
those of :mod:`specir.baselines`, trained in the same run on the bundle's training catalog (its
training split) or on ``train_catalog``. For transparency next to the paper's "photometry only"
baseline (synthetic ugriz of the spectrum), ``photometry_total`` is fed the catalog's *total*
ugriz magnitudes (``modelmag_*``, when the catalog has them), which carry the whole galaxy's
colours.

The bundle is scored twice when it takes a total r-band magnitude: ``model`` (with the catalog's
``modelmag_r``, the intended use) and ``model_without_r_mag`` (spectrum only, as for a spectrum
whose photometry is unknown).

On a simulated survey (truth columns present) two more rows bound what is possible rather than
compete: ``ceiling_optical_truths`` (trees fed the simulated truths that the optical light
carries) and ``ceiling_all_truths`` (also the dust-emission truths). No reading of the spectrum
can do better than the first; the gap between them is the infrared scatter the optical light
does not carry. The model, the photometry-only baseline and the first ceiling are also scored by
simulated AGN group (``by_agn``, :func:`specir.scoring.score_by_agn`): the ceiling's trees are
fed the AGN truths, which a spectrum need not reveal, so among galaxies without an AGN the gap
between model and ceiling is the spectrum's own.

When CATALOG is the bundle's own training catalog, only its HEALPix test split is scored.
With ``write_card=True`` the result is also written into the bundle's model card as
``heldout_evaluation`` (:func:`specir.bundle.write_card_entry`; the weights are not touched).
"""

import dataclasses
import json
import logging
import time
from pathlib import Path

import numpy as np

from specir.bands import BAND_NAMES
from specir.baselines import (
    baseline_ceiling,
    baseline_mean,
    baseline_pca_rf,
    baseline_photometry,
    has_truths,
)
from specir.bundle import load_bundle
from specir.card import code_commit, write_card_entry
from specir.dataset import catalog_properties, read_catalog_arrays, split_labels
from specir.errors import SpecIRInputError
from specir.robustness import bundle_predictions, stress_metrics
from specir.scoring import score, score_by_agn
from specir.train import TrainConfig

__all__ = ["describe_catalog", "evaluate"]

log = logging.getLogger(__name__)

BY_AGN_METHODS = ("model", "photometry", "ceiling_optical_truths")
"""Methods scored by AGN group as well (``by_agn`` of the metrics)."""


def describe_catalog(path) -> str:
    """One line saying what a catalog is, from its HATS properties (simulated or not).

    A survey written by ``specir simulate`` says so, with its seed and size.
    """
    props = catalog_properties(path)
    if "specir_sim_seed" in props:
        return (
            f"SIMULATED survey ({props.get('specir_simulator', 'specir.sim')}, "
            f"seed {props['specir_sim_seed']}, n {props.get('specir_sim_n', '?')}): {path}"
        )
    return f"catalog {path} ({props.get('catalog_name', 'unnamed')}; not marked as simulated)"


def bundle_name(bundle) -> str:
    """How a bundle argument reads on a command line (``default`` or its path)."""
    return str(getattr(bundle, "path", bundle))


def _nmad_ratio(methods):
    """Per band, the model's NMAD over the photometry-only baseline's."""
    model, phot = methods["model"]["bands"], methods["photometry"]["bands"]
    return {b: model[b].get("nmad", np.nan) / phot[b].get("nmad", np.nan) for b in BAND_NAMES}


def _trained_on(train_catalog, tr, va, max_train_rows, cfg):
    return {
        "catalog": train_catalog,
        "description": describe_catalog(train_catalog),
        "n_train": len(tr),
        "n_val": len(va),
        "max_train_rows": max_train_rows,
        "epochs": cfg.epochs,
    }


def _provenance(command, options):
    """The command line that reproduces a run (options left at 0/None/False are left out)."""
    for flag, value in options.items():
        if value is True:
            command += f" {flag}"
        elif value:
            command += f" {flag} {value}"
    return {
        "command": command,
        "measured_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "code_commit": code_commit(),
    }


def _config_of(bundle, baseline_epochs):
    cfg = TrainConfig.from_dict(bundle.card["config"])
    if baseline_epochs:
        cfg = dataclasses.replace(cfg, epochs=int(baseline_epochs))
    return cfg


def _read(catalog, train_catalog, cfg, *, max_train_rows, max_eval_rows, progress):
    """Evaluation arrays and rows, training arrays and their train/val rows."""

    def read(path, max_rows):
        return read_catalog_arrays(
            path, cfg.columns, z_range=cfg.z_range, max_rows=max_rows, progress=progress
        )

    def labels(data):
        return split_labels(
            data["hp29"], order=cfg.split_order, fractions=cfg.split_fractions, seed=cfg.seed
        )

    data_eval = read(catalog, max_eval_rows)
    ev = np.arange(len(data_eval["z"]))
    same = Path(catalog).resolve() == Path(train_catalog).resolve()
    if same:
        ev = np.flatnonzero(labels(data_eval) == 2)
    # the same catalog is read once; the baselines use its train/val splits only
    data_train = data_eval if same and not max_eval_rows else read(train_catalog, max_train_rows)
    lab = labels(data_train)
    return data_eval, ev, data_train, np.flatnonzero(lab == 0), np.flatnonzero(lab == 1), same


def _all_predictions(b, data_eval, ev, data_train, tr, va, cfg, progress):
    preds = {"model": bundle_predictions(b, data_eval, ev)}
    if b.model.config.total_mag_input:
        preds["model_without_r_mag"] = bundle_predictions(b, data_eval, ev, hide_total_mag=True)
    preds["train_mean"] = baseline_mean(data_train, tr, ev, cfg)
    preds["photometry"] = baseline_photometry(
        data_train, tr, va, data_eval, ev, cfg, progress=progress
    )
    if np.isfinite(data_train["ugriz"]).all(axis=1).mean() > 0.5:
        preds["photometry_total"] = baseline_photometry(
            data_train, tr, va, data_eval, ev, cfg, source="catalog", progress=progress
        )
    preds["pca_rf"] = baseline_pca_rf(data_train, tr, data_eval, ev, cfg)
    if has_truths(data_train) and has_truths(data_eval):
        preds["ceiling_optical_truths"] = baseline_ceiling(data_train, tr, va, data_eval, ev, cfg)
        if has_truths(data_train, "dust_truths") and has_truths(data_eval, "dust_truths"):
            preds["ceiling_all_truths"] = baseline_ceiling(
                data_train, tr, va, data_eval, ev, cfg, dust=True
            )
    return preds


def _scores(b, preds, data, ev, snr_detect):
    """Every method's scores, the NMAD ratios, the scores by AGN group and the stress tests."""
    methods = {k: score(p, data, ev, snr_detect=snr_detect) for k, p in preds.items()}
    by_agn = {k: preds[k] for k in BY_AGN_METHODS if k in preds}
    return {
        "methods": methods,
        "nmad_ratio_vs_photometry": _nmad_ratio(methods),
        "by_agn": score_by_agn(by_agn, data, ev, snr_detect=snr_detect),
        "stress": stress_metrics(b, data, ev, snr_detect=snr_detect),
    }


def _options(out_dir, train_catalog, max_train_rows, max_eval_rows, baseline_epochs, write_card):
    """The command-line options of a run, for its provenance."""
    return {
        "--out": out_dir,
        "--train-catalog": train_catalog,
        "--max-train-rows": max_train_rows,
        "--max-eval-rows": max_eval_rows,
        "--baseline-epochs": baseline_epochs,
        "--write-card": write_card,
    }


def evaluate(
    bundle,
    catalog,
    out_dir,
    *,
    train_catalog=None,
    max_train_rows: int = 20000,
    max_eval_rows: int = 0,
    baseline_epochs: int | None = None,
    write_card: bool = False,
    card_entry: str = "heldout_evaluation",
    progress: bool = True,
) -> dict:
    """Score ``bundle`` and the baselines on ``catalog``; write JSON and PNGs to ``out_dir``.

    Parameters
    ----------
    bundle : str, path-like or ModelBundle
        The bundle to score (``"default"``: the shipped one).
    catalog : path-like
        HATS catalog to score on (a held-out survey, or the training catalog: test split).
    out_dir : path-like
        Receives ``metrics.json`` and the figures.
    train_catalog : path-like, optional
        Catalog the baselines train on (default: the one the bundle was trained on).
    max_train_rows, max_eval_rows : int
        Rows read from the training / evaluation catalog (0: all).
    baseline_epochs : int, optional
        Epochs of the photometry baselines (default: the bundle's).
    write_card : bool
        Also write the result into the bundle's ``model_card.json`` as ``card_entry``.
    card_entry : str
        The card entry (default ``heldout_evaluation``; e.g. ``heldout_lowz`` for a held-out
        survey of nearby galaxies).

    Returns
    -------
    dict
        The metrics written to ``out_dir/metrics.json``.
    """
    from specir.figures import write_figures

    if not str(card_entry).startswith("heldout_"):
        raise SpecIRInputError(
            "card_entry", f"is {card_entry!r}", "name it heldout_<something>, e.g. heldout_lowz"
        )
    b = load_bundle(bundle, device="cpu")
    cfg = _config_of(b, baseline_epochs)
    train_catalog = str(train_catalog or cfg.catalog)
    data_eval, ev, data_train, tr, va, same = _read(
        catalog,
        train_catalog,
        cfg,
        max_train_rows=max_train_rows,
        max_eval_rows=max_eval_rows,
        progress=progress,
    )
    preds = _all_predictions(b, data_eval, ev, data_train, tr, va, cfg, progress)
    options = _options(
        out_dir, train_catalog, max_train_rows, max_eval_rows, baseline_epochs, write_card
    )
    options["--card-entry"] = None if card_entry == "heldout_evaluation" else card_entry
    result = {
        **_provenance(f"specir evaluate {bundle_name(bundle)} {catalog}", options),
        "bundle": str(b.path),
        "bundle_sha256": b.card["sha256"],
        "catalog": str(catalog),
        "measured_on": describe_catalog(catalog),
        "scored_rows": "HEALPix test split" if same else "all rows",
        "n_eval": len(ev),
        "baselines_trained_on": _trained_on(train_catalog, tr, va, max_train_rows, cfg),
        **_scores(b, preds, data_eval, ev, cfg.snr_detect),
    }
    result = json.loads(json.dumps(result, default=float))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    write_figures(out, preds, data_eval, ev, cfg.snr_detect)
    if write_card:
        write_card_entry(b.path, card_entry, result)
        log.info("wrote the held-out metrics into %s", b.path / "model_card.json")
    return result
