"""Which feature family carries a band's information (``specir.analysis.information``)."""

import numpy as np

from specir.analysis.information import FAMILIES, feature_strengths, information_table
from specir.grid import GRID_DLOGLAM, GRID_LOGLAM0, GRID_NPIX

WAVE = 10 ** (GRID_LOGLAM0 + GRID_DLOGLAM * np.arange(GRID_NPIX))


def _spectra(n, rng):
    """Flat spectra with an Hα line of random strength and a random continuum slope."""
    z = rng.uniform(0.02, 0.1, n)
    line = rng.uniform(0.0, 3.0, n)
    slope = rng.uniform(-0.3, 0.3, n)
    rest = WAVE[None, :] / (1 + z[:, None])
    flux = 1 + slope[:, None] * (rest - 5500) / 2000
    flux += line[:, None] * np.exp(-0.5 * ((rest - 6564.6) / 2.5) ** 2)
    flux += rng.normal(0, 0.02, flux.shape)
    return flux, np.ones_like(flux, bool), z, line, slope


def test_strengths_measure_the_line_and_the_continuum():
    rng = np.random.default_rng(0)
    flux, valid, z, line, slope = _spectra(50, rng)
    s = feature_strengths(flux, valid, z)
    assert np.corrcoef(s["Hα + [N II]"], line)[0, 1] > 0.97
    assert np.corrcoef(s["red/blue continuum"], slope)[0, 1] > 0.99
    assert np.nanmax(np.abs(s["Mg b"])) < 0.05  # no feature there
    no_data = feature_strengths(flux[:1], np.zeros_like(valid[:1]), z[:1])
    assert np.isnan(no_data["Hβ"][0])


def test_the_family_that_sets_the_colour_wins():
    rng = np.random.default_rng(1)
    flux, valid, z, line, slope = _spectra(300, rng)
    r_mag = rng.uniform(15, 17, 300)
    colour = np.stack([-0.5 * line, 2.0 * slope, 0 * line, 0 * line], 1)  # W1: line; W2: slope
    data = {"flux": flux, "valid": valid, "z": z, "r_mag": r_mag,
            "flux_true": 309.54 * 10 ** (-0.4 * (r_mag[:, None] + colour))}  # fmt: skip
    tab = information_table(data, np.full(300, "star_forming"), bands=("w1", "w2"))
    sf = tab["star_forming"]
    assert sf["n"] == 300 and set(sf["w1"]) == set(FAMILIES)
    assert sf["w1"]["emission"] > 0.9 > sf["w1"]["continuum"] + 0.5
    assert sf["w2"]["continuum"] > 0.9 > sf["w2"]["emission"] + 0.5
    assert information_table({"flux": flux}, None) == {}
    few = information_table(data, np.array(["quiescent"] * 50 + ["agn"] * 250), bands=("w1",))
    assert set(few) == {"agn"}  # fewer than MIN_ROWS: left out


def test_zero_side_bands_and_inf_flux_are_unmeasured_not_infinite():
    rng = np.random.default_rng(2)
    flux, valid, z, *_ = _spectra(3, rng)
    rest = WAVE / (1 + z[0])
    flux[0, (rest > 6450) & (rest < 6540)] = 0.0  # Hα's blue side band is zero
    flux[0, (rest > 6600) & (rest < 6660)] = 0.0  # and its red one
    flux[1, 100] = np.inf
    s = feature_strengths(flux, valid, z)
    assert np.isnan(s["Hα + [N II]"][0])
    assert all(np.isfinite(v[2]) or np.isnan(v[2]) for v in s.values())
    assert not any(np.isinf(v).any() for v in s.values())
