"""Reader for SDSS and BOSS ``spec-PLATE-MJD-FIBER.fits`` spectrum files."""

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import InverseVariance
from specutils import Spectrum

from specir.constants import FLUX_UNIT
from specir.errors import SpecIRFileError, SpecIRInputError

__all__ = ["SDSS_BAD_PIXEL_BITS", "SDSS_FLUX_UNIT", "read_sdss"]

SDSS_FLUX_UNIT = FLUX_UNIT
"""The flux unit of SDSS spectra (and of specir's spectra catalogs)."""

SDSS_BAD_PIXEL_BITS = (0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 18, 22, 23, 24, 25, 26, 27)
"""``and_mask`` bits (SDSS spPixMask) that mark a pixel as unusable: NOPLUG, BADTRACE, BADFLAT,
BADARC, MANYREJECTED, LARGESHIFT, BADSKYFIBER, NEARWHOPPER, WHOPPER, SMEARIMAGE, FULLREJECT,
NOSKY, BRIGHTSKY, NODATA, COMBINEREJ, BADFLUXFACTOR and BADSKYCHI. Informational bits such as
NEARBADPIXEL (16), MANYBADCOLUMNS (4), LOWFLAT (17), PARTIALREJECT (19) and SCATTEREDLIGHT (20)
are left out: on many good spectra they cover half the pixels."""

# HDU 2 is SPECOBJ for SDSS-I/II files and SPALL for BOSS/eBOSS files
_ID_HDUS = ("SPECOBJ", "SPALL")
_ID_COLUMNS = {
    "plate": "PLATE",
    "mjd": "MJD",
    "fiberid": "FIBERID",
    "ra": "PLUG_RA",
    "dec": "PLUG_DEC",
    "class": "CLASS",
    "subclass": "SUBCLASS",
    "z": "Z",
    "z_err": "Z_ERR",
    "z_warning": "ZWARNING",
    "specobjid": "SPECOBJID",
}


def _file_error(path, problem, fix="give an SDSS spec-PLATE-MJD-FIBER.fits file (full or lite)"):
    return SpecIRFileError(str(path), problem, fix)


def _check_path(path):
    """The path as a Path that names a non-empty regular file, or a SpecIRFileError."""
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise SpecIRInputError(
            "path", f"is a {type(path).__name__}, not a file path", "give the path of a spec-*.fits"
        )
    path = Path(path)
    if path.is_dir():
        raise _file_error(
            path,
            "is a directory, not a spectrum file",
            "give one spec-*.fits file in it (`specir import sdss` reads whole directories)",
        )
    if not path.exists():
        raise _file_error(path, "does not exist", "check the path")
    if not path.is_file():
        raise _file_error(path, "is not a regular file", "give a spec-*.fits file")
    if path.stat().st_size == 0:
        raise _file_error(path, "is empty (0 bytes)", "download the file again")
    return path


def _table(hdul, name, path):
    """The data of binary-table HDU ``name``: a FITS_rec with at least one row."""
    if name not in hdul:
        names = [h.name or "PRIMARY" for h in hdul]
        present = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        raise _file_error(
            path, f"has no {name} table (its HDUs: {present}), so it is not an SDSS spectrum file"
        )
    hdu = hdul[name]
    if not isinstance(hdu, fits.BinTableHDU):
        raise _file_error(path, f"HDU {name} is a {type(hdu).__name__}, not a binary table")
    data = hdu.data
    if data is None or len(data) == 0:
        raise _file_error(path, f"{name} table has no rows")
    return data


def _identity(hdul, path):
    for name in _ID_HDUS:
        if name in hdul:
            data = _table(hdul, name, path)
            row = data[0]
            names = {n.upper() for n in data.columns.names}
            meta = {}
            for key, col in _ID_COLUMNS.items():
                if col in names:
                    value = row[col]
                    meta[key] = value.strip() if isinstance(value, str) else value.item()
            meta["instrument"] = "SDSS" if name == "SPECOBJ" else "BOSS"
            z = meta.get("z")
            if not isinstance(z, float | int) or not np.isfinite(z):
                raise _file_error(path, f"{name} column Z (pipeline redshift) is {z!r}")
            return meta
    raise _file_error(
        path,
        f"has none of the HDUs {', '.join(_ID_HDUS)} that hold the pipeline redshift",
        "give an SDSS spec-PLATE-MJD-FIBER.fits file (full or lite) from the SDSS archive",
    )


def _coadd(hdul, path):
    """loglam, flux, ivar and and_mask from the COADD table, checked."""
    data = _table(hdul, "COADD", path)
    names = {n.lower() for n in data.columns.names}
    missing = [c for c in ("loglam", "flux", "ivar") if c not in names]
    if missing:
        raise _file_error(path, f"COADD table lacks the column(s) {', '.join(missing)}")
    loglam = np.asarray(data["loglam"], dtype=float)
    flux = np.asarray(data["flux"], dtype=np.float32)
    ivar = np.asarray(data["ivar"], dtype=np.float32)
    if "and_mask" in names:
        and_mask = np.asarray(data["and_mask"], dtype=np.int64)
    else:
        and_mask = np.zeros(loglam.shape, np.int64)
    if loglam.size < 2 or not np.all(np.isfinite(loglam)):
        bad = int(np.sum(~np.isfinite(loglam)))
        raise _file_error(
            path, f"COADD column loglam has {bad} NaN/inf of {loglam.size} values", "re-download"
        )
    if not np.all(np.diff(loglam) > 0):
        raise _file_error(
            path,
            "COADD column loglam is not strictly increasing (reversed or scrambled wavelengths; "
            "SDSS writes them increasing)",
            "use the file as distributed by the SDSS archive",
        )
    if not (3.0 < loglam[0] and loglam[-1] < 4.5):
        raise _file_error(
            path,
            f"COADD column loglam spans {loglam[0]:.4g}..{loglam[-1]:.4g}, not log10 of optical "
            "wavelengths in Å (3.5..4.0)",
            "use the file as distributed by the SDSS archive",
        )
    return loglam, flux, ivar, and_mask


def _read(path):
    """(loglam, flux, ivar, and_mask, meta); every failure a SpecIRFileError in words.

    A file cut short is recognised by its size against the data spans its headers declare, not
    by astropy's "truncated" warning: warnings are process-wide, so under threads (the
    downloader checks files concurrently) another file's warning would be taken for this one's.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy's own notes on damaged files; judged below
        try:
            with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
                if _declared_size(hdul) > os.path.getsize(path):
                    raise _truncated(path)
                loglam, flux, ivar, and_mask = _coadd(hdul, path)
                meta = _identity(hdul, path)
        except SpecIRFileError:
            raise
        except Exception:  # astropy raises many kinds on damaged files: say it in words
            if _has_fits_magic(path):
                raise _truncated(path) from None
            raise _file_error(
                path, "is not a FITS file (it does not begin with a FITS header, SIMPLE = T)"
            ) from None
    return loglam, flux, ivar, and_mask, meta


def _declared_size(hdul):
    """Bytes the file must hold: the end of its last HDU's data, as its headers declare."""
    return max(hdul.fileinfo(i)["datLoc"] + hdul.fileinfo(i)["datSpan"] for i in range(len(hdul)))


def _mask_value(mask_bits):
    """The and_mask bits to treat as bad, as one integer (all bits for ``"all"``)."""
    if isinstance(mask_bits, str) and mask_bits == "all":
        return np.int64(-1)
    fix = 'give and_mask bit numbers 0..31 (e.g. SDSS_BAD_PIXEL_BITS) or "all"'
    if isinstance(mask_bits, str | bytes) or not hasattr(mask_bits, "__iter__"):
        raise SpecIRInputError("mask_bits", f"is {mask_bits!r}", fix)
    bits = list(mask_bits)
    if not all(isinstance(b, int | np.integer) and not isinstance(b, bool) for b in bits):
        raise SpecIRInputError("mask_bits", f"holds non-integers ({bits!r:.60})", fix)
    if any(not 0 <= b < 32 for b in bits):
        raise SpecIRInputError("mask_bits", f"holds bits outside 0..31 ({bits})", fix)
    return np.int64(sum(1 << int(b) for b in bits))


def _has_fits_magic(path):
    """Whether the file begins as a FITS file (or a gzip stream) does."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    return head.startswith(b"SIMPLE  =") or head.startswith(b"\x1f\x8b")


def _truncated(path):
    return _file_error(
        path,
        "is truncated/corrupt: it begins as a FITS file but holds less than its headers declare",
        "download the file again",
    )


def read_sdss(
    path: str | os.PathLike, *, mask_bits: "Iterable[int] | str" = SDSS_BAD_PIXEL_BITS
) -> Spectrum:
    """Read an SDSS-I/II or BOSS spectrum file into a specutils ``Spectrum``.

    Parameters
    ----------
    path : str or path-like
        A ``spec-PLATE-MJD-FIBER.fits`` file, full or lite.
    mask_bits : sequence of int or "all", optional
        ``and_mask`` bits that mask a pixel (default `SDSS_BAD_PIXEL_BITS`); ``"all"`` masks
        every pixel with any bit set, as specutils' SDSS loader does. Pixels with ``ivar == 0``
        carry no weight whatever the mask says.

    Returns
    -------
    specutils.Spectrum
        Vacuum wavelength from ``loglam``; flux in 1e-17 erg/s/cm²/Å; ``ivar`` as an
        ``InverseVariance`` uncertainty; the selected ``and_mask`` bits as the mask (the full
        ``and_mask`` is kept in ``meta["and_mask"]``); ``redshift`` set to the
        pipeline's ``Z``; and ``meta`` with ``plate``, ``mjd``, ``fiberid``, ``ra`` and ``dec``
        (plug position, deg), ``class``, ``subclass``, ``z``, ``z_err``, ``z_warning``,
        ``specobjid`` (where the file has it), ``instrument`` (``"SDSS"`` or ``"BOSS"``) and
        ``file``.

    Raises
    ------
    SpecIRFileError
        If the path is missing, a directory or empty, or the file is truncated, is not FITS,
        lacks the COADD table or its columns, has non-finite or non-increasing ``loglam`` or no
        pipeline redshift. The message names the file and what is wrong in words.
    SpecIRInputError
        If ``path`` is not a path at all.

    Examples
    --------
    >>> from specir.testing import sdss_data_dir
    >>> spec = read_sdss(sdss_data_dir() / "spec-0266-51602-0001.fits")
    >>> spec.meta["plate"], spec.meta["fiberid"], round(float(spec.redshift.value), 4)
    (266, 1, 0.0213)
    >>> spec.flux.unit
    Unit("1e-17 erg / (Angstrom s cm2)")
    """
    path = _check_path(path)
    loglam, flux, ivar, and_mask, meta = _read(path)
    bad = _mask_value(mask_bits)
    mask = (and_mask & bad) != 0
    meta["file"] = path.name
    meta["and_mask"] = and_mask
    return Spectrum(
        flux=flux * SDSS_FLUX_UNIT,
        spectral_axis=10.0**loglam * u.AA,
        uncertainty=InverseVariance(ivar, unit=SDSS_FLUX_UNIT**-2),
        mask=mask,
        redshift=float(meta["z"]),
        meta=meta,
    )
