"""``predict_ir``: WISE W1–W4, log L_AGN and q_PAH from optical spectra.

Output columns (one row per spectrum, input order):

- ``w1_flux`` … ``w4_flux``, ``w1_flux_err`` … (mJy). The model is Gaussian in Vega magnitude,
  so the flux is ``mag_to_mjy(mag)`` (the median of the implied log-normal flux) and its error is
  propagated to first order.
- ``w1_mag`` … ``w4_mag``, ``w1_mag_err`` … (Vega mag), ``w1_w2``, ``w2_w3`` (Vega colours).
- ``log_lagn``, ``log_lagn_err``: log10 of the AGN bolometric luminosity in erg/s (unit
  ``dex(erg/s)``), given that an AGN is present. NaN where the model's AGN probability is below
  0.5 (the simulation's convention for "no AGN") or where the bundle was trained without AGN
  truths (for example on a real catalog).
- ``q_pah``, ``q_pah_err``: PAH mass fraction in percent; NaN when the bundle was trained without
  q_PAH truths.
- ``flags``: the :class:`~specir.grid.Flags` bits of the prepared spectrum plus
  ``NO_TOTAL_MAG`` where the bundle takes a total r-band magnitude and none was given, plus
  ``Z_OUT_OF_RANGE`` outside the bundle's training redshift range and ``OUT_OF_DISTRIBUTION``
  when the squared Mahalanobis distance of the latent from the training latents exceeds the
  bundle's threshold (its 99.9th percentile on the training set). Rows flagged ``NO_DATA`` or
  ``IMPLAUSIBLE`` (a spectrum no galaxy can emit, :mod:`specir.plausible`) are NaN.
"""

import logging
import os
from pathlib import Path

import numpy as np

from specir.bands import BAND_NAMES, mag_to_mjy
from specir.bundle import load_bundle, resolve_device
from specir.errors import SpecIRInputError
from specir.grid import Flags
from specir.spectra import total_mag_array

__all__ = ["OUTPUT_COLUMNS", "check_options", "predict_ir", "predict_prepared"]

log = logging.getLogger(__name__)

OUTPUT_COLUMNS = (
    *(f"{b}_flux" for b in BAND_NAMES),
    *(f"{b}_flux_err" for b in BAND_NAMES),
    *(f"{b}_mag" for b in BAND_NAMES),
    *(f"{b}_mag_err" for b in BAND_NAMES),
    "w1_w2",
    "w2_w3",
    "log_lagn",
    "log_lagn_err",
    "q_pah",
    "q_pah_err",
    "flags",
)
AGN_THRESHOLD = 0.5


def check_options(*, model="default", device="auto", batch_size=None):
    """Refuse a bad ``model``, ``device`` or ``batch_size`` before any model is loaded.

    Examples
    --------
    >>> check_options(batch_size=0)
    Traceback (most recent call last):
    ...
    specir.errors.SpecIRInputError: batch_size: is 0. Fix: give a positive integer (or None)
    >>> check_options(device="tpu")
    Traceback (most recent call last):
    ...
    specir.errors.SpecIRInputError: device: is 'tpu', which specir cannot run on. Fix: ...
    """
    from specir.bundle import ModelBundle

    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer)
    ):
        raise SpecIRInputError(
            "batch_size", f"is {batch_size!r}, not an integer", "give a positive integer (or None)"
        )
    if batch_size is not None and batch_size < 1:
        raise SpecIRInputError(
            "batch_size", f"is {batch_size}", "give a positive integer (or None)"
        )
    if not isinstance(model, str | os.PathLike | ModelBundle) or (
        isinstance(model, str) and not model
    ):
        raise SpecIRInputError(
            "model",
            f"is {model!r:.60}",
            "give 'default', a bundle directory or a loaded ModelBundle",
        )
    resolve_device(device)


def run_network(bundle, flux, valid_or_ivar, z, norm, r_mag=None, *, batch_size=None):
    """Raw network outputs (numpy) for arrays already prepared on the grid, in batches."""
    import torch

    model, device = bundle.model, bundle.device
    n = len(z)
    r_mag = np.full(n, np.nan) if r_mag is None else r_mag
    if batch_size is None:
        batch_size = 1024 if device == "cpu" else 8192
    if int(batch_size) < 1:
        raise SpecIRInputError("batch_size", f"is {batch_size}", "pass a positive integer")
    keys = (
        "latent",
        "mag_mu",
        "mag_logsig",
        "lagn_mu",
        "lagn_logsig",
        "agn_logit",
        "qpah_mu",
        "qpah_logsig",
    )
    parts = {k: [] for k in keys}
    with torch.inference_mode():
        for start in range(0, n, int(batch_size)):
            sl = slice(start, start + int(batch_size))
            t = [
                torch.as_tensor(np.ascontiguousarray(a[sl]), dtype=torch.float32).to(device)
                for a in (flux, valid_or_ivar, z, norm, r_mag)
            ]
            out = model(*t)
            for k in keys:
                parts[k].append(out[k].float().cpu().numpy())
    if n == 0:
        d = model.config.latent_dim
        empty = {
            "latent": np.zeros((0, d)),
            "mag_mu": np.zeros((0, 4)),
            "mag_logsig": np.zeros((0, 4)),
        }
        return {k: empty.get(k, np.zeros(0)) for k in keys}
    return {k: np.concatenate(v).astype(np.float64) for k, v in parts.items()}


def predict_prepared(prepared, *, r_mag=None, model="default", device="auto", batch_size=None):
    """Predict from a :class:`~specir.spectra.PreparedSpectra` (spectra already on the grid).

    This is what catalog jobs call per partition with the output of
    :func:`specir.spectra.prepare_grid_arrays`.

    Parameters
    ----------
    prepared : PreparedSpectra
        Normalised ``flux``, ``ivar`` (n, 3921), ``z``, ``norm``, ``flags``.
    r_mag : float, array_like or Quantity, optional
        Total r-band AB magnitudes (see :func:`predict_ir`).
    model : str, path-like or ModelBundle
        ``"default"`` (the bundle installed in the package), a bundle directory or a loaded
        :class:`~specir.bundle.ModelBundle`.
    device : str
        ``"auto"`` picks CUDA when available.
    batch_size : int, optional
        Spectra per forward pass (default 1024 on CPU, 8192 on GPU); results do not depend on it.

    Returns
    -------
    astropy.table.QTable
        The columns listed in this module's docstring.
    """
    from astropy import units as u
    from astropy.table import QTable

    from specir.spectra import PreparedSpectra

    if not isinstance(prepared, PreparedSpectra):
        raise SpecIRInputError(
            "prepared",
            f"is a {type(prepared).__name__}",
            "give the result of specir.prepare_spectra or prepare_grid_arrays",
        )
    check_options(model=model, device=device, batch_size=batch_size)
    bundle = load_bundle(model, device=resolve_device(device))
    flux = np.asarray(prepared.flux, dtype=np.float32)
    ivar = np.asarray(prepared.ivar, dtype=np.float32)
    z = np.asarray(prepared.z, dtype=np.float64)
    norm = np.asarray(prepared.norm, dtype=np.float64)
    flags = np.asarray(prepared.flags, dtype=np.int64).copy()
    n = len(z)
    if flux.shape != (n, bundle.model.config.npix) or ivar.shape != flux.shape:
        raise SpecIRInputError(
            "prepared.flux",
            f"has shape {flux.shape}, expected ({n}, {bundle.model.config.npix})",
            "prepare spectra with specir.prepare_spectra or prepare_grid_arrays",
        )
    nodata = (flags & Flags.NO_DATA) != 0
    nodata |= ~np.isfinite(z) | ~(norm > 0) | ~np.isfinite(norm)
    flags[nodata] |= int(Flags.NO_DATA)
    zlo, zhi = bundle.z_range
    flags[~nodata & ((z < zlo) | (z > zhi))] |= int(Flags.Z_OUT_OF_RANGE)
    r = total_mag_array(r_mag, n)
    if bundle.model.config.total_mag_input:
        flags[~np.isfinite(r)] |= int(Flags.NO_TOTAL_MAG)
    ok = ~nodata & ((flags & Flags.IMPLAUSIBLE) == 0)  # no number for the impossible
    out = run_network(bundle, flux[ok], ivar[ok], z[ok], norm[ok], r[ok], batch_size=batch_size)

    def fill(values, shape=()):
        full = np.full((n, *shape), np.nan)
        full[ok] = values
        return full

    mag = fill(out["mag_mu"], (4,))
    mag_err = fill(np.exp(out["mag_logsig"]), (4,))
    flux_mjy, flux_err = mag_to_mjy(mag, mag_err)
    heads = bundle.card["heads_trained"]
    p_agn = 1.0 / (1.0 + np.exp(-out["agn_logit"]))
    lagn = np.where(p_agn >= AGN_THRESHOLD, out["lagn_mu"], np.nan)
    lagn_err = np.where(p_agn >= AGN_THRESHOLD, np.exp(out["lagn_logsig"]), np.nan)
    if not heads.get("log_lagn", False):
        lagn = lagn_err = np.full(ok.sum(), np.nan)
    qpah, qpah_err = out["qpah_mu"], np.exp(out["qpah_logsig"])
    if not heads.get("q_pah", False):
        qpah = qpah_err = np.full(ok.sum(), np.nan)
    d2 = fill(bundle.ood_d2(out["latent"]))
    flags[ok & (d2 > bundle.card["ood"]["threshold_d2"])] |= int(Flags.OUT_OF_DISTRIBUTION)

    table = QTable()
    for i, b in enumerate(BAND_NAMES):
        table[f"{b}_flux"] = flux_mjy[:, i] * u.mJy
    for i, b in enumerate(BAND_NAMES):
        table[f"{b}_flux_err"] = flux_err[:, i] * u.mJy
    for i, b in enumerate(BAND_NAMES):
        table[f"{b}_mag"] = mag[:, i] * u.mag
    for i, b in enumerate(BAND_NAMES):
        table[f"{b}_mag_err"] = mag_err[:, i] * u.mag
    table["w1_w2"] = (mag[:, 0] - mag[:, 1]) * u.mag
    table["w2_w3"] = (mag[:, 1] - mag[:, 2]) * u.mag
    table["log_lagn"] = fill(lagn) * u.dex(u.erg / u.s)
    table["log_lagn_err"] = fill(lagn_err) * u.dex
    table["q_pah"] = fill(qpah) * u.percent
    table["q_pah_err"] = fill(qpah_err) * u.percent
    table["flags"] = flags
    table.meta.update(
        {
            "model": str(bundle.path),
            "model_sha256": bundle.card["sha256"],
            "magnitude_system": "Vega (WISE, Jarrett et al. 2011 zero points)",
            "flags": {f.name: int(f.value) for f in Flags},
            "ood_threshold_d2": bundle.card["ood"]["threshold_d2"],
        }
    )
    return table


def predict_ir(spectra, *, z=None, r_mag=None, model="default", device="auto", batch_size=None):
    """Predict WISE W1–W4 fluxes, log L_AGN,bol and q_PAH from optical spectra.

    Parameters
    ----------
    spectra : specutils.Spectrum or sequence of them
        One spectrum or many, in any spectral and flux-density unit that
        :func:`specir.prepare_spectra` accepts.
    z : float or array_like, optional
        Redshift(s); by default taken from the spectra's metadata (``read_sdss`` sets it).
    r_mag : float, array_like or Quantity, optional
        Total r-band AB magnitude of each galaxy (SDSS ``modelMag_r`` or ``cModelMag_r``;
        plain numbers, ``u.mag`` or ``u.ABmag``). An SDSS spectrum holds only the light inside
        its 3 arcsec fibre while WISE measures total flux; the magnitude tells the model the
        aperture correction. Without it (or where it is NaN or an SDSS -9999 sentinel) rows are
        flagged ``NO_TOTAL_MAG`` and their errors widen to cover the unknown aperture loss.
    model : str, path-like or ModelBundle
        ``"default"`` (the bundle shipped in the package), or a bundle directory.
    device : str
        ``"auto"`` picks CUDA when available, else the CPU.
    batch_size : int, optional
        Spectra per forward pass; the results do not depend on it.

    Returns
    -------
    astropy.table.QTable
        One row per spectrum; columns and flags as described in :mod:`specir.predict`.

    Raises
    ------
    SpecIRModelError
        When the bundle is missing (no default bundle is installed until one has been trained
        on the simulated survey), corrupt or mismatched.
    SpecIRInputError
        When the spectra cannot be turned into trustworthy inputs, or an option is not what it
        must be (``z`` or ``r_mag`` not numbers, ``batch_size`` not a positive integer, a
        ``device`` other than auto, cpu, cuda or cuda:N), checked before the model is loaded.
        Spectra that no galaxy can emit are not refused but flagged ``IMPLAUSIBLE`` (NaN row).
    """
    check_options(model=model, device=device, batch_size=batch_size)
    bundle = load_bundle(model, device=resolve_device(device))
    from specir.spectra import prepare_spectra

    prepared = prepare_spectra(spectra, z=z, z_range=bundle.z_range)
    return predict_prepared(prepared, r_mag=r_mag, model=bundle, batch_size=batch_size)


# ---------------------------------------------------------------- command line
_FORMATS = {
    ".ecsv": "ascii.ecsv",
    ".fits": "fits",
    ".fit": "fits",
    ".parquet": "parquet",
    ".vot": "votable",
    ".xml": "votable",
    ".votable": "votable",
}


def table_format(path):
    """The astropy format ``write_table`` uses for ``path``, or a SpecIRInputError.

    Examples
    --------
    >>> table_format("out.parquet")
    'parquet'
    """
    suffix = Path(path).suffix
    fmt = _FORMATS.get(suffix.lower())
    if fmt is None:
        raise SpecIRInputError(
            "output",
            f"extension {suffix!r} is not supported",
            f"use one of {', '.join(sorted(_FORMATS))}",
        )
    return fmt


def write_table(table, path):
    """Write a prediction table; the format follows the extension (ECSV, FITS, Parquet, VOTable)."""
    path = Path(path)
    fmt = table_format(path)
    table = table.copy()
    # dex units do not survive every writer: store log_lagn as plain numbers in log10(erg/s).
    for name in ("log_lagn", "log_lagn_err"):
        table[name] = np.asarray(table[name].value, dtype=float)
        table[name].description = "log10(L_AGN,bol / (erg/s))" + (
            " 1-sigma" if "err" in name else ""
        )
    table.meta = {k: v for k, v in table.meta.items() if not isinstance(v, dict)}
    if fmt == "votable":  # VOUnit has no "%": keep the numbers, say the unit in words
        for name in ("q_pah", "q_pah_err"):
            table[name] = np.asarray(table[name].value, dtype=float)
            table[name].description = "PAH mass fraction in percent"
    if fmt == "fits":
        table.meta = {k.upper()[:8]: v for k, v in table.meta.items()}
    table.write(path, format=fmt, overwrite=True)
    return path
