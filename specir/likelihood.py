"""The training likelihood of the WISE magnitudes and the truths.

Likelihood (per band, in Vega magnitudes), :func:`ir_loss`:

- detections (``wNsnr >= snr_detect`` and finite ``wNsigmpro``; with ``nondetections =
  "flux"``, those of S/N >= :data:`FLUX_LIKELIHOOD_SNR`): Gaussian negative
  log-likelihood with ``σ_tot² = σ_pred² + wNsigmpro²``; with ``likelihood = "student_t"``
  a Student-t of ``student_dof`` degrees of freedom ν whose standard deviation is ``σ_tot``
  (scale ``σ_tot sqrt((ν - 2) / ν)``), so the σ the model reports keeps one meaning;
- non-detections (AllWISE's ``wNmpro`` is then the 95% upper-limit magnitude ``m_lim``, the
  magnitude of the measured flux plus 2σ, or of 2σ where the flux is negative), with
  ``nondetections = "flux"`` (the default): the measured flux ``f = wNsnr σ_f``, with
  ``σ_f = F(m_lim) / (max(wNsnr, 0) + 2)``, is Gaussian about the flux of the true magnitude,
  which is drawn from the predicted ``N(μ, σ_pred)``; the integral over it is done by
  Gauss–Hermite quadrature (:func:`low_snr_nll`). A measured flux below S/N 2 still says
  *how* faint a galaxy is. Detections below :data:`FLUX_LIKELIHOOD_SNR` are fitted in flux
  the same way (their magnitude error is skewed: a Gaussian in magnitude pulls towards the
  bright side). With ``nondetections = "censored"`` (bundles trained before the option
  existed): ``-log Φ((μ - m_lim) / σ_tot)`` with ``σ_tot² = σ_pred² + censor_sigma_mag²``,
  which only asks the prediction to be fainter than the limit, so faint galaxies are
  predicted too bright; it is also the fallback for a row without ``wNsnr``;
- a missing ``wNmpro`` is left out.

log L_AGN is fitted (Gaussian NLL) only where an AGN exists; AGN presence has its own logit
(binary cross-entropy on ``agn_visible_true``, :func:`specir.dataset.visible_agn`); log L_AGN
only where that AGN is visible. q_PAH has a Gaussian NLL.
"""

import functools
import math

import numpy as np

__all__ = [
    "FLUX_LIKELIHOOD_SNR",
    "LIKELIHOODS",
    "NONDETECTIONS",
    "ir_loss",
    "loss_options",
    "low_snr_nll",
    "mag_nll",
]

LIKELIHOODS = ("gaussian", "student_t")
"""Likelihoods of the detected magnitudes that :func:`ir_loss` offers."""
NONDETECTIONS = ("flux", "censored")
"""Treatments of the non-detections (S/N below ``snr_detect``) that :func:`ir_loss` offers."""
FLUX_LIKELIHOOD_SNR = 5.0
"""Detections below this S/N are fitted in flux too (a magnitude error is skewed there)."""
_HERMITE_NODES = 64
_MAX_BRIGHTER = 20.0  # mag above the reference at which a quadrature node's flux is capped


def _student_t_nll(resid, var, dof):
    """Negative log density of a Student-t of ``dof`` degrees of freedom and variance ``var``."""
    import torch

    scale2 = var * (dof - 2.0) / dof
    const = math.lgamma(0.5 * dof) - math.lgamma(0.5 * (dof + 1)) + 0.5 * math.log(dof * math.pi)
    return (
        const + 0.5 * torch.log(scale2) + 0.5 * (dof + 1) * torch.log1p(resid**2 / (dof * scale2))
    )


@functools.lru_cache(maxsize=1)
def _hermite():
    """Gauss–Hermite nodes and log weights (normalised to sum 1), computed once per process."""
    nodes, weights = np.polynomial.hermite.hermgauss(_HERMITE_NODES)
    return nodes, np.log(weights / np.sqrt(np.pi))


def low_snr_nll(mu, sigma, mag, mag_err, snr):
    """Negative log-likelihood of a faint WISE measurement, in flux, given ``N(mu, sigma)`` mags.

    Fluxes are in units of ``F(mag)``, the flux of the catalog magnitude: where ``mag_err`` is
    finite ``mag`` is a measurement (flux 1, error ``1 / snr``), otherwise AllWISE's 95% upper
    limit (error ``1 / (max(snr, 0) + 2)``, flux ``snr`` times that error). The true magnitude is
    integrated out with Gauss–Hermite quadrature of :data:`_HERMITE_NODES` nodes. Returns NaN
    where ``snr`` is not finite (the caller then falls back to the censored likelihood).

    >>> import torch
    >>> nll = lambda mu: float(low_snr_nll(torch.tensor(mu), torch.tensor(0.3),
    ...     torch.tensor(18.0), torch.tensor(float("nan")), torch.tensor(0.0)))
    >>> nll(20.0) < nll(18.0) < nll(16.0)   # a zero flux favours a faint galaxy
    True
    """
    import torch

    nodes, logw = _hermite()
    x = torch.as_tensor(nodes, dtype=mu.dtype, device=mu.device)
    logw = torch.as_tensor(logw, dtype=mu.dtype, device=mu.device)
    measured = torch.isfinite(mag_err)
    usable = torch.isfinite(snr)
    # a NaN/inf S/N is computed as 0 and masked at the end: no inf/NaN inside, so no NaN gradient
    s = torch.where(usable, snr, torch.zeros_like(snr))
    sig_f = torch.where(measured, 1.0 / s.abs().clamp_min(1e-3), 1.0 / (s.clamp_min(0.0) + 2.0))
    f_obs = torch.where(measured, torch.ones_like(s), s * sig_f)
    dm = (mu - torch.nan_to_num(mag)).unsqueeze(-1) + math.sqrt(2.0) * sigma.unsqueeze(-1) * x
    f_true = 10.0 ** (-0.4 * dm.clamp_min(-_MAX_BRIGHTER))
    z = (f_obs.unsqueeze(-1) - f_true) / sig_f.unsqueeze(-1)
    nll = 0.5 * math.log(2 * math.pi) + torch.log(sig_f) - torch.logsumexp(logw - 0.5 * z**2, -1)
    return torch.where(usable, nll, torch.nan)


def mag_nll(
    mu,
    logsig,
    batch,
    *,
    censor_sigma_mag=0.543,
    likelihood="gaussian",
    student_dof=5.0,
    nondetections="flux",
):
    """Per-measurement negative log-likelihood of the WISE magnitudes, shape (n, bands).

    ``mu`` and ``logsig`` are the predicted magnitudes and log σ; ``batch`` holds ``mag``,
    ``mag_err``, ``detected``, ``upper`` and optionally ``snr``. Entries that are neither
    detections nor upper limits are 0 (:func:`ir_loss` averages over the others).
    """
    import torch

    var_pred = torch.exp(2 * logsig)
    det, up = batch["detected"], batch["upper"]
    obs = torch.nan_to_num(batch["mag"])
    err = torch.nan_to_num(batch["mag_err"])
    var_det = var_pred + err**2
    if likelihood == "student_t":
        nll_det = _student_t_nll(mu - obs, var_det, student_dof)
    else:
        nll_det = 0.5 * (torch.log(2 * math.pi * var_det) + (mu - obs) ** 2 / var_det)
    sig_up = torch.sqrt(var_pred + censor_sigma_mag**2)
    nll_up = -torch.special.log_ndtr((mu - obs) / sig_up)
    if nondetections == "flux" and "snr" in batch:
        nll_flux = low_snr_nll(mu, torch.sqrt(var_pred), obs, batch["mag_err"], batch["snr"])
        ok = torch.isfinite(nll_flux)
        nll_up = torch.where(ok, nll_flux, nll_up)
        low = ok & (torch.nan_to_num(batch["snr"], nan=math.inf) < FLUX_LIKELIHOOD_SNR)
        nll_det = torch.where(low, nll_flux, nll_det)
    return torch.where(det, nll_det, 0) + torch.where(up, nll_up, 0)


def ir_loss(
    out,
    batch,
    *,
    censor_sigma_mag=0.543,
    likelihood="gaussian",
    student_dof=5.0,
    nondetections="flux",
):
    """Negative log-likelihood of a batch; returns (total, dict of components).

    ``batch`` holds tensors ``mag``, ``mag_err``, ``detected``, ``upper`` (n, bands), ``snr``
    (n, bands; optional), ``log_lagn_true``, ``agn_visible_true``, ``q_pah_true`` (n,; NaN where
    unknown). ``likelihood`` is one of :data:`LIKELIHOODS` (of the detected magnitudes),
    ``nondetections`` one of :data:`NONDETECTIONS`; the magnitudes' term is :func:`mag_nll`.
    """
    import torch
    import torch.nn.functional as F

    mu = out["mag_mu"]
    det, up = batch["detected"], batch["upper"]
    nll = mag_nll(
        mu,
        out["mag_logsig"],
        batch,
        censor_sigma_mag=censor_sigma_mag,
        likelihood=likelihood,
        student_dof=student_dof,
        nondetections=nondetections,
    )
    n_mag = (det.sum() + up.sum()).clamp_min(1)
    loss_mag = nll.sum() / n_mag
    parts = {"mag": loss_mag}
    total = loss_mag

    agn_known = torch.isfinite(batch["agn_visible_true"])
    if agn_known.any():
        is_agn = (torch.nan_to_num(batch["agn_visible_true"]) > 0).to(mu.dtype)
        bce = F.binary_cross_entropy_with_logits(out["agn_logit"], is_agn, reduction="none")
        parts["agn_class"] = bce[agn_known].mean()
        total = total + parts["agn_class"]
    for key, mname, sname in (
        ("log_lagn_true", "lagn_mu", "lagn_logsig"),
        ("q_pah_true", "qpah_mu", "qpah_logsig"),
    ):
        y = batch[key]
        ok = torch.isfinite(y)
        if key == "log_lagn_true":
            ok = ok & (torch.nan_to_num(batch["agn_visible_true"], nan=1.0) > 0)
        if ok.any():
            m, ls = out[mname][ok], out[sname][ok]
            nll = ls + 0.5 * math.log(2 * math.pi) + 0.5 * ((y[ok] - m) / torch.exp(ls)) ** 2
            parts[key] = nll.mean()
            total = total + parts[key]
    return total, parts


def loss_options(cfg) -> dict:
    """The keyword options of :func:`ir_loss` that a training config sets."""
    return {
        "censor_sigma_mag": cfg.censor_sigma_mag,
        "likelihood": getattr(cfg, "likelihood", "gaussian"),
        "student_dof": getattr(cfg, "student_dof", 5.0),
        "nondetections": getattr(cfg, "nondetections", "flux"),
    }
