"""``specir sedfit``: bagpipes fits of a catalog's galaxies, resumable, scored against the truth.

:func:`sedfit_catalog` fits the first ``n`` galaxies (by ``id``) of a HATS catalog with each
set-up of :mod:`specir.analysis.sedfit`, one Dask task per galaxy and set-up on
:func:`specir.cluster.dask_client`. Each result is written atomically to
``out/fits/<setup>/<id>.json`` as soon as it is done, so a killed run resumes where it stopped
and gives the same result (each fit's sampler is seeded by the galaxy's id); a fit whose stored
set-up differs from the one asked for is redone.
:func:`score_fits` then scores every set-up that has results, and the network on the same
galaxies, against the simulated truth (``wN_flux_true``) or, in a real catalog, the observed
WISE detections: per band the bias, NMAD and χ²_N of the Vega magnitudes with bootstrap errors
(:func:`specir.analysis.stats.bootstrap_stats`), overall, for AGN-free galaxies, and per redshift
and stellar-mass bin; on a simulated catalog also the fitted stellar mass, SFR, attenuation and
metallicity against their truths (:data:`PARAMETERS`), and ``drivers``: each band's AGN-free
residual regressed on those parameter errors, whose intercept is the residual left were every
parameter fitted at its truth. Written to ``out/sedfit.json``.
"""

import itertools
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from specir.analysis.stats import bootstrap_stats, residual_drivers
from specir.bands import BAND_NAMES, mjy_to_mag
from specir.errors import SpecIRInputError

__all__ = [
    "MASS_EDGES",
    "PARAMETERS",
    "TRUTHS",
    "Z_EDGES",
    "read_galaxies",
    "score_fits",
    "sedfit_catalog",
]

log = logging.getLogger(__name__)

Z_EDGES = (0.0, 0.08, 0.14, 0.4)
"""Redshift bins of the score tables."""
PARAMETERS = ("log_mstar", "log_sfr", "av", "log_metallicity")
"""Fitted physical parameters scored against the simulated truth (:data:`TRUTHS`): posterior
median and standard deviation against the truth, in the report's ``parameters``; ``av`` is the
posterior's ``dust:Av``, ``log_metallicity`` log10 of its star-formation history's stellar
metallicity (Z☉). Their errors are also what the report's ``drivers`` regress each band's
residual on (:func:`specir.analysis.stats.residual_drivers`)."""
TRUTHS = {"log_mstar": "log_mstar_true", "log_sfr": "log_sfr_true", "av": "av_true",
          "log_metallicity": "metallicity_true"}  # fmt: skip
"""Truth column of each of :data:`PARAMETERS` (metallicity stored linear, in Z☉)."""
MASS_EDGES = (7.0, 10.3, 10.9, 13.0)
"""log10 stellar-mass bins (true mass; fitted mass on a real catalog) of the score tables."""
_COLUMNS = ("id", "z", "flux", "ivar", "mask", "modelmag_u", "modelmag_g", "modelmag_r",
            "modelmag_i", "modelmag_z")  # fmt: skip
_OPTIONAL = ("log_mstar_true", "log_sfr_true", "av_true", "metallicity_true", "agn_type_true",
             "w1_flux_true", "w2_flux_true", "w3_flux_true", "w4_flux_true", "w1mpro", "w2mpro",
             "w3mpro", "w4mpro",
             "w1sigmpro", "w2sigmpro", "w3sigmpro", "w4sigmpro")  # fmt: skip


def read_galaxies(catalog, n=0):
    """The first ``n`` galaxies by ``id`` (0: all) as a pandas DataFrame."""
    import lsdb

    try:
        cat = lsdb.read_hats(str(catalog))
    except Exception as exc:  # lsdb raises several types for a non-catalog
        raise SpecIRInputError(
            "catalog", f"{catalog} is not a readable HATS catalog ({exc})", "pass a HATS folder"
        ) from exc
    missing = [c for c in _COLUMNS if c not in cat.columns]
    if missing:
        raise SpecIRInputError("catalog", f"lacks columns {missing}", "use specir's columns")
    cols = [*_COLUMNS, *(c for c in _OPTIONAL if c in cat.columns)]
    df = cat[cols].compute().sort_values("id").reset_index(drop=True)
    return df.iloc[: int(n)] if n else df


def _galaxy_inputs(row):
    ivar = np.asarray(row["ivar"], float) * (1 - np.asarray(row["mask"], float))
    ugriz = np.array([row[f"modelmag_{b}"] for b in "ugriz"], float)
    return np.asarray(row["flux"], float), ivar, ugriz, float(row["z"])


def _fit_one(row, setup, path, seed):
    """Fit one galaxy with one set-up and write its JSON atomically (runs on a Dask worker)."""
    from specir.analysis.sedfit import fit_galaxy

    flux, ivar, ugriz, z = _galaxy_inputs(row)
    try:
        res = fit_galaxy(flux, ivar, ugriz, z, config=setup, seed=seed)
    except SpecIRInputError as exc:
        res = {"error": str(exc)}
    record = {"id": int(row["id"]), "setup": setup if isinstance(setup, str) else setup.name}
    for key, value in res.items():
        record[key] = value.tolist() if isinstance(value, np.ndarray) else value
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)
    return record.get("seconds", 0.0)


def _done_with(path, cfg):
    """Whether ``path`` holds a fit made with set-up ``cfg`` (a fit made with other settings,
    for example before a set-up was corrected, is redone, not mixed into the scores)."""
    import dataclasses

    try:
        stored = json.loads(Path(path).read_text()).get("config")
    except (OSError, ValueError):
        return False
    if stored is None:  # an input the fitter refused: nothing to redo
        return True
    want = json.loads(json.dumps(dataclasses.asdict(cfg)))
    if stored != want:
        log.warning("%s was fitted with other settings: refitting", path)
        return False
    return True


def sedfit_catalog(catalog, out, *, n=0, setups=("matched", "standard"), workers=1,
                   scheduler=None, overrides=None):  # fmt: skip
    """Fit, resumably, the first ``n`` galaxies of ``catalog`` with each set-up; then score.

    Parameters
    ----------
    catalog : str or path
        HATS catalog with spectra, ugriz (``modelmag_*``) and, for scoring, truths or WISE.
    out : str or path
        Output folder; ``out/fits/<setup>/<id>.json`` per fit and ``out/sedfit.json``.
    n : int
        Galaxies to fit (first by id; 0: all).
    setups : sequence of str
        ``"matched"``, ``"standard"`` or TOML paths (:func:`~specir.analysis.sedfit.fitter_config`).
    workers, scheduler
        As in :func:`specir.cluster.dask_client`.
    overrides : dict, optional
        Fields replaced in every set-up (for example short sampler settings).

    Returns
    -------
    dict
        The scores (what ``sedfit.json`` holds).
    """
    from dask.distributed import as_completed
    from tqdm.auto import tqdm

    from specir.analysis.sedfit import fitter_config
    from specir.cluster import dask_client

    configs = {}
    for s in setups:
        cfg = fitter_config(s, **(overrides or {}))
        configs[cfg.name] = cfg
    out = Path(out)
    df = read_galaxies(catalog, n)
    todo = []
    for _, row in df.iterrows():  # interleave set-ups so each has the same N at any time
        for name, cfg in configs.items():
            path = out / "fits" / name / f"{int(row['id'])}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            if not _done_with(path, cfg):
                todo.append((row, cfg, path, int(row["id"])))
    log.info("%d fits to do (%d galaxies x %d set-ups)", len(todo), len(df), len(configs))
    if todo:
        with dask_client(workers=workers, scheduler=scheduler) as client:
            futures = [client.submit(_fit_one, *t, pure=False) for t in todo]
            for fut in tqdm(as_completed(futures), total=len(futures), desc="SED fits"):
                fut.result()
    return score_fits(catalog, out, n=n, configs=configs)


def _load_fits(out, setup, ids, cfg=None):
    """Predictions of the fits of ``setup`` found for ``ids``; with ``cfg``, only those made
    with exactly that set-up (:func:`_done_with`)."""
    preds = np.full((len(ids), 4, 2), np.nan)
    seconds, cpu = [], []
    params = np.full((len(ids), len(PARAMETERS), 2), np.nan)  # posterior median, sd
    for i, gid in enumerate(ids):
        path = Path(out) / "fits" / setup / f"{gid}.json"
        if not path.exists() or (cfg is not None and not _done_with(path, cfg)):
            continue
        rec = json.loads(path.read_text())
        if "w_mjy" not in rec:
            continue
        mags = mjy_to_mag(np.clip(np.asarray(rec["w_mjy"]), 1e-12, None))
        preds[i, :, 0], preds[i, :, 1] = mags.mean(axis=0), mags.std(axis=0, ddof=1)
        for j, key in enumerate(PARAMETERS):
            samples = _samples(rec, key)
            if samples.size > 1:
                params[i, j] = np.median(samples), np.std(samples, ddof=1)
        seconds.append(rec["seconds"])
        cpu.append(rec.get("cpu_seconds", np.nan))
    return preds, seconds, cpu, params


_POSTERIOR = {"av": "dust:Av", "log_metallicity": ":metallicity"}
"""Posterior column of the :data:`PARAMETERS` a fit stores only in its posterior: an exact name,
or (leading ``:``) the suffix of the star-formation history's column (not ``nebular:``)."""


def _samples(rec, key):
    """Posterior samples of one of :data:`PARAMETERS` in a stored fit (empty if absent)."""
    if key in rec:
        return np.asarray(rec[key], float)
    post, want = rec.get("posterior", {}), _POSTERIOR.get(key)
    names = post.get("names", [])
    cols = [
        i
        for i, name in enumerate(names)
        if want is not None
        and (name == want or (want.startswith(":") and name.endswith(want)))
        and not name.startswith("nebular:")
    ]
    if not cols:
        return np.array([])
    values = np.asarray(post["samples"], float)[:, cols[0]]
    return _log10(values) if key == "log_metallicity" else values


def _log10(values):
    """log10, NaN (not -inf and a warning) where a metallicity is not positive."""
    values = np.asarray(values, float)
    return np.log10(np.where(values > 0, values, np.nan))


def _truth(df, key):
    values = df[TRUTHS[key]].to_numpy(float)
    return _log10(values) if key == "log_metallicity" else values


def _network(df, model="default"):
    """The network's W1–W4 (mean, σ) for the rows of ``df`` and its spectra per second
    (preparation and prediction, after loading the bundle and one warm-up call)."""
    from specir.bundle import load_bundle
    from specir.predict import predict_prepared
    from specir.spectra import prepare_grid_arrays

    model = load_bundle(model, device="cpu")

    flux = np.stack([np.asarray(f, float) for f in df["flux"]])
    ivar = np.stack([np.asarray(v, float) for v in df["ivar"]])
    mask = np.stack([np.asarray(m, bool) for m in df["mask"]])
    prep = prepare_grid_arrays(flux[:1], ivar[:1], df["z"].to_numpy(float)[:1], mask=mask[:1])
    predict_prepared(prep, model=model)
    start = time.perf_counter()
    prep = prepare_grid_arrays(flux, ivar, df["z"].to_numpy(float), mask=mask)
    table = predict_prepared(prep, r_mag=df["modelmag_r"].to_numpy(float), model=model)
    rate = len(df) / (time.perf_counter() - start)
    pred = np.stack(
        [np.stack([table[f"{b}_mag"].value, table[f"{b}_mag_err"].value], 1) for b in BAND_NAMES],
        1,
    )
    return pred, rate


def _reference(df):
    """Reference magnitudes (n, 4), their errors and what they are."""
    if all(f"{b}_flux_true" in df for b in BAND_NAMES):
        ref = mjy_to_mag(np.stack([df[f"{b}_flux_true"].to_numpy(float) for b in BAND_NAMES], 1))
        return ref, np.zeros_like(ref), "simulated truth (noise-free W1-W4)"
    ref = np.stack([df[f"{b}mpro"].to_numpy(float) for b in BAND_NAMES], 1)
    err = np.stack([df[f"{b}sigmpro"].to_numpy(float) for b in BAND_NAMES], 1)
    return np.where(np.isfinite(err), ref, np.nan), err, "observed WISE detections"


def _table(preds, ref, ref_err, sel):
    return {
        method: {
            b: bootstrap_stats(p[sel, i, 0], p[sel, i, 1], ref[sel, i], ref_err[sel, i])
            for i, b in enumerate(BAND_NAMES)
        }
        for method, p in preds.items()
    }


def _parameter_scores(params, df, groups):
    """Fitted (posterior median ± sd) against true :data:`PARAMETERS`, all and AGN-free."""
    return {
        g: {
            s: {
                p: bootstrap_stats(v[sel, j, 0], v[sel, j, 1], _truth(df, p)[sel])
                for j, p in enumerate(PARAMETERS)
                if TRUTHS[p] in df
            }
            for s, v in params.items()
        }
        for g, sel in groups.items()
        if g in ("all", "agn_free") and sel.sum() >= 1
    }


def _drivers(preds, params, ref, df, sel):
    """Per fitter set-up and band, the AGN-free residuals regressed on the fitted-minus-true
    :data:`PARAMETERS` (posterior medians): how much of a bias the parameter errors explain."""
    out = {}
    for setup, v in params.items():
        errors = {p: v[sel, j, 0] - _truth(df, p)[sel] for j, p in enumerate(PARAMETERS)}
        out[setup] = {
            b: residual_drivers(preds[setup][sel, i, 0] - ref[sel, i], errors)
            for i, b in enumerate(BAND_NAMES)
        }
    return out


def score_fits(catalog, out, *, n=0, setups=("matched", "standard"), model="default",
               configs=None):  # fmt: skip
    """Score the fits found under ``out`` (and the network on the same galaxies); see module.

    ``configs`` (set-up name to :class:`~specir.analysis.sedfit.FitterConfig`) replaces
    ``setups`` and scores only the fits made with exactly those set-ups.
    """
    configs = dict(configs or {})
    setups = tuple(configs) or tuple(setups)
    df = read_galaxies(catalog, n)
    ids = df["id"].to_numpy(int)
    net, net_rate = _network(df, model)
    preds, rates, params = {}, {}, {}
    for s in setups:
        preds[s], seconds, cpu, params[s] = _load_fits(out, s, ids, configs.get(s))
        rates[s] = {
            "fits": len(seconds),
            "seconds_per_fit": float(np.mean(seconds)) if seconds else float("nan"),
            "cpu_seconds_per_fit": float(np.nanmean(cpu)) if np.isfinite(cpu).any() else None,
        }
    done = np.all([np.isfinite(p[:, 0, 0]) for p in preds.values()], axis=0)
    if not done.any():
        raise SpecIRInputError("out", f"holds no finished fits under {out}/fits", "run the fits")
    df, ids = df[done].reset_index(drop=True), ids[done]
    preds = {k: v[done] for k, v in preds.items()}
    params = {k: v[done] for k, v in params.items()}
    preds["network"] = net[done]
    ref, ref_err, ref_kind = _reference(df)
    # true mass bins on a simulated catalog, else the first set-up's fitted mass
    logm_fit = next(iter(params.values()))[:, PARAMETERS.index("log_mstar"), 0]
    logm = df["log_mstar_true"].to_numpy(float) if "log_mstar_true" in df else logm_fit
    groups = {"all": np.ones(len(df), bool)}
    if "agn_type_true" in df:
        groups["agn_free"] = df["agn_type_true"].to_numpy() == 0
    z = df["z"].to_numpy(float)
    for name, values, edges in (("z", z, Z_EDGES), ("log_mstar", logm, MASS_EDGES)):
        for lo, hi in itertools.pairwise(edges):
            groups[f"{name} {lo}-{hi}"] = (values >= lo) & (values < hi)
    report = {
        "catalog": str(catalog),
        "reference": ref_kind,
        "n": len(df),
        "ids": ids.tolist(),
        "rates": {**rates, "network_spectra_per_second": net_rate},
        "groups": {
            g: {"n": int(sel.sum()), "stats": _table(preds, ref, ref_err, sel)}
            for g, sel in groups.items()
            if sel.sum() >= 1
        },
    }
    if any(TRUTHS[p] in df for p in PARAMETERS):
        report["parameters"] = _parameter_scores(params, df, groups)
    if "agn_free" in groups and all(TRUTHS[p] in df for p in PARAMETERS):
        report["drivers"] = _drivers(preds, params, ref, df, groups["agn_free"])
    path = Path(out) / "sedfit.json"
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    os.replace(tmp, path)
    return report
