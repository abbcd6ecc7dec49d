"""``specir import desi PATHS --out CATALOG [--photometry TRACTOR...]``: DESI coadds to HATS.

Each ``coadd-*.fits`` is read with :func:`specir.read_desi` (redshift from the ``redrock-*.fits``
beside it) and put on the model grid exactly as ``specir import sdss`` does (flux in
1e-17 erg/s/cm²/Å, not normalised). DESI's FIBERMAP carries the Legacy Surveys photometry of
each target, so the catalog gets its training columns without a positional crossmatch:

- ``modelmag_r``: the total r magnitude, ``22.5 - 2.5 log10(FLUX_R)`` (AB; FLUX_R in
  nanomaggies), the column ``specir train`` and ``specir catalog run`` read by default;
- ``w1mpro``, ``w2mpro`` from ``FLUX_W1``/``FLUX_W2`` (unWISE forced photometry) and ``w3mpro``,
  ``w4mpro`` from the Legacy Surveys tractor catalogs (``--photometry``), matched exactly on
  ``RELEASE``/``BRICKID``/``BRICK_OBJID`` = tractor ``release``/``brickid``/``objid``; all
  converted to the AllWISE Vega convention (:func:`wise_vega_columns`).

Rows are never dropped silently: a file that cannot be read is listed with the reason in
``<out>.report.json``; a target without photometry keeps NaN magnitudes and a bit in
``import_flags`` (:class:`DesiFlags`).
"""

import enum
import logging
import shutil
from pathlib import Path

import numpy as np

from specir.batch import BatchReport, check_writable, reason
from specir.catalog.importer import _hats_import, expand_paths, write_spectra_batch
from specir.errors import SpecIRInputError

__all__ = [
    "LS_WISE_AB_MINUS_VEGA",
    "DesiFlags",
    "desi_rows",
    "import_desi",
    "read_tractor",
    "wise_vega_columns",
]

log = logging.getLogger(__name__)

LS_WISE_AB_MINUS_VEGA = (2.699, 3.339, 5.174, 6.620)
"""AB minus Vega magnitude of W1–W4, as the Legacy Surveys documentation gives them for
converting its (AB) WISE fluxes to Vega (from the WISE All-Sky Explanatory Supplement,
section IV.4.h; Jarrett et al. 2011)."""

UPPER_LIMIT_SIGMA = 2.0
"""Below this S/N a band is an upper limit: ``wNmpro`` is the magnitude of ``max(flux, 0) +
2 sigma`` and ``wNsigmpro`` is NaN, as AllWISE writes non-detections (its 95% limits)."""

_TRACTOR_KEYS = ("RELEASE", "BRICKID", "OBJID")


class DesiFlags(enum.IntFlag):
    """Bits of the ``import_flags`` column of a DESI spectra catalog."""

    DESI_INSTRUMENT = 1
    """A DESI spectrum: 1.5″ fibres (SDSS 3″, BOSS 2″) and resolution R ≈ 2000–5500 (SDSS
    R ≈ 1800–2200); the shipped model was trained on an SDSS-like survey, so its fibre-aperture
    correction and line-width features are extrapolated. Set on every DESI row."""
    NO_LS_PHOTOMETRY = 2
    """The FIBERMAP has no Legacy Surveys photometry (``RELEASE`` 0 or ``FLUX_IVAR_R`` 0): no
    total magnitude, W1 and W2 NaN."""
    NO_TRACTOR_MATCH = 4
    """No tractor row with this release/brickid/objid was given: W3 and W4 NaN."""


def wise_vega_columns(flux, ivar, band):
    """AllWISE-style ``(mpro, sigmpro, snr)`` for one WISE band from Legacy Surveys fluxes.

    Parameters
    ----------
    flux, ivar : array_like
        ``FLUX_Wn`` (nanomaggies, AB) and ``FLUX_IVAR_Wn``.
    band : int
        1..4.

    Returns
    -------
    tuple of ndarray
        Vega magnitude (``22.5 - 2.5 log10(flux) - (AB - Vega)``), its 1-sigma error
        (NaN for an upper limit, see :data:`UPPER_LIMIT_SIGMA`), and S/N. All NaN where
        ``ivar <= 0``.

    Examples
    --------
    >>> m, e, s = wise_vega_columns([100.0, 0.5], [1.0, 1.0], 1)
    >>> [round(float(x), 3) for x in m], round(float(e[0]), 4), bool(np.isnan(e[1]))
    ([14.801, 18.806], 0.0109, True)
    """
    flux = np.asarray(flux, np.float64)
    ivar = np.asarray(ivar, np.float64)
    offset = LS_WISE_AB_MINUS_VEGA[band - 1]
    ok = (ivar > 0) & np.isfinite(flux) & np.isfinite(ivar)
    sigma = np.where(ok, 1.0 / np.sqrt(np.where(ok, ivar, 1.0)), np.nan)
    snr = np.where(ok, flux / sigma, np.nan)
    detected = ok & (snr >= UPPER_LIMIT_SIGMA)
    value = np.where(detected, flux, np.maximum(flux, 0.0) + UPPER_LIMIT_SIGMA * sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(ok, 22.5 - 2.5 * np.log10(value) - offset, np.nan)
        err = np.where(detected, 2.5 / np.log(10.0) * sigma / flux, np.nan)
    return mag, err, snr


def read_tractor(paths):
    """Legacy Surveys tractor rows by ``(release, brickid, objid)``: {key: {W3/W4 fluxes}}."""
    from astropy.io import fits

    out = {}
    for p in paths:
        try:
            with fits.open(p, memmap=False) as hdul:
                data = hdul[1].data
                names = {n.upper() for n in hdul[1].columns.names}
                need = [*_TRACTOR_KEYS, "FLUX_W3", "FLUX_IVAR_W3", "FLUX_W4", "FLUX_IVAR_W4"]
                missing = [n for n in need if n not in names]
                if missing:
                    raise SpecIRInputError(
                        f"photometry file {p}",
                        f"lacks the tractor columns {missing}",
                        "give Legacy Surveys tractor-*.fits catalogs",
                    )
                keys = zip(*(np.asarray(data[k], np.int64) for k in _TRACTOR_KEYS), strict=True)
                for i, key in enumerate(keys):
                    out[tuple(int(k) for k in key)] = {
                        c.lower(): float(data[c][i]) for c in need[3:]
                    }
        except OSError as exc:
            raise SpecIRInputError(
                "photometry", f"{p} is not a readable FITS file ({exc})", "check the path"
            ) from exc
    return out


def _photometry(meta, tractor):
    """Training columns (total r, W1–W4 Vega) and import flags for one target."""
    flags = DesiFlags.DESI_INSTRUMENT
    cols = {}
    fr, ivr = float(meta.get("flux_r", np.nan)), float(meta.get("flux_ivar_r", 0.0))
    has_ls = int(meta.get("release", 0)) > 0 and ivr > 0
    cols["modelmag_r"] = 22.5 - 2.5 * np.log10(fr) if has_ls and fr > 0 else np.nan
    if not has_ls:
        flags |= DesiFlags.NO_LS_PHOTOMETRY
    key = (
        int(meta.get("release", 0)),
        int(meta.get("brickid", 0)),
        int(meta.get("brick_objid", -1)),
    )
    trow = tractor.get(key)
    if trow is None:
        flags |= DesiFlags.NO_TRACTOR_MATCH
    for b in (1, 2, 3, 4):
        if b <= 2:
            f = float(meta.get(f"flux_w{b}", np.nan)) if has_ls else np.nan
            iv = float(meta.get(f"flux_ivar_w{b}", 0.0)) if has_ls else 0.0
        else:
            f = trow[f"flux_w{b}"] if trow else np.nan
            iv = trow[f"flux_ivar_w{b}"] if trow else 0.0
        mag, err, snr = wise_vega_columns(f, iv, b)
        cols[f"w{b}mpro"], cols[f"w{b}sigmpro"], cols[f"w{b}snr"] = (
            float(mag),
            float(err),
            float(snr),
        )
        cols[f"flux_w{b}"], cols[f"flux_ivar_w{b}"] = f, iv
    cols["import_flags"] = int(flags)
    return cols


def desi_rows(files, *, tractor=None):
    """Catalog rows for DESI coadd files: ``(DataFrame, failures)``.

    ``tractor`` is the mapping :func:`read_tractor` returns (W3/W4); ``failures`` lists
    ``{"file": ..., "error": ...}`` for files that could not be read.
    """
    import pandas as pd

    from specir.desi import read_desi
    from specir.grid import Flags
    from specir.spectra import prepare_spectra

    tractor = tractor or {}
    rows, failures = [], []
    for f in files:
        try:
            spectra = read_desi(f)
        except Exception as exc:
            failures.append({"file": str(f), "error": reason(exc)})
            continue
        for spec in spectra:
            meta = spec.meta
            prep = prepare_spectra(spec)
            if int(prep.flags[0]) & int(Flags.NO_DATA):
                failures.append(
                    {"file": f"{f}#{meta['targetid']}", "error": "no usable pixel on the grid"}
                )
                continue
            norm = float(prep.norm[0])
            ivar = (np.asarray(prep.ivar[0], np.float64) / norm**2).astype(np.float32)
            rows.append(
                {
                    "id": int(meta["targetid"]),
                    "ra": float(meta["ra"]),
                    "dec": float(meta["dec"]),
                    "z": float(prep.z[0]),
                    "flux": np.asarray(prep.restored_flux()[0].value, np.float32),
                    "ivar": ivar,
                    "mask": ~(ivar > 0),
                    "prepare_flags": int(prep.flags[0]),
                    "file": Path(f).name,
                    "targetid": int(meta["targetid"]),
                    "z_err": float(meta.get("z_err", np.nan)),
                    "zwarn": int(meta.get("zwarn", -1)),
                    "spectype": str(meta.get("spectype", "")),
                    "release": int(meta.get("release", 0)),
                    "brickid": int(meta.get("brickid", 0)),
                    "brick_objid": int(meta.get("brick_objid", -1)),
                    "instrument": "DESI",
                    **_photometry(meta, tractor),
                }
            )
    return pd.DataFrame(rows), failures


def import_desi(paths, out, *, photometry=(), workers=None, progress=True):
    """Import DESI coadd files into a HATS spectra catalog at ``out``.

    Parameters
    ----------
    paths : list of str
        Coadd files, directories, glob patterns or list files (only ``coadd-*`` files are
        taken from a directory).
    out : path-like
        New catalog directory.
    photometry : list of str, optional
        Legacy Surveys ``tractor-*.fits`` files with the W3/W4 fluxes.
    workers : int, optional
        Dask workers of the partitioning step.

    Returns
    -------
    specir.batch.BatchReport
        Files attempted, the reason each failed one failed, and in ``details`` the targets
        imported and the count of each :class:`DesiFlags` bit; also written to
        ``<out>.report.json``. Its ``status`` is ``"ok"``, ``"partial"`` or ``"failed"``.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    check_writable(out, field="--out", folder=True)
    files = [f for f in expand_paths(paths) if f.name.startswith("coadd-")]
    if not files:
        raise SpecIRInputError("paths", f"{list(paths)} name no coadd-*.fits", "check the paths")
    tractor = read_tractor(expand_paths(photometry)) if photometry else {}
    staging = out.parent / f"{out.name}_staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    n_ok, failed, flag_counts = 0, [], {f.name: 0 for f in DesiFlags}
    for i in tqdm(range(0, len(files), 200), desc="reading coadds", disable=not progress):
        df, fails = desi_rows(files[i : i + 200], tractor=tractor)
        failed += fails
        if len(df):
            write_spectra_batch(df, staging / f"batch_{i:06d}.parquet")
            n_ok += len(df)
            for flag in DesiFlags:
                flag_counts[flag.name] += int((df["import_flags"] & int(flag) != 0).sum())
    report = BatchReport("import", str(out), n_inputs=len(files))
    report.details = {"n_targets": n_ok, "flag_counts": flag_counts}
    for f in failed:
        report.fail(f["file"], f["error"])
    try:
        if n_ok:
            staged = sorted(staging.glob("batch_*.parquet"))
            _hats_import(out, staged, workers or 1, progress=progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    path = report.write()
    (log.warning if report.failed else log.info)("%s (report: %s)", report.summary(), path)
    return report
