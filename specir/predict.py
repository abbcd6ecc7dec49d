"""``predict_ir``: WISE W1–W4, log L_AGN and q_PAH from optical spectra.

Output columns (one row per spectrum, input order):

- ``w1_flux`` … ``w4_flux``, ``w1_flux_err`` … (mJy). The model is Gaussian in Vega magnitude,
  so the flux is ``mag_to_mjy(mag)`` (the median of the implied log-normal flux) and its error is
  propagated to first order.
- ``w1_mag`` … ``w4_mag``, ``w1_mag_err`` … (Vega mag), ``w1_w2``, ``w2_w3`` (Vega colours).
  ``w1_mag_err`` is the predictive standard deviation (χ²_N = 1 on held-out galaxies);
  ``w1_mag_ci68`` … the half-width of the central 68 % predictive interval, ``k σ`` with ``k``
  fitted per band on the validation split (:mod:`specir.calibrate`): the residuals are
  heavy-tailed, so ±σ covers more than 68 % of galaxies and k < 1.
- ``p_agn``: the model's probability that an AGN contributes to the spectrum (the sigmoid of
  the network's AGN logit). A bundle trained on a survey that stores each AGN's share of the
  WISE light learns a *visible* AGN, one that supplies at least
  :data:`~specir.columns.AGN_VISIBLE_SHARE` of a band's light
  (:func:`specir.dataset.visible_agn`); one trained on an older survey learns every simulated
  AGN, however faint. NaN where the bundle was trained without AGN classes
  (``heads_trained["agn_class"]`` false in its card, for example a bundle trained on a real
  catalog), since the untrained head's output means nothing.
- ``log_lagn``, ``log_lagn_err``: log10 of the AGN bolometric luminosity in erg/s (unit
  ``dex(erg/s)``), *given* that an AGN is present. Reported only where
  ``p_agn >= AGN_THRESHOLD`` (:data:`specir.columns.AGN_THRESHOLD`), NaN elsewhere: a low
  ``p_agn`` means the spectrum shows no sign of an AGN, and its luminosity would be
  unconstrained. Also NaN where ``p_agn`` is, or where the bundle was trained without AGN
  luminosities.
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
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from specir.bands import BAND_NAMES, N_BANDS, mag_to_mjy
from specir.bundle import load_bundle, resolve_device
from specir.columns import AGN_THRESHOLD, COLUMNS, PREDICTION_COLUMNS
from specir.errors import SpecIRInputError
from specir.grid import Flags
from specir.inference import gaussian_outputs, run_network
from specir.spectra import total_mag_array
from specir.support import input_statistics, median_snr, outside_support, widen_sigma

if TYPE_CHECKING:
    import astropy.units as u
    from astropy.table import QTable
    from numpy.typing import ArrayLike
    from specutils import Spectrum, SpectrumCollection

    from specir.bundle import ModelBundle

__all__ = ["OUTPUT_COLUMNS", "check_options", "predict_ir", "predict_prepared"]

log = logging.getLogger(__name__)

OUTPUT_COLUMNS = PREDICTION_COLUMNS
"""Names of the prediction table's columns, in order (those of :mod:`specir.columns`)."""


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


def _unit(name):
    """The astropy unit of an output column (VOUnit has no dex(erg/s), only log(erg/s))."""
    from astropy import units as u

    return u.dex(u.erg / u.s) if name == "log_lagn" else u.Unit(COLUMNS[name].unit)


def support_outside(bundle, z, norm, r_mag, valid, snr):
    """Rows outside ``bundle``'s input support (:mod:`specir.support`); None without one."""
    if "support" not in bundle.card:
        return None
    model = bundle.model
    ap_mean = float(model.cond_shift[-1]) if model.config.total_mag_input else 0.0
    stats = input_statistics(z, norm, r_mag, valid, snr, ap_mean=ap_mean)
    return outside_support(bundle.card["support"]["bounds"], stats)


def treated_outputs(bundle, raw, outside=None) -> dict:
    """:func:`~specir.inference.gaussian_outputs` of raw outputs, with the OOD treatment.

    Adds ``ood`` (latent distance beyond the card's threshold, or ``outside`` the input
    support); a bundle with a recorded support widens those rows' σ
    (:func:`specir.support.widen_sigma`). ``predict_ir`` and ``specir evaluate`` use it.
    """
    g = gaussian_outputs(raw)
    ood = bundle.ood_d2(raw["latent"]) > bundle.card["ood"]["threshold_d2"]
    support = bundle.card.get("support")
    if support is not None:
        if outside is not None:
            ood = ood | outside
        g["mag_sig"] = widen_sigma(g["mag_sig"], support["prior_sigma_mag"], ood)
    g["ood"] = ood
    g["mag_half68"] = g["mag_sig"] * interval_factors(bundle.card)
    return g


def interval_factors(card) -> np.ndarray:
    """Per band, the 68 % interval half-width in units of σ (:mod:`specir.calibrate`);
    1 (Gaussian) where the card has none: a bundle calibrated before the interval factors
    existed, or a band without validation detections to fit one (``null``)."""
    k = card.get("calibration", {}).get("interval68_factor", {})
    return np.array([1.0 if k.get(b) is None else float(k[b]) for b in BAND_NAMES])


def _output_table(bundle, out, ok, flags, outside=None):
    """The prediction table (:data:`OUTPUT_COLUMNS`) from raw network outputs of rows ``ok``.

    Sets ``OUT_OF_DISTRIBUTION`` in ``flags`` (latent distance, or ``outside``: rows ``ok``
    outside the bundle's input support, :mod:`specir.support`); rows not ``ok`` are NaN. A
    bundle with a recorded support also widens the σ of every such row.
    """
    from astropy.table import QTable

    n = len(ok)

    def fill(values, shape=()):
        full = np.full((n, *shape), np.nan)
        full[ok] = values
        return full

    g = treated_outputs(bundle, out, outside)
    flags[np.flatnonzero(ok)[g["ood"]]] |= int(Flags.OUT_OF_DISTRIBUTION)
    mag, mag_err = fill(g["mag_mu"], (N_BANDS,)), fill(g["mag_sig"], (N_BANDS,))
    half68 = fill(g["mag_half68"], (N_BANDS,))
    flux_mjy, flux_err = mag_to_mjy(mag, mag_err)
    heads, nan = bundle.card["heads_trained"], np.full(ok.sum(), np.nan)
    p_agn = g["p_agn"] if heads.get("agn_class", False) else nan
    is_agn = p_agn >= AGN_THRESHOLD  # False where p_agn is NaN
    lagn = np.where(is_agn, g["lagn_mu"], np.nan)
    lagn_err = np.where(is_agn, g["lagn_sig"], np.nan)
    if not heads.get("log_lagn", False):
        lagn = lagn_err = nan
    qpah, qpah_err = g["qpah_mu"], g["qpah_sig"]
    if not heads.get("q_pah", False):
        qpah = qpah_err = nan
    values = {"flags": flags, "p_agn": fill(p_agn), "log_lagn": fill(lagn)}
    values["log_lagn_err"] = fill(lagn_err)
    values.update(q_pah=fill(qpah), q_pah_err=fill(qpah_err))
    for i, b in enumerate(BAND_NAMES):
        values.update({f"{b}_flux": flux_mjy[:, i], f"{b}_flux_err": flux_err[:, i]})
        values.update({f"{b}_mag": mag[:, i], f"{b}_mag_err": mag_err[:, i]})
        values[f"{b}_mag_ci68"] = half68[:, i]
    values["w1_w2"], values["w2_w3"] = mag[:, 0] - mag[:, 1], mag[:, 1] - mag[:, 2]
    table = QTable()
    for name in OUTPUT_COLUMNS:
        table[name] = values[name] if name == "flags" else values[name] * _unit(name)
    return table


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
    out = run_network(
        bundle.model, (flux[ok], ivar[ok], z[ok], norm[ok], r[ok]), batch_size=batch_size
    )
    snr = median_snr(flux[ok], ivar[ok])
    outside = support_outside(bundle, z[ok], norm[ok], r[ok], ivar[ok] > 0, snr)
    table = _output_table(bundle, out, ok, flags, outside)
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


def predict_ir(
    spectra: "Spectrum | Sequence[Spectrum] | SpectrumCollection",
    *,
    z: "float | ArrayLike | None" = None,
    r_mag: "float | ArrayLike | u.Quantity | None" = None,
    model: "str | os.PathLike | ModelBundle" = "default",
    device: str = "auto",
    batch_size: int | None = None,
) -> "QTable":
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
