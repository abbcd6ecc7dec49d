"""Delayed-τ star-formation histories that give a galaxy the mass and sSFR it was drawn with.

bagpipes reports a galaxy's stellar mass as the mass still in stars (and remnants) after the
mass lost by stellar evolution, from the BC03 ``live_frac`` tables, and its SFR as the mean over
the last 100 Myr. :func:`solve_delayed_tau` chooses τ and the formed mass so that these two,
computed exactly as bagpipes computes them, equal the targets: the relations that depend on mass
or sSFR (attenuation, metallicity, dust emission, AGN fraction) then describe the galaxy that is
simulated, not one 0.1 dex heavier. The sums are vectorised over galaxies, in chunks.
"""

import functools

import numpy as np

__all__ = ["delayed_tau_truths", "solve_delayed_tau"]

_LOG_STEP = 0.005  # log10 age step of the SFH sampling (bagpipes: 0.0025; same bins)
_CHUNK = 4096
_X_RANGE = (1e-3, 60.0)  # T / tau


@functools.cache
def _tables():
    """bagpipes' age sampling and live fraction per age (rows) and metallicity (columns)."""
    import contextlib
    import io
    import warnings

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        from bagpipes import config, utils

    hubble = float(utils.age_at_z[utils.z_array == 0.0][0])
    log_ages = np.arange(6.0, np.log10(hubble) + 9.0 + 2 * _LOG_STEP, _LOG_STEP)
    lhs = 10.0 ** utils.make_bins(log_ages, make_rhs=True)[0]
    lhs[0], lhs[-1] = 0.0, 1e9 * hubble
    ages = 10.0**log_ages
    widths = np.diff(lhs)
    # bagpipes bins the SFH into config.age_bins and weights each bin by its live fraction
    live_grid = np.stack(
        [
            np.interp(config.age_sampling, config.raw_stellar_ages, config.live_frac[:, i])
            for i in range(config.metallicities.size)
        ]
    )
    which = np.clip(np.searchsorted(config.age_bins, ages, side="right") - 1, 0, None)
    inside = ages < config.age_bins[-1]
    live = np.where(inside[None, :], live_grid[:, np.minimum(which, live_grid.shape[1] - 1)], 0)
    recent = ages < config.sfr_timescale
    return ages, widths, live.T, recent, np.asarray(config.metallicities, float)


def _checked(name, values, lo):
    """``values`` as a float array, refused unless finite and above ``lo``."""
    from specir.errors import SpecIRInputError

    a = np.atleast_1d(np.asarray(values, float))
    if not np.all(np.isfinite(a) & (a > lo)):
        raise SpecIRInputError(name, f"must be finite and above {lo:g}", "check the drawn values")
    return a


def _metallicity_weights(z_star, zmet):
    """bagpipes' split of a single metallicity between the two neighbouring grid values."""
    z_star = np.asarray(z_star, float)
    hi = np.clip(np.searchsorted(zmet, z_star, side="left"), 1, zmet.size - 1)
    w_hi = np.clip((z_star - zmet[hi - 1]) / (zmet[hi] - zmet[hi - 1]), 0.0, 1.0)
    out = np.zeros((z_star.size, zmet.size))
    rows = np.arange(z_star.size)
    out[rows, hi] = w_hi
    out[rows, hi - 1] += 1.0 - w_hi
    return out


def delayed_tau_truths(age, tau, z_star):
    """Surviving fraction and 100 Myr sSFR of delayed-τ histories, as bagpipes computes them.

    Parameters
    ----------
    age, tau : array_like
        Time since the onset of star formation and the e-folding time, Gyr.
    z_star : array_like
        Stellar metallicity, Z/Z☉.

    Returns
    -------
    live : ndarray
        Surviving stellar mass over formed mass.
    log_ssfr : ndarray
        log10 of the mean SFR over the last 100 Myr over the surviving mass, 1/yr.

    Examples
    --------
    >>> live, log_ssfr = delayed_tau_truths([8.0], [2.0], [1.0])
    >>> bool(0.5 < live[0] < 0.7), bool(-10.8 < log_ssfr[0] < -10.0)
    (True, True)
    """
    ages, widths, live_tab, recent, zmet = _tables()
    age = _checked("age", age, 0.0) * 1e9
    tau = _checked("tau", tau, 0.0) * 1e9
    zw = _metallicity_weights(_checked("z_star", z_star, 0.0), zmet)
    live = np.empty(age.size)
    sfr = np.empty(age.size)
    for s in range(0, age.size, _CHUNK):
        a, t = age[s : s + _CHUNK, None], tau[s : s + _CHUNK, None]
        lookback = np.clip(a - ages[None, :], 0.0, None)
        mass = lookback * np.exp(-lookback / t) * widths[None, :]
        formed = mass.sum(axis=1)
        live[s : s + _CHUNK] = np.einsum("gj,jm,gm->g", mass, live_tab, zw[s : s + _CHUNK]) / formed
        sfr[s : s + _CHUNK] = mass[:, recent].sum(axis=1) / widths[recent].sum() / formed
    return live, np.log10(np.clip(sfr, 1e-300, None) / live)


def _x_of_h(s):
    """Solve h(x) = s for x = T/tau, h = x^2 e^-x / (1 - e^-x (1 + x)): SFR T / M_formed."""
    x = np.geomspace(*_X_RANGE, 4000)
    h = x**2 * np.exp(-x) / (-np.expm1(-x) - x * np.exp(-x))
    return np.interp(np.log(s), np.log(h[::-1]), x[::-1])


def solve_delayed_tau(log_mstar, log_ssfr, age, z_star, *, iterations=6):
    """τ and formed mass of a delayed-τ history with the given surviving mass and sSFR.

    Starts from the instantaneous sSFR of the analytic history with a surviving fraction of
    0.6 and corrects it by the ratio of target to realised sSFR (:func:`delayed_tau_truths`)
    ``iterations`` times. Targets above what a history of that age can reach (a rising SFH,
    τ ≫ T) end at the highest reachable sSFR.

    Returns
    -------
    tau : ndarray
        Gyr.
    log_massformed : ndarray
        log10 of the formed mass, M☉, giving surviving mass ``10**log_mstar`` exactly.
    log_ssfr_realised : ndarray
        The sSFR the history has (equal to ``log_ssfr`` where it is reachable).

    Examples
    --------
    >>> tau, log_mf, got = solve_delayed_tau([10.0], [-10.3], [7.0], [1.0])
    >>> round(float(got[0]), 3), bool(log_mf[0] > 10.15)
    (-10.3, True)
    """
    log_mstar = _checked("log_mstar", log_mstar, -np.inf)
    log_ssfr = _checked("log_ssfr", log_ssfr, -np.inf)
    age = _checked("age", age, 0.0)
    h_max = 2.0 * (1.0 - 1e-6)
    s = np.clip(10.0**log_ssfr * 0.6 * age * 1e9, 1e-6, h_max)
    for _ in range(iterations):
        tau = age / _x_of_h(s)
        live, got = delayed_tau_truths(age, tau, z_star)
        s = np.clip(s * 10.0 ** (log_ssfr - got), 1e-6, h_max)
    tau = age / _x_of_h(s)
    live, got = delayed_tau_truths(age, tau, z_star)
    return tau, log_mstar - np.log10(live), got
