"""Turn specutils spectra, in any units, into the model's input arrays.

`prepare_spectra` accepts what an astronomer holds (one ``Spectrum``, the deprecated
``Spectrum1D``, a list, a ``SpectrumCollection`` or a ``Spectrum`` with 2-D flux), converts the
spectral axis to vacuum Å and the flux to 1e-17 erg/s/cm²/Å, resamples flux-conservingly onto
the SDSS log-λ grid of the model, normalises as spender does and sets quality flags.
`prepare_grid_arrays` does the last two steps for arrays already on the grid (catalog jobs).
"""

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import astropy.units as u
import numpy as np

from specir.constants import FLUX_UNIT, Z_RANGE
from specir.errors import SpecIRInputError, SpecIRWarning
from specir.grid import GRID_NPIX, NORM_WINDOW, Flags, grid_wavelength
from specir.plausible import REASONS, check_grid
from specir.resample import resample

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from specutils import Spectrum, SpectrumCollection
from specir.spectrum_input import fail, numbers, read_blocks, resolve_z
from specir.support import median_snr

__all__ = [
    "DEFAULT_Z_RANGE",
    "TOTAL_MAG_RANGE",
    "PreparedSpectra",
    "prepare_grid_arrays",
    "prepare_spectra",
    "total_mag_array",
]

log = logging.getLogger(__name__)

DEFAULT_Z_RANGE = Z_RANGE
"""Redshift range of the default simulated training survey."""
TOTAL_MAG_RANGE = (5.0, 30.0)
"""Total r-band AB magnitudes outside this range (SDSS's -9999 and 99 sentinels) are missing."""


@dataclass
class PreparedSpectra:
    """Spectra on the model grid, normalised, with their redshifts and quality flags.

    Attributes
    ----------
    flux, ivar : ndarray of float32, shape (n, 3921)
        Normalised flux (divided by ``norm``) and its inverse variance on the observed-frame
        model grid; pixels without data have ``ivar == 0`` and ``flux == 0``.
    z : ndarray of float64, shape (n,)
        Redshift.
    norm : ndarray of float64, shape (n,)
        Median flux in rest-frame 5300–5850 Å, in 1e-17 erg/s/cm²/Å: ``flux * norm`` restores
        the absolute flux density.
    coverage : ndarray of float64, shape (n,)
        Fraction of grid pixels that carry data.
    flags : ndarray of int64, shape (n,)
        `~specir.Flags` bits.
    meta : list of dict
        Each input spectrum's ``meta`` (empty dicts for arrays).
    """

    flux: np.ndarray
    ivar: np.ndarray
    z: np.ndarray
    norm: np.ndarray
    coverage: np.ndarray
    flags: np.ndarray
    meta: list = field(default_factory=list)

    def __len__(self):
        return len(self.z)

    def __getitem__(self, index):
        """A subset (slice, integer array or boolean mask) as a new `PreparedSpectra`."""
        index = np.arange(len(self))[index]
        index = np.atleast_1d(index)
        meta = [self.meta[i] for i in index] if self.meta else []
        return PreparedSpectra(
            self.flux[index],
            self.ivar[index],
            self.z[index],
            self.norm[index],
            self.coverage[index],
            self.flags[index],
            meta,
        )

    @property
    def wavelength(self):
        """Observed-frame vacuum wavelength of the grid as a Quantity in Å."""
        return grid_wavelength() * u.AA

    def restored_flux(self):
        """Absolute flux density on the grid, ``flux * norm``, as a Quantity."""
        return (self.flux * self.norm[:, None]) * FLUX_UNIT


# --------------------------------------------------------------------------- public functions


def prepare_spectra(
    spectra: "Spectrum | Sequence[Spectrum] | SpectrumCollection",
    *,
    z: "float | ArrayLike | None" = None,
    air: bool = False,
    z_range: tuple[float, float] = DEFAULT_Z_RANGE,
    min_coverage: float = 0.8,
    min_snr: float = 1.0,
) -> "PreparedSpectra":
    """Resample, normalise and flag spectra for the model.

    Parameters
    ----------
    spectra : specutils.Spectrum, list of Spectrum, or specutils.SpectrumCollection
        One spectrum (``Spectrum1D`` works too), many spectra on one axis (2-D flux, spectral
        axis last), a list, or a collection. The spectral axis may be in any length,
        frequency or wavenumber unit; flux in any f_λ or f_ν unit; the uncertainty an
        ``InverseVariance``, ``StdDevUncertainty`` or ``VarianceUncertainty``. Masked pixels
        and NaN/inf pixels (masked with a `~specir.SpecIRWarning`) carry no weight.
    z : float or array_like, optional
        Redshift(s); overrides the spectra's own ``redshift``.
    air : bool, optional
        The spectral axis is in air wavelengths (converted to vacuum, Morton 2000).
    z_range : tuple of float, optional
        Redshifts outside this range get `Flags.Z_OUT_OF_RANGE`.
    min_coverage : float, optional
        Grid coverage below this fraction sets `Flags.LOW_COVERAGE`.
    min_snr : float, optional
        Median per-pixel S/N below this sets `Flags.LOW_SNR`.

    Returns
    -------
    PreparedSpectra

    Raises
    ------
    SpecIRInputError
        For input that cannot give a trustworthy number: a missing or negative redshift,
        unitless flux or flux that is not a flux density, a non-monotonic spectral axis,
        mismatched uncertainty, no usable pixel, no overlap with the model grid.

    Examples
    --------
    >>> import astropy.units as u, numpy as np
    >>> from astropy.nddata import StdDevUncertainty
    >>> from specutils import Spectrum
    >>> wave = np.linspace(380, 930, 2000) * u.nm
    >>> spec = Spectrum(flux=np.full(2000, 2.0) * u.mJy, spectral_axis=wave,
    ...                 uncertainty=StdDevUncertainty(np.full(2000, 0.1)), redshift=0.05)
    >>> prep = prepare_spectra(spec)
    >>> prep.flux.shape, prep.flags[0], round(float(prep.coverage[0]), 3)
    ((1, 3921), np.int64(0), 0.992)
    """
    if not isinstance(air, bool | np.bool_):
        fail("air", f"is {air!r:.40}", "pass air=True for air wavelengths, else False")
    _check_limits(z_range, min_coverage, min_snr)
    blocks = read_blocks(spectra, air)
    n = sum(b.flux.shape[0] for b in blocks)
    zarr = resolve_z(z, [v for b in blocks for v in b.z], n)
    grid = grid_wavelength()
    flux = np.zeros((n, GRID_NPIX))
    ivar = np.zeros((n, GRID_NPIX))
    flags = np.zeros(n, np.int64)
    meta = []
    # spectra that share a wavelength array are resampled together with one sparse product
    groups = {}
    start = 0
    for b in blocks:
        rows = np.arange(start, start + b.flux.shape[0])
        groups.setdefault(b.wave.tobytes(), []).append((b, rows))
        flags[rows[b.nonfinite]] |= Flags.NONFINITE_MASKED
        flags[rows[b.reversed]] |= Flags.IMPLAUSIBLE
        meta.extend(b.meta)
        start += b.flux.shape[0]
    for members in groups.values():
        wave = members[0][0].wave
        rows = np.concatenate([r for _, r in members])
        f, iv = resample(
            wave,
            np.concatenate([b.flux for b, _ in members]),
            np.concatenate([b.ivar for b, _ in members]),
            grid,
        )
        flux[rows], ivar[rows] = f, iv
        if not np.any(iv > 0):
            fail(
                "spectral_axis",
                f"covers {wave[0]:.0f}–{wave[-1]:.0f} Å (vacuum), which does not overlap "
                f"the model grid {grid[0]:.0f}–{grid[-1]:.0f} Å (observed frame)",
                "give optical spectra in the observed frame covering part of 3784–9333 Å",
            )
    if np.any(flags & Flags.NONFINITE_MASKED):
        warnings.warn(
            f"NaN or infinite pixels masked in {int(np.sum(flags & Flags.NONFINITE_MASKED > 0))} "
            "spectra (flag NONFINITE_MASKED)",
            SpecIRWarning,
            stacklevel=2,
        )
    reversed_rows = (flags & Flags.IMPLAUSIBLE) != 0
    prepared, found = _finalise(
        flux, ivar, zarr, flags, meta, z_range=z_range, min_coverage=min_coverage, min_snr=min_snr
    )
    _warn_implausible({**found, "reversed": reversed_rows})
    return prepared


def _warn_implausible(found):
    """One SpecIRWarning naming which spectra failed which physical check."""
    parts = [
        f"{REASONS[k]}: #{', #'.join(str(i) for i in np.flatnonzero(m))}"
        for k, m in found.items()
        if np.any(m)
    ]
    if parts:
        warnings.warn(
            "spectra no galaxy can emit are flagged IMPLAUSIBLE and predicted as NaN ("
            + "; ".join(parts)
            + ")",
            SpecIRWarning,
            stacklevel=3,
        )


def prepare_grid_arrays(
    flux: "ArrayLike",
    ivar: "ArrayLike",
    z: "ArrayLike",
    *,
    mask: "ArrayLike | None" = None,
    z_range: tuple[float, float] = DEFAULT_Z_RANGE,
    min_coverage: float = 0.8,
    min_snr: float = 1.0,
) -> "PreparedSpectra":
    """Normalise and flag spectra that are already on the model grid.

    Meant for catalog jobs: bad rows are flagged, never raised on, so one bad spectrum does
    not stop a survey. Rows with no usable pixel get `Flags.NO_DATA` (and NaN ``norm``);
    a NaN or negative redshift gets `Flags.Z_OUT_OF_RANGE`.

    Parameters
    ----------
    flux, ivar : array_like, shape (n, 3921)
        Flux in 1e-17 erg/s/cm²/Å and its inverse variance on the observed-frame model grid.
    z : array_like, shape (n,)
        Redshifts.
    mask : array_like of bool, shape (n, 3921), optional
        True for bad pixels.
    z_range, min_coverage, min_snr
        As in `prepare_spectra`.

    Returns
    -------
    PreparedSpectra

    Examples
    --------
    >>> import numpy as np
    >>> flux = np.ones((2, 3921)); ivar = np.full((2, 3921), 4.0)
    >>> ivar[1] = 0.0
    >>> prep = prepare_grid_arrays(flux, ivar, [0.1, 0.1])
    >>> [Flags.describe(f) for f in prep.flags]
    [[], ['LOW_COVERAGE', 'LOW_SNR', 'NO_DATA']]
    """
    _check_limits(z_range, min_coverage, min_snr)
    fix = f"give (n, {GRID_NPIX}) arrays of numbers on the model grid"
    flux = numbers(flux, "flux", fix, ndmin=2)
    ivar = numbers(ivar, "ivar", fix, ndmin=2)
    if flux.shape != ivar.shape or flux.shape[-1] != GRID_NPIX:
        raise SpecIRInputError(
            "flux/ivar",
            f"have shapes {flux.shape} and {ivar.shape}",
            f"give two (n, {GRID_NPIX}) arrays on the model grid",
        )
    n = flux.shape[0]
    z = numbers(z, "z", "give one redshift (a number) per row").reshape(-1)
    if z.shape != (n,):
        raise SpecIRInputError("z", f"has {z.size} values for {n} spectra", "one z per row")
    flags = np.zeros(n, np.int64)
    nonfinite = ~np.isfinite(flux) | ~np.isfinite(ivar)
    flags[nonfinite.any(axis=1)] |= Flags.NONFINITE_MASKED
    good = ~nonfinite & (ivar > 0)
    if mask is not None:
        good &= ~np.asarray(mask, dtype=bool).reshape(flux.shape)
    flux = np.where(good, flux, 0.0)
    ivar = np.where(good, ivar, 0.0)
    badz = ~np.isfinite(z) | (z < 0)
    flags[badz] |= Flags.Z_OUT_OF_RANGE
    z = np.where(badz, np.nan, z)
    prepared, _ = _finalise(
        flux, ivar, z, flags, [], z_range=z_range, min_coverage=min_coverage, min_snr=min_snr
    )
    return prepared


def _check_limits(z_range, min_coverage, min_snr):
    """Refuse z_range, min_coverage and min_snr values that are not what they claim."""
    zr = numbers(z_range, "z_range", "give (z_min, z_max) with 0 <= z_min < z_max")
    if zr.shape != (2,) or not np.all(np.isfinite(zr)) or not 0 <= zr[0] < zr[1]:
        fail("z_range", f"is {z_range!r:.40}", "give (z_min, z_max) with 0 <= z_min < z_max")
    cov = numbers(min_coverage, "min_coverage", "give a fraction between 0 and 1")
    if cov.shape != (1,) or not 0 <= cov[0] <= 1:
        fail("min_coverage", f"is {min_coverage!r:.40}", "give a fraction between 0 and 1")
    snr = numbers(min_snr, "min_snr", "give a signal-to-noise ratio >= 0")
    if snr.shape != (1,) or not snr[0] >= 0:
        fail("min_snr", f"is {min_snr!r:.40}", "give a signal-to-noise ratio >= 0")


def _finalise(flux, ivar, z, flags, meta, *, z_range, min_coverage, min_snr):
    """Coverage, S/N and redshift flags, then normalisation (shared by both entry points)."""
    good = ivar > 0
    coverage = good.mean(axis=1)
    flags[coverage < min_coverage] |= Flags.LOW_COVERAGE
    with np.errstate(invalid="ignore"):
        flags[~((z >= z_range[0]) & (z <= z_range[1]))] |= Flags.Z_OUT_OF_RANGE
    nodata = ~good.any(axis=1)
    flags[nodata] |= Flags.NO_DATA
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: handled below
        med_snr = median_snr(flux, ivar)
        flags[~(med_snr >= min_snr)] |= Flags.LOW_SNR
        rest = grid_wavelength()[None, :] / (1.0 + np.nan_to_num(z, nan=0.0))[:, None]
        window = good & (rest >= NORM_WINDOW[0]) & (rest <= NORM_WINDOW[1])
        norm = np.nanmedian(np.where(window, flux, np.nan), axis=1)
        fallback = ~(norm > 0)
        norm[fallback] = np.nanmedian(np.where(good[fallback], flux[fallback], np.nan), axis=1)
        still = ~(norm > 0)
        norm[still] = np.nanmean(np.where(good[still], np.abs(flux[still]), np.nan), axis=1)
    flags[fallback & ~nodata] |= Flags.NORM_FALLBACK
    norm[nodata] = np.nan
    found = check_grid(flux, ivar, z, norm)
    for bad in found.values():
        flags[bad & ~nodata] |= Flags.IMPLAUSIBLE
    scale = np.where(np.isfinite(norm) & (norm > 0), norm, 1.0)
    with np.errstate(over="ignore"):  # IMPLAUSIBLE rows may overflow float32; they are NaN later
        out_flux = (flux / scale[:, None]).astype(np.float32)
        out_ivar = (ivar * scale[:, None] ** 2).astype(np.float32)
    if flags.any():
        log.debug("flags set on %d of %d spectra", int(np.sum(flags > 0)), len(flags))
    return PreparedSpectra(out_flux, out_ivar, z, norm, coverage, flags, meta), found


def total_mag_array(r_mag, n):
    """Total r-band AB magnitudes as a float array of length ``n`` (NaN where missing).

    Parameters
    ----------
    r_mag : None, float, array_like or `~astropy.units.Quantity`
        Total (not fibre) r-band magnitudes, e.g. SDSS ``modelMag_r`` or ``cModelMag_r``: plain
        numbers, ``u.mag`` or ``u.ABmag``. One value is broadcast to all ``n`` spectra. Values
        that are not finite or lie outside :data:`TOTAL_MAG_RANGE` (SDSS writes -9999 for
        "no measurement") count as missing; ``predict_ir`` flags those rows ``NO_TOTAL_MAG``.
    n : int
        Number of spectra.

    Examples
    --------
    >>> import astropy.units as u
    >>> total_mag_array([17.2, -9999.0] * u.ABmag, 2)
    array([17.2,  nan])
    >>> total_mag_array(None, 1)
    array([nan])
    >>> total_mag_array([17.0, 16.0, 15.0], 2)
    Traceback (most recent call last):
    ...
    specir.errors.SpecIRInputError: r_mag: has 3 values for 2 spectra. Fix: ...
    """
    if r_mag is None:
        return np.full(n, np.nan)
    if isinstance(r_mag, u.Quantity):
        if r_mag.unit not in (u.mag, u.ABmag):
            fail("r_mag", f"has unit {r_mag.unit}", "give AB magnitudes (u.ABmag or u.mag)")
        r_mag = r_mag.value
    if np.asarray(r_mag).dtype == bool:
        fail("r_mag", f"is a boolean ({r_mag!r:.60}), not a magnitude", "give magnitudes or None")
    try:
        r = np.asarray(r_mag, dtype=np.float64)
    except (TypeError, ValueError):
        fail("r_mag", f"is not numeric ({type(r_mag).__name__})", "give magnitudes or None")
    if r.ndim == 0:
        r = np.full(n, float(r))
    if r.shape != (n,):
        fail("r_mag", f"has {r.size} values for {n} spectra", "give one magnitude per spectrum")
    lo, hi = TOTAL_MAG_RANGE
    return np.where(np.isfinite(r) & (r > lo) & (r < hi), r, np.nan)
