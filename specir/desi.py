"""Reader for DESI ``coadd-*.fits`` spectrum files (B, R and Z arms joined into one spectrum).

A DESI coadd holds, for each camera arm ``X`` in B, R, Z, the HDUs ``X_WAVELENGTH`` (vacuum Å,
one linear 0.8 Å grid shared by the three arms), ``X_FLUX`` (1e-17 erg/s/cm²/Å), ``X_IVAR`` and
``X_MASK`` (one row per target), plus a ``FIBERMAP`` table with ``TARGETID``, ``TARGET_RA``,
``TARGET_DEC`` and the Legacy Surveys photometry of the target (DESI data model,
https://desidatamodel.readthedocs.io, ``healpix/SURVEY/PROGRAM/PIXGROUP/PIXNUM/coadd-*.fits``).
The redshift comes from the redrock file's ``REDSHIFTS`` HDU (or a zcatalog's ``ZCATALOG``),
matched by ``TARGETID``.
"""

import os
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import InverseVariance
from specutils import Spectrum

from specir.constants import FLUX_UNIT
from specir.errors import SpecIRInputError

__all__ = ["DESI_ARMS", "DESI_FIBERMAP_COLUMNS", "read_desi"]

DESI_ARMS = ("B", "R", "Z")
"""The DESI spectrograph arms, blue to red."""

DESI_FIBERMAP_COLUMNS = {
    "targetid": "TARGETID",
    "ra": "TARGET_RA",
    "dec": "TARGET_DEC",
    "release": "RELEASE",
    "brickid": "BRICKID",
    "brick_objid": "BRICK_OBJID",
    "flux_r": "FLUX_R",
    "flux_ivar_r": "FLUX_IVAR_R",
    "flux_w1": "FLUX_W1",
    "flux_ivar_w1": "FLUX_IVAR_W1",
    "flux_w2": "FLUX_W2",
    "flux_ivar_w2": "FLUX_IVAR_W2",
    "coadd_fiberstatus": "COADD_FIBERSTATUS",
}
"""``meta`` key -> FIBERMAP column copied into each spectrum's ``meta`` (where present)."""

_Z_HDUS = ("REDSHIFTS", "ZCATALOG")
_Z_COLUMNS = {"z": "Z", "z_err": "ZERR", "zwarn": "ZWARN", "spectype": "SPECTYPE"}
_GRID_TOL_AA = 1e-3


def _redshift_table(path):
    """TARGETID -> {z, z_err, zwarn, spectype} from a redrock or zcatalog file."""
    path = Path(path)
    if not path.is_file():
        raise SpecIRInputError("redrock", f"{path} does not exist", "give a redrock-*.fits file")
    with fits.open(path, memmap=False) as hdul:
        hdu = next((hdul[n] for n in _Z_HDUS if n in hdul), None)
        if hdu is None:
            raise SpecIRInputError(
                "redrock",
                f"{path} has neither of the HDUs {', '.join(_Z_HDUS)}",
                "give the redrock-*.fits file of this coadd, or a zcatalog file",
            )
        data = hdu.data
        names = {n.upper() for n in hdu.columns.names}
        out = {}
        for i, tid in enumerate(np.asarray(data["TARGETID"], np.int64)):
            row = {}
            for key, col in _Z_COLUMNS.items():
                if col in names:
                    v = data[col][i]
                    row[key] = v.strip() if isinstance(v, str) else v.item()
            out.setdefault(int(tid), row)  # a zcatalog may repeat a target: keep the first
    return out


def _default_redrock(path):
    """``redrock-X.fits`` beside ``coadd-X.fits``, when it exists."""
    name = path.name
    if name.startswith("coadd-"):
        candidate = path.with_name("redrock-" + name[len("coadd-") :])
        if candidate.is_file():
            return candidate
    return None


def _arm_grid(hdul, path):
    """The joined wavelength grid and each arm's pixel offset into it."""
    waves = [np.asarray(hdul[f"{a}_WAVELENGTH"].data, np.float64) for a in DESI_ARMS]
    step = float(np.median(np.diff(waves[0])))
    start = min(w[0] for w in waves)
    offsets = []
    for arm, w in zip(DESI_ARMS, waves, strict=True):
        k = np.rint((w - start) / step)
        if np.max(np.abs(start + k * step - w)) > _GRID_TOL_AA:
            raise SpecIRInputError(
                f"file {path}",
                f"arm {arm} is not on the common linear grid of the other arms",
                "give a DESI coadd file (its arms share one 0.8 Å grid)",
            )
        offsets.append(int(k[0]))
    npix = max(o + len(w) for o, w in zip(offsets, waves, strict=True))
    return start + step * np.arange(npix), offsets


def _join_arms(hdul, row, grid, offsets):
    """Inverse-variance join of one target's arms; masked pixels carry no weight."""
    num = np.zeros(len(grid))
    wsum = np.zeros(len(grid))
    fallback = np.zeros(len(grid))
    any_bits = np.zeros(len(grid), np.int64)
    for arm, off in zip(DESI_ARMS, offsets, strict=True):
        flux = np.asarray(hdul[f"{arm}_FLUX"].data[row], np.float64)
        ivar = np.asarray(hdul[f"{arm}_IVAR"].data[row], np.float64)
        bits = np.asarray(hdul[f"{arm}_MASK"].data[row], np.int64)
        good = (bits == 0) & (ivar > 0) & np.isfinite(flux) & np.isfinite(ivar)
        sl = slice(off, off + len(flux))
        w = np.where(good, ivar, 0.0)
        num[sl] += np.where(good, flux, 0.0) * w
        wsum[sl] += w
        fallback[sl] = np.where(np.isfinite(flux), flux, fallback[sl])
        any_bits[sl] |= bits
    valid = wsum > 0
    flux = np.where(valid, num / np.where(valid, wsum, 1.0), fallback)
    return flux.astype(np.float32), wsum.astype(np.float32), ~valid, any_bits


def _open(path):
    path = Path(path)
    if not path.is_file():
        raise SpecIRInputError("path", f"{path} does not exist", "give a DESI coadd-*.fits file")
    try:
        hdul = fits.open(path, memmap=False)
    except OSError as exc:
        raise SpecIRInputError(
            "path", f"{path} is not a readable FITS file ({exc})", "give a coadd-*.fits file"
        ) from exc
    needed = ["FIBERMAP"] + [f"{a}_{k}" for a in DESI_ARMS for k in ("WAVELENGTH", "FLUX")]
    missing = [n for n in needed if n not in hdul]
    if missing:
        hdul.close()
        raise SpecIRInputError(
            f"file {path}",
            f"has no HDU {missing[0]}",
            "give a DESI coadd-*.fits file (spectra-*.fits per exposure are not supported)",
        )
    return path, hdul


def _fibermap_meta(fibermap, i):
    names = {n.upper() for n in fibermap.columns.names}
    meta = {}
    for key, col in DESI_FIBERMAP_COLUMNS.items():
        if col in names:
            v = fibermap[col][i]
            meta[key] = v.strip() if isinstance(v, str) else v.item()
    return meta


def read_desi(
    path: str | os.PathLike, *, redrock: str | os.PathLike | None = None
) -> list[Spectrum]:
    """Read a DESI coadd file into one specutils ``Spectrum`` per target.

    Parameters
    ----------
    path : str or path-like
        A DESI ``coadd-*.fits`` file.
    redrock : str or path-like, optional
        The redrock (``REDSHIFTS`` HDU) or zcatalog (``ZCATALOG`` HDU) file holding the
        targets' redshifts. Default: ``redrock-X.fits`` beside ``coadd-X.fits``, else a
        ``REDSHIFTS`` HDU in the coadd itself, else a ``Z`` column of its FIBERMAP.

    Returns
    -------
    list of specutils.Spectrum
        In FIBERMAP order. Vacuum wavelength in Å over B+R+Z (3600–9824 Å, 0.8 Å pixels),
        where the arms overlap their pixels are averaged with inverse-variance weights; flux in
        1e-17 erg/s/cm²/Å; the summed ``ivar`` as an ``InverseVariance`` uncertainty; ``mask``
        true where no arm has an unmasked pixel with ``ivar > 0`` (the OR of the arms' mask
        bits is in ``meta["mask_bits"]``); ``redshift`` from redrock; ``meta`` with
        ``targetid``, ``ra``/``dec`` (``TARGET_RA``/``TARGET_DEC``, deg), ``z``, ``z_err``,
        ``zwarn``, ``spectype``, the Legacy Surveys ids ``release``, ``brickid``,
        ``brick_objid`` and fluxes ``flux_r``, ``flux_w1``, ``flux_w2`` with their inverse
        variances (nanomaggies), ``instrument`` (``"DESI"``) and ``file``.

    Raises
    ------
    SpecIRInputError
        If the file is not a DESI coadd, no redshift file is found, or a target has no
        redshift in it.

    Examples
    --------
    >>> from specir.testing import desi_data_dir
    >>> d = desi_data_dir()
    >>> (spec,) = read_desi(d / "coadd-4-80613-thru20210324.fits")
    >>> spec.meta["targetid"], round(float(spec.redshift.value), 3)
    (39633345008634465, 0.369)
    >>> float(spec.spectral_axis.value[0]), float(spec.spectral_axis.value[-1]), spec.flux.unit
    (3600.0, 9824.0, Unit("1e-17 erg / (Angstrom s cm2)"))
    """
    path, hdul = _open(path)
    with hdul:
        zs = _redshifts_for(path, hdul, redrock)
        fibermap = hdul["FIBERMAP"].data
        grid, offsets = _arm_grid(hdul, path)
        return [
            _target_spectrum(hdul, i, fibermap, zs, grid, offsets, path)
            for i in range(len(fibermap))
        ]


def _redshifts_for(path, hdul, redrock):
    """TARGETID -> redshift row: the redrock file given or beside, a REDSHIFTS HDU, a Z column."""
    if redrock is None:
        redrock = _default_redrock(path)
    if redrock is not None:
        return _redshift_table(redrock)
    if "REDSHIFTS" in hdul:
        return _redshift_table(path)
    if "Z" in {n.upper() for n in hdul["FIBERMAP"].columns.names}:
        fm = hdul["FIBERMAP"].data
        return {int(t): {"z": float(z)} for t, z in zip(fm["TARGETID"], fm["Z"], strict=True)}
    raise SpecIRInputError(
        "redrock",
        f"no redshift file given for {path.name} and none found beside it",
        "pass redrock= the redrock-*.fits (or zcatalog) file of this coadd",
    )


def _target_spectrum(hdul, i, fibermap, zs, grid, offsets, path):
    """One target's joined spectrum with its identity and redshift in ``meta``."""
    meta = _fibermap_meta(fibermap, i)
    tid = int(meta["targetid"])
    if tid not in zs:
        raise SpecIRInputError(
            "redrock",
            f"has no redshift for TARGETID {tid} of {path.name}",
            "pass the redrock file that belongs to this coadd",
        )
    meta.update(zs[tid])
    flux, ivar, mask, bits = _join_arms(hdul, i, grid, offsets)
    meta.update(instrument="DESI", file=path.name, mask_bits=bits)
    return Spectrum(
        flux=flux * FLUX_UNIT,
        spectral_axis=grid * u.AA,
        uncertainty=InverseVariance(ivar, unit=FLUX_UNIT**-2),
        mask=mask,
        redshift=float(meta["z"]),
        meta=meta,
    )
