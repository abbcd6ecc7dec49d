"""Reader for SDSS and BOSS ``spec-PLATE-MJD-FIBER.fits`` spectrum files."""

from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import InverseVariance
from specutils import Spectrum

from specir.constants import FLUX_UNIT
from specir.errors import SpecIRInputError
from specir.testing import sdss_data_dir

if sdss_data_dir() is None:  # the example reads a real SDSS file when one is at hand
    __doctest_skip__ = ["read_sdss"]

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


def _identity(hdul, path):
    for name in _ID_HDUS:
        if name in hdul:
            row = hdul[name].data[0]
            names = {n.upper() for n in hdul[name].columns.names}
            meta = {}
            for key, col in _ID_COLUMNS.items():
                if col in names:
                    value = row[col]
                    meta[key] = value.strip() if isinstance(value, str) else value.item()
            meta["instrument"] = "SDSS" if name == "SPECOBJ" else "BOSS"
            return meta
    raise SpecIRInputError(
        f"file {path}",
        f"has none of the HDUs {', '.join(_ID_HDUS)} that hold the pipeline redshift",
        "give an SDSS spec-PLATE-MJD-FIBER.fits file (full or lite) from the SDSS archive",
    )


def read_sdss(path, *, mask_bits=SDSS_BAD_PIXEL_BITS):
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
    SpecIRInputError
        If the file is missing or is not an SDSS spectrum file.

    Examples
    --------
    >>> from specir.testing import sdss_data_dir
    >>> spec = read_sdss(sdss_data_dir() / "spec-0266-51602-0001.fits")
    >>> spec.meta["plate"], spec.meta["fiberid"], round(float(spec.redshift.value), 4)
    (266, 1, 0.0213)
    >>> spec.flux.unit
    Unit("1e-17 erg / (Angstrom s cm2)")
    """
    path = Path(path)
    if not path.is_file():
        raise SpecIRInputError("path", f"{path} does not exist", "give the path of a spec-*.fits")
    try:
        hdul = fits.open(path, memmap=False)
    except OSError as exc:
        raise SpecIRInputError(
            "path", f"{path} is not a readable FITS file ({exc})", "give a spec-*.fits file"
        ) from exc
    with hdul:
        if "COADD" not in hdul:
            raise SpecIRInputError(
                f"file {path}", "has no COADD HDU", "give an SDSS spec-*.fits spectrum file"
            )
        data = hdul["COADD"].data
        meta = _identity(hdul, path)
        loglam = np.asarray(data["loglam"], dtype=float)
        flux = np.asarray(data["flux"], dtype=np.float32)
        ivar = np.asarray(data["ivar"], dtype=np.float32)
        and_mask = np.asarray(data["and_mask"], dtype=np.int64)
    if isinstance(mask_bits, str) and mask_bits == "all":
        bad = np.int64(-1)
    else:
        bad = np.int64(sum(1 << int(b) for b in mask_bits))
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
