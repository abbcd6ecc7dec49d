"""The baselines ``specir evaluate`` scores the model against, and the information ceiling.

Each takes the training catalog's arrays (rows ``tr``, and ``va`` where it stops early) and
returns Gaussian predictions for rows ``ev`` of the evaluation arrays, in the form
:func:`specir.scoring.score` reads (``mag_mu``, ``mag_sig`` …).

- :func:`baseline_mean`: the training mean and standard deviation of each band;
- :func:`baseline_photometry` (the paper's "photometry only"): the model's heads, with the same
  conditions (z, normalisation, total r magnitude), fed synthetic ugriz magnitudes *of the
  spectrum* (through speclite's SDSS curves), or with ``source="catalog"`` the catalog's total
  ugriz magnitudes;
- :func:`baseline_pca_rf`: a random forest on a 20-component PCA of the normalised spectra
  (plus z and log norm), σ from the spread of its trees;
- :func:`baseline_ceiling`: gradient-boosted trees fed the simulated truths instead of the
  light (a bound, not a competitor).
"""

import numpy as np

from specir.bands import BAND_NAMES
from specir.dataset import targets_from, true_targets
from specir.fitting import fit, standardise_from
from specir.scoring import network_predictions

__all__ = [
    "PHOTOMETRY_INPUTS",
    "baseline_ceiling",
    "baseline_mean",
    "baseline_pca_rf",
    "baseline_photometry",
    "has_truths",
    "synthetic_ugriz",
]

N_BANDS = len(BAND_NAMES)
PHOTOMETRY_INPUTS = ("phot", "z", "norm", "r_mag")
"""Arrays the photometry baseline network is fed, in order."""


def synthetic_ugriz(data):
    """ugriz AB magnitudes of the spectra through speclite's SDSS curves (edge-padded)."""
    import astropy.units as u
    import speclite.filters

    from specir.constants import FLUX_UNIT
    from specir.grid import grid_wavelength

    filt = speclite.filters.load_filters("sdss2010-*")
    wave = grid_wavelength()
    scale = FLUX_UNIT.to(u.erg / (u.s * u.cm**2 * u.AA))
    out = []
    for s in range(0, len(data["z"]), 4096):  # bounded memory
        flux = data["flux"][s : s + 4096] * data["norm"][s : s + 4096, None] * scale
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
            ref = self.reference_mag(norm, r_mag) if self.config.anchor_total_mag else None
            return self.heads(latent, self.conditions(z, norm, r_mag), ref)

    return PhotometryNet(config)


def baseline_photometry(
    data_train, tr, va, data_eval, ev, cfg, *, source="synthetic", progress=True
):
    """The model's heads trained on ugriz photometry (``source``: synthetic or catalog), fitted
    to the same targets as the model (``cfg.targets``)."""
    import torch

    if cfg.targets == "true":
        data_train = true_targets(data_train)
    data_train = {**data_train, "phot": _photometry_features(data_train, source)}
    data_eval = {**data_eval, "phot": _photometry_features(data_eval, source)}
    torch.manual_seed(cfg.seed)
    net = _photometry_net(cfg.model)
    standardise_from(net, data_train, targets_from(data_train, snr_detect=cfg.snr_detect)[0], tr)
    p = data_train["phot"][tr]
    net.phot_shift.copy_(torch.as_tensor(p.mean(0), dtype=torch.float32))
    net.phot_scale.copy_(torch.as_tensor(np.maximum(p.std(0), 1e-3), dtype=torch.float32))
    desc = f"photometry ({source}) baseline"
    fit(net, data_train, tr, va, cfg, inputs=PHOTOMETRY_INPUTS, desc=desc, progress=progress)
    return network_predictions(net, data_eval, ev, inputs=PHOTOMETRY_INPUTS)


def baseline_pca_rf(data_train, tr, data_eval, ev, cfg, *, n_components=20):
    """A random forest per band on a PCA of the spectra; σ from the spread of its trees."""
    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestRegressor

    def spectra(d, i):
        return np.where(d["valid"][i], d["flux"][i], 0.0)

    pca = PCA(n_components=n_components, random_state=cfg.seed).fit(spectra(data_train, tr))

    def features(d, i):
        cond = np.stack([np.log1p(d["z"][i]), np.log10(np.clip(d["norm"][i], 1e-6, None))], 1)
        return np.hstack([pca.transform(spectra(d, i)), cond])

    xtr, xev = features(data_train, tr), features(data_eval, ev)
    det = targets_from(data_train, snr_detect=cfg.snr_detect)[0][tr]
    out = {k: np.full((len(ev), N_BANDS), np.nan) for k in ("mag_mu", "mag_sig")}

    def forest(x, y):
        rf = RandomForestRegressor(
            n_estimators=100, min_samples_leaf=5, max_features=0.5, n_jobs=2, random_state=cfg.seed
        ).fit(x, y)
        trees = np.stack([t.predict(xev) for t in rf.estimators_])
        return trees.mean(0), trees.std(0)

    for i in range(N_BANDS):
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


def _truth_features(d, i, dust):
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

    det = targets_from(data_train, snr_detect=cfg.snr_detect)[0]
    mag, err = data_train["mag"], data_train["mag_err"]
    x_tr, x_va, x_ev = (
        _truth_features(d, i, dust)
        for d, i in ((data_train, tr), (data_train, va), (data_eval, ev))
    )
    informative = np.isfinite(x_tr).any(0)  # a truth absent from the catalog is all-NaN
    x_tr, x_va, x_ev = x_tr[:, informative], x_va[:, informative], x_ev[:, informative]
    out = {k: np.full((len(ev), N_BANDS), np.nan) for k in ("mag_mu", "mag_sig")}
    for b in range(N_BANDS):
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
    """The training split's mean and standard deviation, for every row."""
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
