"""The model's wavelength grid and the quality-flag bits shared by every part of specir.

The grid is SDSS's observed-frame log-linear grid: ``10**arange(3.578, 3.97, 1e-4)`` Å in
vacuum, 3921 pixels from 3784 Å to 9333 Å (Jespersen et al. 2025, following spender).
"""

import enum

import numpy as np

__all__ = [
    "GRID_DLOGLAM",
    "GRID_LOGLAM0",
    "GRID_NPIX",
    "NORM_WINDOW",
    "Flags",
    "grid_wavelength",
]

GRID_LOGLAM0 = 3.578
"""log10 of the first pixel's vacuum wavelength in Å."""
GRID_DLOGLAM = 1e-4
"""Pixel width in log10(λ)."""
GRID_NPIX = 3921
"""Number of pixels on the model grid."""
NORM_WINDOW = (5300.0, 5850.0)
"""Rest-frame window (Å) whose median flux normalises each spectrum, as in spender."""


def grid_wavelength() -> np.ndarray:
    """Vacuum wavelengths of the model grid's pixel centres, in Å.

    Returns
    -------
    wave : ndarray of float64, shape (3921,)

    Examples
    --------
    >>> w = grid_wavelength()
    >>> w.shape, round(float(w[0]), 2), round(float(w[-1]), 2)
    ((3921,), 3784.43, 9332.54)
    """
    return 10.0 ** (GRID_LOGLAM0 + GRID_DLOGLAM * np.arange(GRID_NPIX))


class Flags(enum.IntFlag):
    """Quality bits of a prepared spectrum or a prediction (the ``flags`` column).

    A row with ``flags == 0`` is clean. Any set bit means the numbers in that row deserve
    caution; they are still computed so that nothing is silently dropped.

    Examples
    --------
    >>> Flags(6)
    <Flags.Z_OUT_OF_RANGE|LOW_SNR: 6>
    >>> Flags.describe(6)
    ['Z_OUT_OF_RANGE', 'LOW_SNR']
    """

    LOW_COVERAGE = 1
    """Fewer than ``min_coverage`` (default 80%) of the model grid's pixels carry data."""
    Z_OUT_OF_RANGE = 2
    """Redshift outside the range the model was trained on."""
    LOW_SNR = 4
    """Median per-pixel S/N below ``min_snr`` (default 1)."""
    NORM_FALLBACK = 8
    """The rest-frame 5300–5850 Å window had no usable flux; normalised by the median of all
    valid pixels instead."""
    NONFINITE_MASKED = 16
    """NaN or infinite pixels were found in the input and masked."""
    OUT_OF_DISTRIBUTION = 32
    """The model's latent summary lies far from the training set (set by ``predict_ir``)."""
    NO_DATA = 64
    """No usable pixel at all (catalog jobs flag instead of raising); values are NaN."""
    NO_TOTAL_MAG = 128
    """No valid total r-band magnitude was given (``r_mag``): the WISE fluxes rest on the fibre
    spectrum's amplitude alone and their errors include the unknown aperture loss (set by
    ``predict_ir``)."""
    IMPLAUSIBLE = 256
    """The input is not a spectrum a galaxy can emit: flux density or implied luminosity beyond
    any galaxy, flux negative throughout, a flux that jumps from pixel to pixel far beyond its
    noise (scrambled pixels), or a spectral axis reversed relative to the flux and noise. The
    row's values are NaN (see :mod:`specir.plausible`)."""

    @staticmethod
    def describe(value):
        """Names of the bits set in ``value``."""
        return [f.name for f in Flags if int(value) & f.value]
