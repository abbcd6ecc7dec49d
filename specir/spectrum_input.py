"""Reading specutils spectra of any unit and container into arrays (for :mod:`specir.spectra`).

Each input spectrum becomes a `Block`: its spectral axis in vacuum Å (increasing), flux in
1e-17 erg/s/cm²/Å and inverse variance (0 where masked), redshifts and metadata. Anything that
cannot give a trustworthy number is refused here with a
:class:`~specir.errors.SpecIRInputError` naming the field and the fix.
"""

import functools
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.nddata import InverseVariance, StdDevUncertainty, VarianceUncertainty
from specutils import Spectrum, SpectrumCollection

from specir.constants import C_AA_PER_S, FLUX_UNIT
from specir.errors import SpecIRInputError
from specir.plausible import axes_reversed

__all__ = ["Block", "fail", "numbers", "read_blocks", "resolve_z"]

_FLAMBDA = u.erg / u.s / u.cm**2 / u.AA


@dataclass
class Block:
    """Spectra sharing one spectral axis, already in Å (increasing) and FLUX_UNIT."""

    wave: np.ndarray  # (m,)
    flux: np.ndarray  # (k, m)
    ivar: np.ndarray  # (k, m), 0 where masked
    z: list  # k redshifts or None
    meta: list  # k dicts
    nonfinite: np.ndarray  # (k,) bool: NaN/inf pixels were masked
    reversed: np.ndarray  # (k,) bool: the night sky in the noise says the axis runs backwards


def fail(field_, problem, fix):
    """Raise :class:`~specir.errors.SpecIRInputError` (field, problem, fix)."""
    raise SpecIRInputError(field_, problem, fix)


def _spectral_axis_to_vacuum_aa(axis, air, label):
    unit = getattr(axis, "unit", None)
    if unit is None or unit == u.dimensionless_unscaled or unit == u.pix:
        fail(
            f"{label}.spectral_axis",
            f"has unit {unit!s} which is not a wavelength, frequency or wavenumber",
            "give the spectral axis in a length unit (Å, nm, µm), a frequency or a wavenumber",
        )
    try:
        wave = u.Quantity(axis).to_value(u.AA, equivalencies=u.spectral())
    except u.UnitConversionError:
        fail(
            f"{label}.spectral_axis",
            f"unit {unit} cannot be converted to a wavelength",
            "give the spectral axis in a length, frequency or wavenumber unit",
        )
    wave = np.asarray(wave, dtype=float)
    if wave.size == 0:
        fail(label, "is empty (no pixels)", "give a spectrum with data")
    if wave.size < 2 or not np.all(np.isfinite(wave)):
        fail(
            f"{label}.spectral_axis",
            "has fewer than 2 pixels or non-finite values",
            "give a finite spectral axis with at least 2 pixels",
        )
    step = np.diff(wave)
    if not (np.all(step > 0) or np.all(step < 0)):
        kind = "duplicated values" if np.any(step == 0) else "is not monotonic"
        fail(
            f"{label}.spectral_axis",
            f"is not strictly monotonic ({kind})",
            "sort the spectrum by wavelength and remove duplicated pixels",
        )
    if air:
        from specutils.utils.wcs_utils import air_to_vac

        wave = air_to_vac(wave * u.AA, scheme="inversion", method="Morton2000").to_value(u.AA)
    return wave


@functools.lru_cache(maxsize=64)
def _unit_scale(unit):
    """(kind, scale): f_λ units scale to FLUX_UNIT; f_ν units to erg/s/cm²/Hz."""
    if unit.is_equivalent(_FLAMBDA):
        return "flambda", unit.to(FLUX_UNIT)
    if unit.is_equivalent(u.Jy):
        return "fnu", unit.to(u.erg / u.s / u.cm**2 / u.Hz)
    return None, None


def _flux_factor(unit, wave, label):
    """Per-pixel factor converting ``unit`` to FLUX_UNIT at wavelengths ``wave`` (Å).

    Same numbers as ``u.spectral_density``, without rebuilding the equivalency per spectrum:
    f_λ = f_ν c / λ².
    """
    if unit is None or unit == u.dimensionless_unscaled:
        fail(
            f"{label}.flux.unit",
            "is missing (unitless flux)",
            "attach a flux-density unit, e.g. flux * u.Unit('1e-17 erg/(s cm2 Angstrom)') or u.Jy",
        )
    kind, scale = _unit_scale(unit)
    if kind is None:
        fail(
            f"{label}.flux.unit",
            f"is {unit} ({unit.physical_type}), not a flux density",
            "give flux density per unit wavelength (erg/s/cm²/Å, W/m²/nm) or frequency (Jy)",
        )
    if kind == "flambda":
        return np.full_like(wave, scale)
    return scale * C_AA_PER_S / wave**2 / FLUX_UNIT.scale


def _ivar_from_uncertainty(unc, flux_unit, shape, label):
    """Inverse variance in ``flux_unit**-2`` from an astropy uncertainty object."""
    if unc is None:
        fail(
            f"{label}.uncertainty",
            "is missing",
            "attach an InverseVariance, StdDevUncertainty or VarianceUncertainty",
        )
    arr = np.asarray(unc.array, dtype=float)
    if arr.shape != shape:
        fail(
            f"{label}.uncertainty",
            f"has shape {arr.shape} but the flux has shape {shape}",
            "give one uncertainty per flux pixel",
        )
    kinds = (StdDevUncertainty, VarianceUncertainty, InverseVariance)
    if not isinstance(unc, kinds):
        fail(
            f"{label}.uncertainty",
            f"is a {type(unc).__name__}",
            "use InverseVariance, StdDevUncertainty or VarianceUncertainty",
        )
    with np.errstate(invalid="ignore"):
        negative = np.sum(arr < 0)
    if negative:
        fail(
            f"{label}.uncertainty",
            f"has {negative} negative values",
            "set unusable pixels' inverse variance to 0 or mask them",
        )
    with np.errstate(divide="ignore", invalid="ignore"):  # zero σ: infinite weight, masked later
        inv = unc if isinstance(unc, InverseVariance) else unc.represent_as(InverseVariance)
    ivar = np.asarray(inv.array, dtype=float)
    if inv.unit is not None:
        try:
            ivar = ivar * inv.unit.to(flux_unit**-2)
        except u.UnitConversionError:
            fail(
                f"{label}.uncertainty.unit",
                f"is {unc.unit}, not compatible with the flux unit {flux_unit}",
                f"give the uncertainty in {flux_unit} (σ), its square or its inverse square",
            )
    return ivar  # may hold inf (zero σ) or NaN: masked by the caller


def _redshifts(spec, k, label):
    axis = spec.spectral_axis
    if getattr(axis, "_radial_velocity", None) is None:
        return [None] * k
    return [float(np.asarray(spec.redshift).ravel()[0])] * k


def _block_from_spectrum(spec, air, label):
    wave = _spectral_axis_to_vacuum_aa(spec.spectral_axis, air, label)
    flux_q = spec.flux
    axis_index = getattr(spec, "spectral_axis_index", flux_q.ndim - 1)
    flux = np.moveaxis(np.asarray(flux_q.value, dtype=float), axis_index, -1)
    if flux.shape[-1] != wave.size:
        fail(f"{label}.flux", "does not match its spectral axis", "check the spectrum")
    factor = _flux_factor(flux_q.unit, wave, label)
    unc = spec.uncertainty
    ivar = _ivar_from_uncertainty(unc, flux_q.unit, np.asarray(flux_q.value).shape, label)
    ivar = np.moveaxis(ivar, axis_index, -1)
    mask = spec.mask
    if mask is not None:
        mask = np.moveaxis(np.broadcast_to(np.asarray(mask) != 0, flux_q.shape), axis_index, -1)
    flux = flux.reshape(-1, wave.size)
    ivar = ivar.reshape(-1, wave.size)
    mask = np.zeros(flux.shape, bool) if mask is None else mask.reshape(-1, wave.size)
    nonfinite = ~np.isfinite(flux) | ~np.isfinite(ivar)
    good = ~mask & ~nonfinite & (ivar > 0)
    flux = np.where(good, flux * factor, 0.0)
    ivar = np.where(good, ivar / factor**2, 0.0)
    if wave[0] > wave[-1]:
        wave, flux, ivar = wave[::-1], flux[:, ::-1], ivar[:, ::-1]
        good = good[:, ::-1]
    k = flux.shape[0]
    empty = ~good.any(axis=1)
    if empty.any():
        fail(
            f"{label}.flux",
            f"has no usable pixel in {int(empty.sum())} of {k} spectra "
            "(all NaN/inf, masked, or with zero inverse variance)",
            "drop those spectra or supply valid flux and uncertainty",
        )
    meta = [dict(spec.meta or {}) for _ in range(k)]
    mirrored = axes_reversed(wave, ivar)
    zs = _redshifts(spec, k, label)
    return Block(wave, flux, ivar, zs, meta, nonfinite.any(axis=1), mirrored)


def read_blocks(spectra, air):
    """One `Block` per Spectrum (or per collection member); refuses anything else."""
    if isinstance(spectra, Spectrum):
        return [_block_from_spectrum(spectra, air, "spectrum")]
    if isinstance(spectra, SpectrumCollection):
        out = []
        for i in range(spectra.shape[0]):
            out.append(_block_from_spectrum(spectra[i], air, f"spectra[{i}]"))
        return out
    if isinstance(spectra, list | tuple):
        if not spectra:
            fail("spectra", "is an empty list", "give at least one spectrum")
        out = []
        for i, s in enumerate(spectra):
            if not isinstance(s, Spectrum):
                fail(f"spectra[{i}]", f"is a {type(s).__name__}", "give specutils Spectrum objects")
            out.append(_block_from_spectrum(s, air, f"spectra[{i}]"))
        return out
    fail(
        "spectra",
        f"is a {type(spectra).__name__}",
        "give a specutils Spectrum, a list of them or a SpectrumCollection",
    )


def numbers(value, field_, fix, *, ndmin=1):
    """``value`` as a float array, refusing booleans, strings and other non-numbers."""
    if isinstance(value, u.Quantity):
        if value.unit != u.dimensionless_unscaled:
            fail(field_, f"has unit {value.unit}", fix)
        value = value.value
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):  # ragged nested lists
        fail(field_, "is ragged (rows of different lengths) or not numeric", fix)
    if arr.dtype == bool or (arr.dtype == object and any(isinstance(v, bool) for v in arr.flat)):
        fail(field_, f"is a boolean ({value!r:.60}), not a number", fix)
    if arr.dtype.kind not in "iuf":
        fail(field_, f"is not a number ({value!r:.60})", fix)
    return np.array(arr, dtype=float, ndmin=ndmin)


def resolve_z(z, block_z, n):
    """``n`` redshifts from ``z`` (numbers only, one or ``n``) or else from the spectra."""
    if z is not None:
        zarr = numbers(z, "z", "give the redshift as a number or an array of numbers")
        if zarr.size == 1:
            zarr = np.full(n, zarr[0])
        if zarr.shape != (n,):
            fail("z", f"has {zarr.size} values for {n} spectra", "give one redshift per spectrum")
    else:
        missing = [i for i, v in enumerate(block_z) if v is None]
        if missing:
            fail(
                "redshift",
                f"is not set for {len(missing)} of {n} spectra (first: #{missing[0]})",
                "pass z= or create the Spectrum with redshift=",
            )
        zarr = np.asarray(block_z, dtype=float)
    if not np.all(np.isfinite(zarr)):
        fail("redshift", "is NaN or infinite", "give a finite redshift")
    if np.any(zarr < 0):
        fail("redshift", f"is negative ({zarr.min():g})", "give z >= 0 (galaxy redshifts)")
    return zarr
