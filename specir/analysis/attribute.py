"""Integrated gradients of the network's infrared outputs with respect to the input spectrum.

Integrated gradients (Sundararajan, Taly & Yan 2017, "Axiomatic attribution for deep networks",
ICML, PMLR 70, 3319) attribute ``f(x) − f(x')`` to the input pixels: pixel i receives
``(x_i − x'_i) ∫₀¹ ∂f/∂x_i(x' + α (x − x')) dα``, computed here with Captum (Kokhlikyan et al.
2020, arXiv:2009.07896) by Gauss–Legendre quadrature. The attributions then sum to
``f(x) − f(x')`` (completeness); the quadrature error is reported per spectrum and output.

Outputs ``f`` are each band's predicted mean Vega magnitude (``w1_mean`` …) and its σ in mag
(``w1_sigma`` …). Only the normalised flux is varied; the pixel mask, redshift, normalisation and
(where given) the total r magnitude are held at their values. Baselines ``x'``:

- ``"zero"``: no flux (the attributions then include the continuum level);
- ``"smooth"``: the spectrum itself median-filtered over :data:`SMOOTH_PIXELS` pixels (≈ 250 Å
  at 5000 Å), which keeps the continuum and removes lines and narrow absorption features, so
  the attributions measure what the features add.

Per-spectrum attributions are shifted to the rest frame on the grid's own log-λ spacing (a
shift by ``round(log10(1 + z) / 1e-4)`` pixels, ≤ 35 km/s off) and stacked.
"""

import numpy as np

from specir.bands import BAND_NAMES
from specir.errors import SpecIRInputError
from specir.grid import GRID_DLOGLAM, GRID_LOGLAM0, GRID_NPIX

__all__ = [
    "BASELINES",
    "COMPLETENESS_FLOOR",
    "MAX_STEPS",
    "OUTPUTS",
    "integrated_gradients",
    "rest_stack",
    "top_features",
]

OUTPUTS = tuple(f"{b}_{k}" for k in ("mean", "sigma") for b in BAND_NAMES)
"""Names of the attributable outputs, in the order of the network's output vector."""
BASELINES = ("zero", "smooth")
SMOOTH_PIXELS = 201
"""Median-filter width (grid pixels) of the ``"smooth"`` baseline."""
INTERNAL_BATCH = 512
"""Interpolated spectra per forward pass inside Captum: memory stays bounded (about 0.2 GB for
the default network) however many steps a spectrum needs."""
MAX_STEPS = 4096
"""Default cap of the quadrature steps a spectrum is redone with. The network is piecewise
linear, so the error falls only as 1/steps; ``benchmarks/bench_ig_convergence.py`` measures the
share of spectra within 1 % at each cap (at 1024 the σ and W4 outputs of many still missed)."""
COMPLETENESS_FLOOR = 0.01
"""Floor (mag) of |f(x) − f(x')| in the relative completeness error, so that an output the
spectrum barely moves is not judged on a ratio of two tiny numbers."""


def _forward_module(model):
    import torch

    class _Outputs(torch.nn.Module):
        """(n, 8): each band's mean magnitude, then each band's σ (mag)."""

        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, flux, ivar, z, norm, r_mag):
            out = self.net(flux, ivar, z, norm, r_mag)
            return torch.cat([out["mag_mu"], torch.exp(out["mag_logsig"])], dim=-1)

    return _Outputs(model).eval()


def make_baseline(flux, valid, kind):
    """The baseline spectra for ``kind`` (see the module docstring)."""
    if kind == "zero":
        return np.zeros_like(flux)
    if kind == "smooth":
        from scipy.ndimage import median_filter

        filled = np.where(valid, flux, np.nan)
        out = np.empty_like(flux)
        idx = np.arange(flux.shape[1])
        for i, row in enumerate(filled):
            good = np.isfinite(row)
            row = np.interp(idx, idx[good], row[good]) if good.any() else np.zeros_like(row)
            out[i] = median_filter(row, size=SMOOTH_PIXELS, mode="nearest")
        return out.astype(flux.dtype)
    raise SpecIRInputError("baseline", f"is {kind!r}", f"use one of {', '.join(BASELINES)}")


def integrated_gradients(
    model, flux, valid, z, norm, r_mag=None, *, outputs=OUTPUTS, baseline="smooth", n_steps=32,
    max_steps=MAX_STEPS, batch_size=16,
):  # fmt: skip
    """Attributions of ``outputs`` to each pixel of each spectrum.

    Parameters
    ----------
    model : SpecIRNet
        The network (``bundle.model``).
    flux : ndarray (n, 3921)
        Normalised flux on the model grid (as :func:`specir.dataset.read_catalog_arrays` and
        :class:`specir.spectra.PreparedSpectra` hold it).
    valid : ndarray (n, 3921)
        True (or ``ivar > 0``) where a pixel carries data.
    z, norm : ndarray (n,)
    r_mag : ndarray (n,), optional
        Total r-band magnitude; NaN or None: not given (the aperture ablation).
    outputs : sequence of str
        Names from :data:`OUTPUTS`.
    baseline : str
        ``"zero"`` or ``"smooth"``.
    n_steps : int
        Quadrature points along the path.
    max_steps : int
        Spectra whose completeness error exceeds 1 % are redone with twice the steps, up to
        this many.
    batch_size : int
        Spectra per Captum call.

    Returns
    -------
    dict
        ``attr`` (n, len(outputs), 3921) float32; ``delta_f`` = f(x) − f(x') and ``error`` =
        Σ attr − delta_f, both (n, len(outputs)); ``steps``, the quadrature steps each
        spectrum and output ended with.

    Examples
    --------
    >>> import torch
    >>> from specir.model import ModelConfig, SpecIRNet
    >>> torch.manual_seed(0) and None
    >>> net = SpecIRNet(ModelConfig(channels=(4, 8), kernels=(5, 5), strides=(4, 4),
    ...                             mlp_hidden=16, latent_dim=6)).eval()
    >>> x = np.random.default_rng(0).normal(1.0, 0.1, (2, 3921)).astype(np.float32)
    >>> res = integrated_gradients(net, x, np.ones_like(x, bool), np.full(2, 0.1),
    ...                            np.ones(2), outputs=("w3_mean",))
    >>> res["attr"].shape
    (2, 1, 3921)
    >>> bool(np.all(np.abs(res["error"]) < 0.01 * np.abs(res["delta_f"]) + 1e-5))
    True
    """
    import torch
    from captum.attr import IntegratedGradients

    flux, valid, r_mag = _checked_inputs(outputs, flux, valid, r_mag, n_steps, max_steps)
    n = len(flux)
    base = make_baseline(flux, valid, baseline)
    fwd = _forward_module(model)
    ig = IntegratedGradients(fwd)
    device = next(model.parameters()).device
    attr = np.zeros((n, len(outputs), GRID_NPIX), np.float32)
    error = np.zeros((n, len(outputs)))
    delta_f = np.zeros((n, len(outputs)))
    steps = np.zeros((n, len(outputs)), np.int64)
    for start in range(0, n, int(batch_size)):
        sl = slice(start, start + int(batch_size))
        x, b = (torch.as_tensor(a[sl], device=device) for a in (flux, base))
        extra = tuple(
            torch.as_tensor(np.asarray(a[sl], np.float32), device=device)
            for a in (valid.astype(np.float32), z, norm, r_mag)
        )
        with torch.no_grad():
            fx, fb = fwd(x, *extra), fwd(b, *extra)
        for k, name in enumerate(outputs):
            j = OUTPUTS.index(name)
            df = (fx[:, j] - fb[:, j]).cpu().numpy().astype(np.float64)
            a, err, used = _refined(ig, x, b, extra, j, df, int(n_steps), int(max_steps))
            attr[sl, k], error[sl, k], delta_f[sl, k], steps[sl, k] = a, err, df, used
    return {"attr": attr, "delta_f": delta_f, "error": error, "steps": steps}


def _checked_inputs(outputs, flux, valid, r_mag, n_steps=1, max_steps=1):
    for name, value in (("n_steps", n_steps), ("max_steps", max_steps)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise SpecIRInputError(name, f"is {value!r}", "give a positive whole number of steps")
    unknown = [o for o in outputs if o not in OUTPUTS]
    if unknown:
        raise SpecIRInputError("outputs", f"{unknown} unknown", f"use names from {OUTPUTS}")
    flux = np.asarray(flux, np.float32)
    valid = np.asarray(valid) > 0
    n = len(flux)
    if flux.shape != (n, GRID_NPIX) or valid.shape != flux.shape:
        raise SpecIRInputError("flux", f"has shape {flux.shape}", f"give (n, {GRID_NPIX})")
    r_mag = np.full(n, np.nan) if r_mag is None else np.asarray(r_mag, float)
    return flux, valid, r_mag


def _refined(ig, x, b, extra, target, delta_f, n_steps, max_steps):
    """Attributions with ``n_steps``, redone with twice the steps (up to ``max_steps``) for the
    spectra whose completeness error exceeds 1 % (the network is piecewise linear, so the
    quadrature converges slowly for some paths)."""
    todo = np.arange(len(delta_f))
    attr = np.zeros((len(delta_f), x.shape[1]), np.float32)
    error = np.zeros(len(delta_f))
    used = np.zeros(len(delta_f), np.int64)
    steps = min(n_steps, max_steps)
    while len(todo):
        a = ig.attribute(
            x[todo], baselines=b[todo], target=target, n_steps=steps, method="gausslegendre",
            additional_forward_args=tuple(e[todo] for e in extra),
            internal_batch_size=INTERNAL_BATCH,
        )  # fmt: skip
        a = a.detach().cpu().numpy()
        attr[todo], used[todo] = a, steps
        error[todo] = a.astype(np.float64).sum(axis=1) - delta_f[todo]
        rel = np.abs(error[todo]) / np.maximum(np.abs(delta_f[todo]), COMPLETENESS_FLOOR)
        steps *= 2
        todo = todo[rel > 0.01] if steps <= max_steps else todo[:0]
    return attr, error, used


def relative_error(result):
    """|Σ attr − Δf| / max(|Δf|, :data:`COMPLETENESS_FLOOR`) per spectrum and output."""
    return np.abs(result["error"]) / np.maximum(np.abs(result["delta_f"]), COMPLETENESS_FLOOR)


def rest_grid(z_max):
    """Rest-frame wavelengths (Å) of the stacking grid that covers redshifts 0 … ``z_max``."""
    shift = round(float(np.log10(1.0 + z_max)) / GRID_DLOGLAM)
    return 10.0 ** (GRID_LOGLAM0 + GRID_DLOGLAM * (np.arange(GRID_NPIX + shift) - shift)), shift


def rest_stack(attr, z, valid, *, z_max=None):
    """Mean signed and mean absolute attribution per rest-frame pixel.

    Parameters
    ----------
    attr : ndarray (n, k, 3921)
    z : ndarray (n,)
    valid : ndarray (n, 3921)
        Pixels without data do not count towards a rest pixel's mean.
    z_max : float, optional
        Redshift the grid must reach (default ``max(z)``).

    Returns
    -------
    dict
        ``wave`` (m,), ``mean`` and ``mean_abs`` (k, m), ``count`` (m,) spectra per pixel.
    """
    attr = np.asarray(attr)
    z = np.asarray(z, float)
    _, k, npix = attr.shape
    wave, shift_max = rest_grid(float(np.max(z)) if z_max is None else z_max)
    m = len(wave)
    shift = np.rint(np.log10(1.0 + z) / GRID_DLOGLAM).astype(int)
    cols = (np.arange(npix)[None, :] - shift[:, None] + shift_max).ravel()
    ok = (np.asarray(valid) > 0).ravel() & (cols >= 0) & (cols < m)
    count = np.bincount(cols[ok], minlength=m).astype(float)
    mean = np.zeros((k, m))
    mean_abs = np.zeros((k, m))
    for j in range(k):
        a = attr[:, j].ravel()[ok].astype(float)
        mean[j] = np.bincount(cols[ok], weights=a, minlength=m)
        mean_abs[j] = np.bincount(cols[ok], weights=np.abs(a), minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean, mean_abs = mean / count, mean_abs / count
    return {"wave": wave, "mean": mean, "mean_abs": mean_abs, "count": count}


def top_features(wave, importance, count, *, n_top=5, min_count=20, smooth=5, separation=30.0):
    """The strongest peaks of a stacked importance curve, identified against the line list.

    Peaks are local maxima of the curve smoothed over ``smooth`` pixels, where at least
    ``min_count`` spectra contribute; a peak within ``separation`` Å of a stronger one is
    dropped. Each row: rest wavelength, importance, its share of the summed importance, and the
    feature (:func:`specir.analysis.lines.identify`; ``"continuum"`` where none).

    Examples
    --------
    >>> w = np.linspace(6000.0, 7000.0, 1001)
    >>> imp = np.exp(-0.5 * ((w - 6564.0) / 3.0) ** 2) + 0.01
    >>> top_features(w, imp, np.full(w.size, 100), n_top=1)[0]["feature"]
    'Hα + [N II]'
    """
    from specir.analysis.lines import identify

    imp = np.where(np.asarray(count) >= min_count, np.asarray(importance, float), np.nan)
    kernel = np.ones(smooth) / smooth
    sm = np.convolve(np.nan_to_num(imp), kernel, mode="same")
    sm[~np.isfinite(imp)] = np.nan
    inner = sm[1:-1]
    peak = np.flatnonzero((inner >= sm[:-2]) & (inner > sm[2:]) & np.isfinite(inner)) + 1
    order = peak[np.argsort(sm[peak])[::-1]]
    total = float(np.nansum(imp))
    rows = []
    for i in order:
        if any(abs(wave[i] - r["wavelength"]) < separation for r in rows):
            continue
        feat = identify(wave[i])
        rows.append(
            {
                "wavelength": float(wave[i]),
                "importance": float(sm[i]),
                "share": float(np.nansum(imp[max(i - smooth, 0) : i + smooth + 1]) / total),
                "feature": feat.name if feat else "continuum",
                "kind": feat.kind if feat else "continuum",
            }
        )
        if len(rows) == n_top:
            break
    return rows
