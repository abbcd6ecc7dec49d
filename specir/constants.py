"""Physical and survey constants shared across specir, each defined once.

Band tables live in :mod:`specir.bands`, the model's wavelength grid in :mod:`specir.grid`.
"""

import astropy.constants as const
import astropy.units as u

__all__ = ["C_AA_PER_S", "C_KMS", "FLUX_UNIT", "Z_RANGE"]

C_KMS: float = const.c.to_value(u.km / u.s)
"""Speed of light in km/s."""

C_AA_PER_S: float = const.c.to_value(u.AA / u.s)
"""Speed of light in Å/s (f_ν ↔ f_λ conversions)."""

FLUX_UNIT = u.Unit("1e-17 erg / (s cm2 Angstrom)")
"""Flux-density unit of SDSS spectra and of every spectrum on the model grid."""

Z_RANGE: tuple[float, float] = (0.01, 0.35)
"""Redshift range of the SDSS main galaxy sample the shipped model is trained for."""
