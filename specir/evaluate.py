"""``specir evaluate BUNDLE CATALOG --out DIR``: score a bundle against baselines.

Metrics, per band, over detections (``wNsnr >= snr_detect``), in Vega magnitudes:

- ``chi2_n`` = mean of (pred − obs)² / (σ_pred² + σ_obs²) (1 for calibrated errors);
- ``coverage_68`` / ``coverage_95``: fraction with |pred − obs| ≤ 1 σ_tot / 1.96 σ_tot;
- ``rms`` and ``nmad`` (1.4826 × median |r − median r|) of the residuals r = pred − obs, and of
  pred − true where the catalog holds ``wN_flux_true``;
- colour residuals W1−W2 and W2−W3 (rows detected in both bands);
- log L_AGN (true AGN only) and q_PAH: rms, nmad, 68% coverage; AGN-presence accuracy.

Baselines, trained in the same run on the bundle's training catalog (its training split):
(a) ``train_mean``: the training mean and standard deviation of each band; (b) ``photometry``
(the paper's "photometry only"): the same heads, with the same conditions (z, normalisation,
total r magnitude), fed synthetic ugriz magnitudes *of the spectrum* (through speclite's SDSS
curves) instead of the spectrum, so that it differs from the model only in seeing broad bands
rather than the spectrum; (c) ``pca_rf``: a random forest on a 20-component PCA of the
normalised spectra (plus z and log norm), σ from the spread of its trees. For transparency a
fourth, ``photometry_total``, is fed the catalog's *total* ugriz magnitudes (``modelmag_*``,
when the catalog has them), which carry the whole galaxy's colours.

The bundle is scored twice when it takes a total r-band magnitude: ``model`` (with the catalog's
``modelmag_r``, the intended use) and ``model_without_r_mag`` (spectrum only, as for a spectrum
whose photometry is unknown).

On a simulated survey (truth columns present) two more rows bound what is possible rather than
compete: ``ceiling_optical_truths``, gradient-boosted trees fed the simulated truths that the
optical light carries (stellar mass, SFR, metallicities, A_V, velocity dispersion, AGN, z, total
r), and ``ceiling_all_truths``, which also sees the dust-emission truths (q_PAH, U_min, γ) that
the simulator draws with scatter of their own. No reading of the spectrum can do better than
the first; the gap between them is the infrared scatter the optical light does not carry.

When CATALOG is the bundle's own training catalog, only its HEALPix test split is scored.
"""

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np

from specir.bands import BAND_NAMES, mjy_to_mag

__all__ = ["evaluate", "metrics_for_split", "score"]

log = logging.getLogger(__name__)


def _nmad(r):
    r = r[np.isfinite(r)]
    return float(1.4826 * np.median(np.abs(r - np.median(r)))) if len(r) else float("nan")


def _rms(r):
    r = r[np.isfinite(r)]
    return float(np.sqrt(np.mean(r**2))) if len(r) else float("nan")


def _gauss_stats(pred, sig, obs, obs_err=0.0):
    ok = np.isfinite(pred) & np.isfinite(obs) & np.isfinite(sig)
    if not ok.any():
        return {"n": 0}
    r = pred[ok] - obs[ok]
    tot = np.sqrt(sig[ok] ** 2 + (obs_err[ok] if np.ndim(obs_err) else obs_err) ** 2)
    chi = r / tot
    return {
        "n": int(ok.sum()),
        "chi2_n": float(np.mean(chi**2)),
        "coverage_68": float(np.mean(np.abs(chi) <= 1.0)),
        "coverage_95": float(np.mean(np.abs(chi) <= 1.959964)),
        "bias": float(np.median(r)),
        "rms": _rms(r),
        "nmad": _nmad(r),
    }


def score(pred, data, idx, *, snr_detect=2.0):
    """Metrics of predictions ``pred`` (dict of numpy arrays) on rows ``idx`` of ``data``."""
    from specir.dataset import targets_from

    det, _ = targets_from(data, snr_detect=snr_detect)
    det = det[idx]
    mag, err = data["mag"][idx], data["mag_err"][idx]
    mu, sig = pred["mag_mu"], pred["mag_sig"]
    out = {"bands": {}, "colours": {}}
    true_mag = mjy_to_mag(data["flux_true"][idx])
    for i, b in enumerate(BAND_NAMES):
        d = det[:, i]
        m = _gauss_stats(mu[d, i], sig[d, i], mag[d, i], err[d, i])
        t = np.isfinite(true_mag[:, i])
        if t.any():
            m["vs_true"] = {
                "rms": _rms(mu[t, i] - true_mag[t, i]),
                "nmad": _nmad(mu[t, i] - true_mag[t, i]),
            }
        out["bands"][b] = m
    for i, j in ((0, 1), (1, 2)):
        both = det[:, i] & det[:, j]
        r = (mu[both, i] - mu[both, j]) - (mag[both, i] - mag[both, j])
        out["colours"][f"{BAND_NAMES[i]}_{BAND_NAMES[j]}"] = {
            "n": int(both.sum()),
            "bias": float(np.median(r)) if len(r) else float("nan"),
            "rms": _rms(r),
            "nmad": _nmad(r),
        }
    if "lagn_mu" in pred:
        agn = np.nan_to_num(data["agn_type_true"][idx]) > 0
        truth = np.where(agn, data["log_lagn_true"][idx], np.nan)
        out["log_lagn"] = _gauss_stats(pred["lagn_mu"], pred["lagn_sig"], truth)
        known = np.isfinite(data["agn_type_true"][idx])
        if known.any() and "p_agn" in pred:
            out["agn_presence_accuracy"] = float(
                np.mean((pred["p_agn"][known] >= 0.5) == agn[known])
            )
    if "qpah_mu" in pred:
        out["q_pah"] = _gauss_stats(pred["qpah_mu"], pred["qpah_sig"], data["q_pah_true"][idx])
    return out


def _chis(pred, data, idx, snr_detect):
    from specir.dataset import targets_from

    det = targets_from(data, snr_detect=snr_detect)[0][idx]
    r = (pred["mag_mu"] - data["mag"][idx]) / np.sqrt(
        pred["mag_sig"] ** 2 + data["mag_err"][idx] ** 2
    )
    return [r[det[:, i], i] for i in range(4)]


def network_predictions(model, data, idx, *, forward_inputs=None, batch=1024, hide_total_mag=False):
    """Network outputs (numpy; σ instead of log σ) on rows ``idx``.

    ``hide_total_mag`` withholds the total r-band magnitude (the spectrum-only prediction).
    """
    import torch

    model.eval()
    device = next(model.parameters()).device
    outs = []
    with torch.inference_mode():
        for s in range(0, len(idx), batch):
            i = idx[s : s + batch]
            if forward_inputs is None:
                r_mag = np.full(len(i), np.nan) if hide_total_mag else data["r_mag"][i]
                args = [data["flux"][i], data["valid"][i], data["z"][i], data["norm"][i], r_mag]
            else:
                args = [data[k][i] for k in forward_inputs]
            o = model(
                *(torch.as_tensor(np.asarray(a), dtype=torch.float32).to(device) for a in args)
            )
            outs.append({k: v.float().cpu().numpy().astype(np.float64) for k, v in o.items()})
    o = {k: np.concatenate([x[k] for x in outs]) for k in outs[0]}
    return {
        "mag_mu": o["mag_mu"],
        "mag_sig": np.exp(o["mag_logsig"]),
        "lagn_mu": o["lagn_mu"],
        "lagn_sig": np.exp(o["lagn_logsig"]),
        "p_agn": 1 / (1 + np.exp(-o["agn_logit"])),
        "qpah_mu": o["qpah_mu"],
        "qpah_sig": np.exp(o["qpah_logsig"]),
    }


def metrics_for_split(model, data, idx, snr_detect=2.0):
    """Metrics of a spectrum model on rows ``idx`` (used for the model card)."""
    if len(idx) == 0:
        return {"n": 0}
    return {
        "n": len(idx),
        **score(network_predictions(model, data, idx), data, idx, snr_detect=snr_detect),
    }


# ---------------------------------------------------------------- baselines
def synthetic_ugriz(data):
    """ugriz AB magnitudes of the spectra through speclite's SDSS curves (edge-padded)."""
    import astropy.units as u
    import speclite.filters

    from specir.grid import grid_wavelength

    filt = speclite.filters.load_filters("sdss2010-*")
    wave = grid_wavelength()
    out = []
    for s in range(0, len(data["z"]), 4096):  # bounded memory
        flux = data["flux"][s : s + 4096] * data["norm"][s : s + 4096, None] * 1e-17
        flux, wave_p = filt.pad_spectrum(flux, wave, method="edge")
        mags = filt.get_ab_magnitudes(flux * u.erg / (u.s * u.cm**2 * u.AA), wave_p * u.AA)
        out.append(np.stack([np.asarray(mags[n], float) for n in mags.colnames], axis=1))
    return np.concatenate(out)


def _photometry_features(data, source="synthetic"):
    ugriz = synthetic_ugriz(data) if source == "synthetic" else data["ugriz"]
    ugriz = np.where(np.isfinite(ugriz), ugriz, np.nanmedian(ugriz, axis=0))
    return ugriz


def _photometry_net(config):
    import torch
    from torch import nn

    from specir.model import _MLP, SpecIRNet

    class PhotometryNet(SpecIRNet):
        """The same heads, fed an MLP summary of ugriz photometry instead of the spectrum."""

        def __init__(self, cfg):
            super().__init__(cfg)
            self.conv = nn.Identity()
            self.encoder_mlp = _MLP(5, cfg.mlp_hidden, cfg.latent_dim, 2, cfg.dropout)
            self.register_buffer("phot_shift", torch.zeros(5))
            self.register_buffer("phot_scale", torch.ones(5))

        def forward(self, phot, z, norm, r_mag=None):
            latent = self.encoder_mlp((phot - self.phot_shift) / self.phot_scale)
            return self.heads(latent, self.conditions(z, norm, r_mag))

    return PhotometryNet(config)


def baseline_photometry(
    data_train, tr, va, data_eval, ev, cfg, *, source="synthetic", progress=True
):
    import torch

    from specir.dataset import targets_from
    from specir.train import fit, standardise_from

    data_train = {**data_train, "phot": _photometry_features(data_train, source)}
    data_eval = {**data_eval, "phot": _photometry_features(data_eval, source)}
    torch.manual_seed(cfg.seed)
    net = _photometry_net(cfg.model)
    standardise_from(net, data_train, targets_from(data_train, snr_detect=cfg.snr_detect)[0], tr)
    p = data_train["phot"][tr]
    net.phot_shift.copy_(torch.as_tensor(p.mean(0), dtype=torch.float32))
    net.phot_scale.copy_(torch.as_tensor(np.maximum(p.std(0), 1e-3), dtype=torch.float32))

    keys = ("phot", "z", "norm", "r_mag")

    def forward(model, b, device):
        return model(*(b[k].to(device) for k in keys))

    desc = f"photometry ({source}) baseline"
    fit(net, data_train, tr, va, cfg, forward=forward, desc=desc, progress=progress)
    return network_predictions(net, data_eval, ev, forward_inputs=keys)


def baseline_pca_rf(data_train, tr, data_eval, ev, cfg, *, n_components=20):
    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestRegressor

    from specir.dataset import targets_from

    def spectra(d, i):
        return np.where(d["valid"][i], d["flux"][i], 0.0)

    pca = PCA(n_components=n_components, random_state=cfg.seed).fit(spectra(data_train, tr))

    def features(d, i):
        cond = np.stack([np.log1p(d["z"][i]), np.log10(np.clip(d["norm"][i], 1e-6, None))], 1)
        return np.hstack([pca.transform(spectra(d, i)), cond])

    xtr, xev = features(data_train, tr), features(data_eval, ev)
    det = targets_from(data_train, snr_detect=cfg.snr_detect)[0][tr]
    out = {k: np.full((len(ev), 4), np.nan) for k in ("mag_mu", "mag_sig")}

    def forest(x, y):
        rf = RandomForestRegressor(
            n_estimators=100, min_samples_leaf=5, max_features=0.5, n_jobs=2, random_state=cfg.seed
        ).fit(x, y)
        trees = np.stack([t.predict(xev) for t in rf.estimators_])
        return trees.mean(0), trees.std(0)

    for i in range(4):
        if det[:, i].sum() > 10:
            out["mag_mu"][:, i], out["mag_sig"][:, i] = forest(
                xtr[det[:, i]], data_train["mag"][tr][det[:, i], i]
            )
    for key, name in (("log_lagn_true", "lagn"), ("q_pah_true", "qpah")):
        y = data_train[key][tr]
        ok = np.isfinite(y)
        if ok.sum() > 10:
            out[f"{name}_mu"], out[f"{name}_sig"] = forest(xtr[ok], y[ok])
    return out


def has_truths(data, key="optical_truths"):
    """Whether most rows carry the simulated truths named ``key`` (a simulated survey)."""
    block = data.get(key)
    return block is not None and block.shape[1] > 0 and np.isfinite(block).any(1).mean() > 0.5


def baseline_ceiling(data_train, tr, va, data_eval, ev, cfg, *, dust=False):
    """Information ceiling on a simulated survey: trees fed the truths, not the light.

    Gradient-boosted trees per band, trained on the detections of the training split, see z,
    the total r magnitude, the AGN truths and the simulated truths that the optical light
    carries (stellar mass, SFR, stellar and gas metallicity, A_V, velocity dispersion); with
    ``dust=True`` also the dust-emission truths (q_PAH, U_min, γ), which the simulator draws
    with scatter of their own. No spectrum can tell more than these truths, so the result
    bounds what any model of the spectrum can reach on this survey. σ: one per band, from the
    validation residuals less the observed errors.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor

    from specir.dataset import targets_from

    def features(d, i):
        blocks = [
            np.log1p(d["z"][i])[:, None],
            d["r_mag"][i][:, None],
            d["log_lagn_true"][i][:, None],
            d["agn_type_true"][i][:, None],
            d["optical_truths"][i],
        ]
        if dust:
            blocks.append(d["dust_truths"][i])
        return np.hstack(blocks)

    det = targets_from(data_train, snr_detect=cfg.snr_detect)[0]
    mag, err = data_train["mag"], data_train["mag_err"]
    x_tr, x_va, x_ev = (
        features(d, i) for d, i in ((data_train, tr), (data_train, va), (data_eval, ev))
    )
    informative = np.isfinite(x_tr).any(0)  # a truth absent from the catalog is all-NaN
    x_tr, x_va, x_ev = x_tr[:, informative], x_va[:, informative], x_ev[:, informative]
    out = {k: np.full((len(ev), 4), np.nan) for k in ("mag_mu", "mag_sig")}
    for b in range(4):
        dt, dv = det[tr, b], det[va, b]
        if dt.sum() < 20 or dv.sum() < 5:
            continue
        gbm = HistGradientBoostingRegressor(
            max_iter=500, learning_rate=0.05, early_stopping=True, random_state=cfg.seed
        ).fit(x_tr[dt], mag[tr, b][dt])
        r = gbm.predict(x_va[dv]) - mag[va, b][dv]
        var = np.mean(r**2) - np.mean(err[va, b][dv] ** 2)
        out["mag_mu"][:, b] = gbm.predict(x_ev)
        out["mag_sig"][:, b] = np.sqrt(max(var, 1e-4))
    return out


def baseline_mean(data_train, tr, ev, cfg):
    from specir.dataset import targets_from

    det = targets_from(data_train, snr_detect=cfg.snr_detect)[0][tr]
    mags = np.where(det, data_train["mag"][tr], np.nan)
    out = {
        "mag_mu": np.tile(np.nanmean(mags, 0), (len(ev), 1)),
        "mag_sig": np.tile(np.nanstd(mags, 0), (len(ev), 1)),
    }
    for key, name in (("log_lagn_true", "lagn"), ("q_pah_true", "qpah")):
        y = data_train[key][tr]
        if np.isfinite(y).any():
            out[f"{name}_mu"] = np.full(len(ev), np.nanmean(y))
            out[f"{name}_sig"] = np.full(len(ev), np.nanstd(y))
    return out


# ---------------------------------------------------------------- figures
def _figures(out, preds, data, idx, snr_detect):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from specir.dataset import targets_from

    det = targets_from(data, snr_detect=snr_detect)[0][idx]
    model = preds["model"]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4))
    for i, ax in enumerate(axes):
        d = det[:, i]
        ax.scatter(data["mag"][idx][d, i], model["mag_mu"][d, i], s=2, alpha=0.4)
        lo, hi = np.nanpercentile(data["mag"][idx][d, i], [0.5, 99.5]) if d.any() else (0, 1)
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        ax.set(xlabel=f"observed {BAND_NAMES[i].upper()} [Vega mag]", ylabel="predicted [Vega mag]")
    fig.tight_layout()
    fig.savefig(out / "pred_vs_obs.png", dpi=100)
    plt.close(fig)
    fig, axes = plt.subplots(1, 4, figsize=(16, 4))
    x = np.linspace(-5, 5, 201)
    for name, pred in preds.items():
        for i, chi in enumerate(_chis(pred, data, idx, snr_detect)):
            axes[i].hist(
                np.clip(chi, -5, 5),
                bins=50,
                range=(-5, 5),
                density=True,
                histtype="step",
                label=name,
            )
    for i, ax in enumerate(axes):
        ax.plot(x, np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi), "k--", lw=1, label="N(0,1)")
        ax.set(xlabel=f"χ {BAND_NAMES[i].upper()}", yscale="log", ylim=(1e-4, 1))
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "chi_hist.png", dpi=100)
    plt.close(fig)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, key, truth, label in (
        (axes[0], "lagn_mu", "log_lagn_true", "log L_AGN [erg/s]"),
        (axes[1], "qpah_mu", "q_pah_true", "q_PAH [%]"),
    ):
        t = data[truth][idx]
        if key in model and np.isfinite(t).any():
            ax.scatter(t, model[key], s=2, alpha=0.4)
            lo, hi = np.nanmin(t), np.nanmax(t)
            ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        ax.set(xlabel=f"true {label}", ylabel=f"predicted {label}")
    fig.tight_layout()
    fig.savefig(out / "lagn_qpah.png", dpi=100)
    plt.close(fig)


def evaluate(
    bundle,
    catalog,
    out_dir,
    *,
    train_catalog=None,
    max_train_rows=20000,
    max_eval_rows=0,
    baseline_epochs=None,
    progress=True,
):
    """Score ``bundle`` and the baselines on ``catalog``; write JSON and PNGs to ``out_dir``.

    Returns
    -------
    dict
        The metrics written to ``out_dir/metrics.json``.
    """
    from specir.bundle import load_bundle
    from specir.dataset import ColumnMap, read_catalog_arrays, split_labels
    from specir.model import ModelConfig
    from specir.train import TrainConfig

    b = load_bundle(bundle, device="cpu")
    c = dict(b.card["config"])
    c["columns"], c["model"] = ColumnMap(**c["columns"]), ModelConfig(**c["model"])
    cfg = TrainConfig(**c)
    if baseline_epochs:
        cfg = dataclasses.replace(cfg, epochs=int(baseline_epochs))
    train_catalog = str(train_catalog or cfg.catalog)
    data_eval = read_catalog_arrays(
        catalog, cfg.columns, z_range=cfg.z_range, max_rows=max_eval_rows, progress=progress
    )
    ev = np.arange(len(data_eval["z"]))
    same = Path(catalog).resolve() == Path(train_catalog).resolve()
    if same:
        labels = split_labels(
            data_eval["hp29"], order=cfg.split_order, fractions=cfg.split_fractions, seed=cfg.seed
        )
        ev = np.flatnonzero(labels == 2)
    if same and not max_eval_rows:
        data_train = data_eval  # read once; the baselines use its train/val splits only
    else:
        data_train = read_catalog_arrays(
            train_catalog,
            cfg.columns,
            z_range=cfg.z_range,
            max_rows=max_train_rows,
            progress=progress,
        )
    labels = split_labels(
        data_train["hp29"], order=cfg.split_order, fractions=cfg.split_fractions, seed=cfg.seed
    )
    tr, va = np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)
    preds = {"model": network_predictions(b.model, data_eval, ev)}
    if b.model.config.total_mag_input:
        preds["model_without_r_mag"] = network_predictions(
            b.model, data_eval, ev, hide_total_mag=True
        )
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
    result = {
        "bundle": str(b.path),
        "bundle_sha256": b.card["sha256"],
        "catalog": str(catalog),
        "scored_rows": "HEALPix test split" if same else "all rows",
        "n_eval": len(ev),
        "baselines_trained_on": {"catalog": train_catalog, "n_train": len(tr), "n_val": len(va)},
        "methods": {
            k: score(p, data_eval, ev, snr_detect=cfg.snr_detect) for k, p in preds.items()
        },
    }
    m = result["methods"]
    result["nmad_ratio_vs_photometry"] = {
        band: m["model"]["bands"][band].get("nmad", np.nan)
        / m["photometry"]["bands"][band].get("nmad", np.nan)
        for band in BAND_NAMES
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    _figures(out, preds, data_eval, ev, cfg.snr_detect)
    return result
