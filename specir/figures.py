"""Diagnostic figures of ``specir evaluate``: predicted against observed, χ histograms, AGN/PAH.

:func:`write_figures` writes ``pred_vs_obs.png``, ``chi_hist.png`` and ``lagn_qpah.png``
(matplotlib's Agg backend, no display needed).
"""

import numpy as np

from specir.bands import BAND_NAMES
from specir.dataset import targets_from
from specir.scoring import normalised_residuals

__all__ = ["write_figures"]


def _pred_vs_obs(plt, out, model, data, idx, det):
    fig, axes = plt.subplots(1, len(BAND_NAMES), figsize=(16, 4))
    for i, ax in enumerate(axes):
        d = det[:, i]
        ax.scatter(data["mag"][idx][d, i], model["mag_mu"][d, i], s=2, alpha=0.4)
        lo, hi = np.nanpercentile(data["mag"][idx][d, i], [0.5, 99.5]) if d.any() else (0, 1)
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        ax.set(xlabel=f"observed {BAND_NAMES[i].upper()} [Vega mag]", ylabel="predicted [Vega mag]")
    fig.tight_layout()
    fig.savefig(out / "pred_vs_obs.png", dpi=100)
    plt.close(fig)


def _chi_hist(plt, out, preds, data, idx, snr_detect):
    fig, axes = plt.subplots(1, len(BAND_NAMES), figsize=(16, 4))
    x = np.linspace(-5, 5, 201)
    for name, pred in preds.items():
        for i, chi in enumerate(normalised_residuals(pred, data, idx, snr_detect)):
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


def _lagn_qpah(plt, out, model, data, idx):
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


def write_figures(out, preds, data, idx, snr_detect):
    """Write the three figures of predictions ``preds`` (one is ``"model"``) on rows ``idx``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    det = targets_from(data, snr_detect=snr_detect)[0][idx]
    _pred_vs_obs(plt, out, preds["model"], data, idx, det)
    _chi_hist(plt, out, preds, data, idx, snr_detect)
    _lagn_qpah(plt, out, preds["model"], data, idx)
