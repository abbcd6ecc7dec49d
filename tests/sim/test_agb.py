"""Circumstellar dust of AGB stars (issue 11: quiescent W2 − W3)."""

import numpy as np
import pytest

from specir.errors import SpecIRInputError
from specir.sim import PopulationConfig, SimConfig
from specir.sim.agb import AGB_RATIO_RANGE, circumstellar_shape
from specir.sim.population import draw_population

pytest.importorskip("dust_extinction")


def test_shape_is_silicate_emission_of_warm_dust():
    wave = np.geomspace(5e3, 4e5, 3000)
    shape = circumstellar_shape(wave)
    nu_l = shape * wave
    assert np.all(shape[wave < 1e4] == 0.0) and np.all(shape[wave > 1.2e4] > 0.0)
    assert 9.0e4 < wave[np.argmax(nu_l)] < 10.5e4  # the 9.7 µm silicate band
    # the 18 µm silicate band stands above the continuum between the two features
    between = nu_l[np.argmin(np.abs(wave - 14e4))]
    assert nu_l[np.argmin(np.abs(wave - 18e4))] > between


def test_ratio_range_is_mazzei_de_zotti_fractions():
    # 30-40 % circumstellar against 50-60 % photospheric at 12 µm
    assert AGB_RATIO_RANGE == pytest.approx((0.5, 0.8))


@pytest.mark.parametrize("bad", [[0.8, 0.5], [-0.1, 0.5], [0.5], 0.6, [0.5, float("nan")]])
def test_bad_ratio_range_is_refused_by_name(bad):
    with pytest.raises(SpecIRInputError, match=r"population\.agb_ratio_range"):
        PopulationConfig(agb_ratio_range=bad)


def test_ratio_is_drawn_last_so_the_other_draws_do_not_move():
    with_agb = draw_population(500, np.random.default_rng(3), SimConfig())
    cfg = SimConfig(population=PopulationConfig(agb_ratio_range=(0.0, 0.0)))
    without = draw_population(500, np.random.default_rng(3), cfg)
    lo, hi = AGB_RATIO_RANGE
    assert np.all((with_agb["agb_ratio"] >= lo) & (with_agb["agb_ratio"] <= hi))
    assert np.all(without["agb_ratio"] == 0.0)
    for key in with_agb:
        if key != "agb_ratio":
            assert np.array_equal(with_agb[key], without[key], equal_nan=True), key


@pytest.fixture(scope="module")
def sed():
    pytest.importorskip("bagpipes")
    from specir.sim.galaxy import _sed

    return _sed()


def _w3_rest(sed, flux):
    return sed.agb.w3_luminosity(flux)


def test_circumstellar_w3_is_ratio_times_photospheric(sed):
    from specir.sim.galaxy import DEFAULT_GALAXY

    # no dust at all: the rest-frame W3 light is the photospheres' (plus a trace of nebular
    # continuum), so the added light must be `ratio` times it
    p = {**DEFAULT_GALAXY, "av": 0.0, "age": 10.0, "tau": 1.0, "z": 0.05}
    bare, _ = sed.compute({**p, "agb_ratio": 0.0})
    dusty, _ = sed.compute({**p, "agb_ratio": 0.6})
    added = _w3_rest(sed, dusty - bare)
    assert added == pytest.approx(0.6 * _w3_rest(sed, bare), rel=0.02)
    optical = (sed.wave_rest > 3000) & (sed.wave_rest < 9000)
    assert np.array_equal(dusty[optical], bare[optical])  # the spectrum is untouched


def test_quiescent_w2_w3_reddens_star_forming_w3_barely_moves():
    pytest.importorskip("bagpipes")
    from specir.sim import model_photometry

    quiescent = dict(age=10.0, tau=1.0, av=0.06, z=0.03)
    disc = dict(age=6.0, tau=5.0, av=0.5, z=0.05)

    def w23(p):
        return p["w2_mag"] - p["w3_mag"]

    q0, q1 = (model_photometry(**quiescent, agb_ratio=r) for r in (0.0, 0.65))
    d0, d1 = (model_photometry(**disc, agb_ratio=r) for r in (0.0, 0.65))
    assert 0.15 < w23(q1) - w23(q0) < 0.5
    assert abs(d1["w3_mag"] - d0["w3_mag"]) < 0.05
    assert abs((q1["w1_mag"] - q1["w2_mag"]) - (q0["w1_mag"] - q0["w2_mag"])) < 0.06


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.1])
def test_a_bad_ratio_is_refused_not_a_nan_sed(sed, bad):
    with pytest.raises(SpecIRInputError, match="agb_ratio"):
        sed.agb.flux(sed._model, bad, 0.05)
