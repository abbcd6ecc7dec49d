"""WISE band definitions, Vega zero points and magnitude–flux conversions.

Zero points and isophotal wavelengths are those of Jarrett et al. (2011, ApJ 735, 112),
Table 1, as used by the AllWISE Explanatory Supplement (section IV.4.h). Magnitudes are
Vega profile-fit magnitudes (AllWISE ``wNmpro``); fluxes are in mJy.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["BAND_NAMES", "N_BANDS", "WISE_BANDS", "WiseBand", "mag_to_mjy", "mjy_to_mag"]

# IVOA UCD1+ infrared ranges (UCD1+ controlled vocabulary, ``em.IR.*``): (low, high, word), µm
_UCD_IR_RANGES = (
    (1.0, 1.5, "em.IR.J"),
    (1.5, 2.0, "em.IR.H"),
    (2.0, 3.0, "em.IR.K"),
    (3.0, 4.0, "em.IR.3-4um"),
    (4.0, 8.0, "em.IR.4-8um"),
    (8.0, 15.0, "em.IR.8-15um"),
    (15.0, 30.0, "em.IR.15-30um"),
    (30.0, 60.0, "em.IR.30-60um"),
)


@dataclass(frozen=True)
class WiseBand:
    """One WISE band."""

    name: str
    """``"w1"`` … ``"w4"``."""
    wavelength_um: float
    """Isophotal wavelength in µm."""
    zero_point_jy: float
    """Flux density of a zero-magnitude (Vega) source in Jy."""
    speclite_name: str
    """Name of the filter curve in speclite."""

    @property
    def ucd(self) -> str:
        """The UCD1+ spectral-range word of the band's isophotal wavelength (``em.IR`` beyond).

        Examples
        --------
        >>> [b.ucd for b in WISE_BANDS]
        ['em.IR.3-4um', 'em.IR.4-8um', 'em.IR.8-15um', 'em.IR.15-30um']
        """
        ranges = (w for lo, hi, w in _UCD_IR_RANGES if lo <= self.wavelength_um < hi)
        return next(ranges, "em.IR")

    @property
    def label(self) -> str:
        """``"WISE W3 (11.56 um)"``: name and isophotal wavelength, for descriptions."""
        return f"WISE {self.name.upper()} ({self.wavelength_um:.4g} um)"


WISE_BANDS = (
    WiseBand("w1", 3.3526, 309.540, "wise2010-W1"),
    WiseBand("w2", 4.6028, 171.787, "wise2010-W2"),
    WiseBand("w3", 11.5608, 31.674, "wise2010-W3"),
    WiseBand("w4", 22.0883, 8.363, "wise2010-W4"),
)
BAND_NAMES = tuple(b.name for b in WISE_BANDS)
"""``("w1", "w2", "w3", "w4")``: the order of every per-band array in specir."""
N_BANDS = len(WISE_BANDS)
"""Number of WISE bands (the last axis of every per-band array)."""
_ZP_MJY = np.array([b.zero_point_jy * 1e3 for b in WISE_BANDS])


def mag_to_mjy(mag, mag_err=None) -> "np.ndarray | tuple[np.ndarray, np.ndarray]":
    """Convert Vega magnitudes in W1–W4 (last axis) to flux densities in mJy.

    Parameters
    ----------
    mag : array_like, shape (..., 4)
        Vega magnitudes, bands on the last axis.
    mag_err : array_like, shape (..., 4), optional
        1-σ magnitude errors; propagated to first order.

    Returns
    -------
    flux : ndarray
        mJy.
    flux_err : ndarray
        mJy, only when ``mag_err`` is given.

    Examples
    --------
    >>> mag_to_mjy([0.0, 0.0, 0.0, 0.0])
    array([309540., 171787.,  31674.,   8363.])
    """
    mag = np.asarray(mag, dtype=float)
    flux = _ZP_MJY * 10.0 ** (-0.4 * mag)
    if mag_err is None:
        return flux
    return flux, flux * 0.4 * np.log(10.0) * np.asarray(mag_err, dtype=float)


def mjy_to_mag(flux, flux_err=None) -> "np.ndarray | tuple[np.ndarray, np.ndarray]":
    """Convert W1–W4 flux densities in mJy (last axis) to Vega magnitudes.

    Non-positive fluxes give NaN magnitudes.

    Examples
    --------
    >>> mjy_to_mag([309.54, 171.787, 31.674, 8.363])
    array([7.5, 7.5, 7.5, 7.5])
    """
    flux = np.asarray(flux, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(flux > 0, -2.5 * np.log10(np.where(flux > 0, flux, 1.0) / _ZP_MJY), np.nan)
        if flux_err is None:
            return mag
        err = np.where(flux > 0, 2.5 / np.log(10.0) * np.asarray(flux_err, float) / flux, np.nan)
    return mag, err
