"""The simulator's physics and priors, as the ``matched`` SED fitter uses them.

A fit is a fair control only when the fitter's model and priors are those that made the data.
Each function here reads the simulator's own relations (:mod:`specir.sim.population`,
:mod:`specir.sim.agb`) rather than restating their numbers, so the matched set-up follows the
simulator when its physics changes.
"""

import functools

import numpy as np

__all__ = [
    "simulator_agb_ratio",
    "simulator_age_limits",
    "simulator_dust",
    "simulator_eta",
    "simulator_metallicity_prior",
]


def simulator_eta(population=None) -> float:
    """The simulator's birth-cloud factor η = 1 / μ, μ the diffuse-ISM share of the
    birth-cloud attenuation (``population.ism_fraction``; :mod:`specir.sim.population`).

    Examples
    --------
    >>> round(simulator_eta(), 2)
    3.33
    """
    from specir.sim.config import PopulationConfig

    return 1.0 / (population or PopulationConfig()).ism_fraction


def simulator_dust(oh, log_ssfr, rng, *, population=None):
    """q_PAH (%), U_min, γ drawn as the simulator draws them, for arrays of 12+log O/H, sSFR.

    The simulator's own :func:`specir.sim.population.dust_emission`, with its population
    configuration (``population``, default :class:`~specir.sim.config.PopulationConfig`).
    """
    from specir.sim.config import PopulationConfig
    from specir.sim.population import dust_emission

    oh = np.asarray(oh, float)
    log_ssfr = np.clip(np.broadcast_to(np.asarray(log_ssfr, float), oh.shape), -13.5, -8.8)
    dust = dust_emission(oh, log_ssfr, rng, population or PopulationConfig())
    return tuple(np.reshape(dust[k], oh.shape) for k in ("qpah", "umin", "gamma"))


def simulator_age_limits(z):
    """Limits (Gyr) of a uniform prior on the delayed-τ age: the ages the simulator gives
    galaxies at redshift ``z`` (:func:`specir.sim.population.age_support`)."""
    from specir.sim.population import age_support

    return age_support(z)


@functools.cache
def simulator_metallicity_prior(n: int = 20000, seed: int = 0):
    """(mean, sd) of the simulated population's stellar metallicity Z/Z☉, from its own draws.

    The simulator draws log Z from a mass-dependent relation with scatter; over the
    population's masses that is one broad distribution, which bagpipes (without a log-normal
    prior) takes as a Gaussian in Z with this mean and spread.

    Examples
    --------
    >>> mu, sd = simulator_metallicity_prior(2000)
    >>> bool(0.3 < mu < 1.5 and 0.1 < sd < 1.0)
    True
    """
    from specir.sim.config import SimConfig
    from specir.sim.population import draw_population

    z_star = draw_population(int(n), np.random.default_rng(seed), SimConfig())["z_star"]
    return float(np.mean(z_star)), float(np.std(z_star))


def simulator_agb_ratio(rng, size=None, *, population=None):
    """AGB circumstellar / photospheric W3 light drawn as the simulator draws it
    (``population.agb_ratio_range``; :mod:`specir.sim.agb`)."""
    from specir.sim.config import PopulationConfig

    lo, hi = (population or PopulationConfig()).agb_ratio_range
    return rng.uniform(lo, hi, size)
