"""Typed, validated configuration of the simulated survey.

Every number that shapes the simulated population or the simulated instruments lives in one of
the frozen dataclasses below; :class:`SimConfig` bundles them. Bad values raise
:class:`~specir.errors.SpecIRInputError` naming the offending field (``population.z_max``, ...).
A TOML file with tables ``[population]``, ``[agn]``, ``[sdss]``, ``[wise]`` and top-level
``chunk_size`` overrides the defaults (:func:`load_config`).
"""

import math
from dataclasses import dataclass, field

from specir.config import check_choice
from specir.constants import Z_RANGE
from specir.errors import SpecIRInputError
from specir.sim.agb import AGB_RATIO_RANGE

__all__ = [
    "AGNConfig",
    "PopulationConfig",
    "SDSSConfig",
    "SimConfig",
    "WISEConfig",
    "load_config",
]


def _check(prefix, name, value, lo=None, hi=None, *, lo_open=False):
    full = f"{prefix}.{name}" if prefix else name
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecIRInputError(full, f"must be a finite number, got {value!r}", "give a number")
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise SpecIRInputError(full, f"is {value}, below the allowed minimum {lo}", "raise it")
    if hi is not None and value > hi:
        raise SpecIRInputError(full, f"is {value}, above the allowed maximum {hi}", "lower it")


def _check_range(prefix, name, pair, lo, hi, *, allow_equal=False):
    full = f"{prefix}.{name}"
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise SpecIRInputError(full, f"must be a pair (low, high), got {pair!r}", "give 2 numbers")
    for v in pair:
        _check(prefix, name, v, lo, hi)
    if not (pair[0] < pair[1] or (allow_equal and pair[0] == pair[1])):
        raise SpecIRInputError(full, f"low {pair[0]} is not below high {pair[1]}", "swap them")


@dataclass(frozen=True)
class PopulationConfig:
    """Priors of the galaxy population (see ``docs/simulation.rst`` for the sources)."""

    z_range: tuple[float, float] = Z_RANGE
    """Redshift range of the drawn galaxies."""
    log_mstar_range: tuple[float, float] = (8.5, 12.0)
    """Range of log10 stellar mass (Msun) drawn from the mass function."""
    quiescent_mass: float = 10.6
    """log10 mass at which half the galaxies are quiescent (Peng et al. 2010)."""
    quiescent_width: float = 0.35
    """Width (dex) of the logistic quiescent-fraction transition."""
    ms_scatter: float = 0.3
    """Scatter (dex) of the star-forming main sequence (Renzini & Peng 2015)."""
    mz_scatter: float = 0.1
    """Scatter (dex) of the gas-phase mass-metallicity relation (Tremonti et al. 2004)."""
    qpah_scatter: float = 0.5
    """Scatter (percentage points) of q_PAH about its metallicity relation."""
    qpah_metal_rich: float = 2.1
    """q_PAH (%) of metal-rich galaxies: the DL07 value whose νL_ν(12 µm) / L_dust equals
    that of Cluver et al. (2017) with Kennicutt & Evans (2012) (``docs/simulation.rst``)."""
    ism_fraction: float = 0.3
    """Fraction mu of the birth-cloud V-band attenuation in the diffuse ISM (Charlot & Fall
    2000; da Cunha et al. 2008); bagpipes' eta = 1 / mu."""
    umin_scatter: float = 0.2
    """Scatter (dex) of U_min about its sSFR relation."""
    av_scatter: float = 0.15
    """Scatter (dex) of A_V about its mass and SFR relation."""
    agb_ratio_range: tuple[float, float] = AGB_RATIO_RANGE
    """Range of the ratio of AGB circumstellar dust to photospheric light in the rest-frame W3
    band (uniform; Mazzei & De Zotti 1994, :mod:`specir.sim.agb`); ``[0, 0]`` leaves it out."""
    sky_patch: tuple = ()
    """``(ra_min, ra_max, dec_min, dec_max)`` in degrees: place the galaxies uniformly on this
    patch of sky instead of the SDSS-Legacy-like footprint (empty: the footprint)."""

    def __post_init__(self):
        p = "population"
        _check_range(p, "z_range", self.z_range, 0.001, 0.9)
        _check_range(p, "log_mstar_range", self.log_mstar_range, 7.0, 12.5)
        _check(p, "quiescent_mass", self.quiescent_mass, 8.0, 12.5)
        _check(p, "quiescent_width", self.quiescent_width, 0.0, 2.0, lo_open=True)
        for name in ("ms_scatter", "mz_scatter", "umin_scatter", "av_scatter"):
            _check(p, name, getattr(self, name), 0.0, 1.0)
        _check(p, "qpah_scatter", self.qpah_scatter, 0.0, 2.0)
        _check(p, "qpah_metal_rich", self.qpah_metal_rich, 0.47, 4.58)
        _check(p, "ism_fraction", self.ism_fraction, 0.05, 1.0)
        _check_range(p, "agb_ratio_range", self.agb_ratio_range, 0.0, 5.0, allow_equal=True)
        object.__setattr__(self, "agb_ratio_range", tuple(self.agb_ratio_range))
        object.__setattr__(self, "sky_patch", tuple(self.sky_patch))
        if self.sky_patch:
            if len(self.sky_patch) != 4:
                raise SpecIRInputError(
                    f"{p}.sky_patch",
                    f"has {len(self.sky_patch)} values",
                    "give [ra_min, ra_max, dec_min, dec_max] in degrees, or [] for the footprint",
                )
            _check_range(p, "sky_patch (ra)", self.sky_patch[:2], 0.0, 360.0)
            _check_range(p, "sky_patch (dec)", self.sky_patch[2:], -90.0, 90.0)


INCIDENCES = ("mass", "specific")
"""The AGN incidence models of :class:`AGNConfig`."""
TORI = ("two-temperature", "clumpy")
"""The torus models of :class:`AGNConfig`."""
TYPE2_VIEWS = ("fraction", "extinction")
"""How a type 2 AGN's hot dust is seen (:attr:`AGNConfig.type2_view`)."""


@dataclass(frozen=True)
class AGNConfig:
    """AGN incidence, luminosities and spectra (see ``docs/simulation.rst``)."""

    incidence: str = "specific"
    """How AGN are given to galaxies. ``"mass"``: the fraction rises with stellar mass
    (``fraction_at_1e11``, ``fraction_slope``; the [O III]-selected AGN of Kauffmann et al.
    2003) and the Eddington ratio of the bulge's black hole is drawn from the power law.
    ``"specific"``: the same chance at every mass (``fraction_at_1e11``, times
    ``quiescent_incidence`` in quiescent galaxies) and the specific accretion rate
    L_bol / (1.3e38 erg/s × 0.002 M*) is drawn from the power law, independent of mass (X-ray
    selection: Aird et al. 2012; Birchall et al. 2022)."""
    fraction_at_1e11: float = 0.35
    """Fraction of galaxies of log M* = 11 hosting an AGN (of every mass: ``"specific"``)."""
    fraction_slope: float = 0.8
    """d log10(fraction) / d log M*: incidence rises with mass (``"mass"`` only)."""
    quiescent_incidence: float = 0.5
    """AGN fraction of quiescent relative to star-forming galaxies of the same mass
    (``"specific"`` only; Birchall et al. 2023 measure 1/2)."""
    log_edd_range: tuple[float, float] = (-3.5, 0.0)
    """Range of log Eddington ratio (``"mass"``) or log specific accretion rate
    (``"specific"``), drawn from a power law (Aird et al. 2012)."""
    edd_slope: float = -0.6
    """Power-law slope of the Eddington-ratio distribution dN/dlog(lambda)."""
    oiii_bol_scatter: float = 0.35
    """Scatter (dex) of L[O III] at fixed L_bol (Heckman et al. 2004: L_bol ~ 3500 L[O III])."""
    type1_fraction_at_1e44: float = 0.3
    """Fraction of type 1 AGN at L_bol = 1e44 erg/s (rises with L, Simpson 2005)."""
    torus_hot_fraction: float = 0.15
    """L_hot / L_bol of the hot (sublimation) dust greybody."""
    torus_warm_fraction: float = 0.25
    """L_warm / L_bol of the warm dust greybody."""
    torus: str = "clumpy"
    """The dust around the AGN. ``"two-temperature"``: hot and warm dust only.
    ``"clumpy"``: adds a clumpy torus of clouds from the sublimation radius outwards, whose
    temperatures fall continuously from 1500 K (the 500-900 K dust between the two)."""
    torus_clumpy_fraction: float = 0.25
    """L_torus / L_bol of the clumpy torus (``torus = "clumpy"`` only; Mor & Netzer 2012)."""
    type2_view: str = "extinction"
    """How the dust of a type 2 AGN is seen through its torus. ``"fraction"``: 60% of the hot
    dust and all of the clumpy torus (the surveys of the bundles up to the current one).
    ``"extinction"``: the hot dust behind A_V drawn in ``type2_av_hot_range``, with the Milky
    Way's infrared extinction curve, and each shell of the clumpy torus behind the share of
    that column that lies outside it (Burtscher et al. 2015). The torus components are fitted
    to type 1 quasars, the least obscured AGN, and taken as seen without extinction."""
    type2_av_hot_range: tuple[float, float] = (15.0, 35.0)
    """A_V (mag) towards the hot dust of type 2 AGN, drawn uniformly (Burtscher et al. 2015,
    A&A 578, A47: 15-35 mag by their dust-colour method; ``type2_view = "extinction"``)."""

    def __post_init__(self):
        p = "agn"
        check_choice(f"{p}.incidence", self.incidence, INCIDENCES)
        _check(p, "fraction_at_1e11", self.fraction_at_1e11, 0.0, 1.0)
        check_choice(f"{p}.torus", self.torus, TORI)
        _check(p, "quiescent_incidence", self.quiescent_incidence, 0.0, 1.0)
        _check(p, "fraction_slope", self.fraction_slope, -3.0, 3.0)
        _check_range(p, "log_edd_range", self.log_edd_range, -6.0, 1.0)
        _check(p, "edd_slope", self.edd_slope, -3.0, 3.0)
        _check(p, "oiii_bol_scatter", self.oiii_bol_scatter, 0.0, 1.5)
        _check(p, "type1_fraction_at_1e44", self.type1_fraction_at_1e44, 0.0, 1.0)
        _check(p, "torus_hot_fraction", self.torus_hot_fraction, 0.0, 1.0)
        _check(p, "torus_warm_fraction", self.torus_warm_fraction, 0.0, 1.0)
        _check(p, "torus_clumpy_fraction", self.torus_clumpy_fraction, 0.0, 1.0)
        check_choice(f"{p}.type2_view", self.type2_view, TYPE2_VIEWS)
        _check_range(p, "type2_av_hot_range", self.type2_av_hot_range, 0.0, 200.0, allow_equal=True)
        object.__setattr__(self, "type2_av_hot_range", tuple(self.type2_av_hot_range))


@dataclass(frozen=True)
class SDSSConfig:
    """The SDSS spectrograph and main galaxy sample."""

    r_limit: float = 17.77
    """Main galaxy sample limit in r (Strauss et al. 2002)."""
    resolution: float = 2000.0
    """Spectral resolving power R = lambda / FWHM."""
    fiber_diameter_arcsec: float = 3.0
    """Fibre diameter (SDSS-I/II)."""
    seeing_fwhm_arcsec: float = 1.5
    """Median seeing FWHM."""
    snr_at_fiber_g20: float = 4.5
    """Median S/N per pixel at fibre g = 20.2 (SDSS design requirement, York et al. 2000)."""
    exposure_scatter: float = 0.15
    """Scatter (dex) of plate depth (exposure time, conditions)."""
    bad_pixel_fraction: float = 0.003
    """Fraction of isolated masked pixels."""
    bad_column_probability: float = 0.1
    """Probability that a spectrum has a masked run of 5-30 pixels."""
    calibration_error: float = 0.05
    """Amplitude of smooth spectrophotometric calibration errors (fractional)."""

    def __post_init__(self):
        p = "sdss"
        _check(p, "r_limit", self.r_limit, 10.0, 22.0)
        _check(p, "resolution", self.resolution, 300.0, 4000.0)
        _check(p, "fiber_diameter_arcsec", self.fiber_diameter_arcsec, 0.5, 10.0)
        _check(p, "seeing_fwhm_arcsec", self.seeing_fwhm_arcsec, 0.3, 5.0)
        _check(p, "snr_at_fiber_g20", self.snr_at_fiber_g20, 0.1, 1000.0)
        _check(p, "exposure_scatter", self.exposure_scatter, 0.0, 1.0)
        _check(p, "bad_pixel_fraction", self.bad_pixel_fraction, 0.0, 0.5)
        _check(p, "bad_column_probability", self.bad_column_probability, 0.0, 1.0)
        _check(p, "calibration_error", self.calibration_error, 0.0, 0.5)


@dataclass(frozen=True)
class WISEConfig:
    """WISE depths: 1-sigma noise in mJy per band (AllWISE, Cutri et al. 2013)."""

    sigma_mjy: tuple[float, float, float, float] = (0.011, 0.014, 0.16, 1.05)
    """1-sigma point-source noise of W1-W4 (5-sigma: 16.9, 16.0, 11.5, 8.0 Vega mag)."""
    depth_scatter: float = 0.15
    """Scatter (dex) of depth over the sky (coverage depth varies with ecliptic latitude)."""
    calibration_error: float = 0.02
    """Fractional flux error added in quadrature (profile-fit systematics)."""

    def __post_init__(self):
        p = "wise"
        if len(self.sigma_mjy) != 4:
            raise SpecIRInputError("wise.sigma_mjy", "must hold 4 values", "give W1-W4 noise")
        for v in self.sigma_mjy:
            _check(p, "sigma_mjy", v, 0.0, 1e3, lo_open=True)
        _check(p, "depth_scatter", self.depth_scatter, 0.0, 1.0)
        _check(p, "calibration_error", self.calibration_error, 0.0, 0.5)


@dataclass(frozen=True)
class SimConfig:
    """Everything that defines a simulated survey.

    Examples
    --------
    >>> cfg = SimConfig()
    >>> cfg.sdss.r_limit
    17.77
    >>> SimConfig(chunk_size=0)
    Traceback (most recent call last):
    ...
    specir.errors.SpecIRInputError: chunk_size: is 0, below the allowed minimum 1. Fix: raise it
    """

    population: PopulationConfig = field(default_factory=PopulationConfig)
    agn: AGNConfig = field(default_factory=AGNConfig)
    sdss: SDSSConfig = field(default_factory=SDSSConfig)
    wise: WISEConfig = field(default_factory=WISEConfig)
    chunk_size: int = 500
    """Galaxies per chunk (the unit of parallel work and of resuming)."""

    def __post_init__(self):
        if isinstance(self.chunk_size, bool) or not isinstance(self.chunk_size, int):
            raise SpecIRInputError(
                "chunk_size", f"must be an integer, got {self.chunk_size!r}", "give a whole number"
            )
        _check("", "chunk_size", self.chunk_size, 1, 100_000)


def config_from_dict(data):
    """Build a :class:`SimConfig` from a nested dict (as read from TOML), validating names.

    Examples
    --------
    >>> config_from_dict({"sdss": {"r_limit": 17.0}}).sdss.r_limit
    17.0
    >>> config_from_dict({"sdss": {"r_limt": 17.0}})
    Traceback (most recent call last):
    ...
    specir.errors.SpecIRInputError: sdss.r_limt: is not a known setting. Fix: did you mean ...
    """
    from specir.config import config_from_dict as build

    return build(SimConfig, data)


def load_config(path):
    """Read a TOML configuration file into a validated :class:`SimConfig` (:mod:`specir.config`)."""
    from specir.config import load_config as load

    return load(SimConfig, path, what="simulation config")
