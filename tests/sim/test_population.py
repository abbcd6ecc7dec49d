"""Relations of the drawn population that the realism fixes rest on (issue 11)."""

import numpy as np
import pytest

from specir.errors import SpecIRInputError
from specir.sim import AGNConfig, PopulationConfig, SimConfig
from specir.sim.agn import SPECIFIC_EDDINGTON
from specir.sim.population import _main_sequence, draw_population, qpah_relation
from specir.sim.realism import CLUVER17, KE12_LOG_SFR_PER_LTIR, L_SUN_ERG_S


def test_qpah_follows_the_draine_2007_metallicity_step():
    poor, rich = qpah_relation(np.array([7.7, 9.0]), 2.1)
    assert poor / rich == pytest.approx(1.0 / 3.55, rel=0.02)
    assert rich == pytest.approx(2.1, rel=1e-3)
    # a wide metallicity scatter populates both sides of the step
    cfg = SimConfig(population=PopulationConfig(mz_scatter=0.5))
    drawn = draw_population(4000, np.random.default_rng(0), cfg)
    poor = drawn["qpah"][drawn["oh"] < 7.9].mean()
    rich = drawn["qpah"][drawn["oh"] > 8.6].mean()
    assert poor < 0.6 * rich


def test_lines_see_the_balmer_decrement_attenuation_and_old_stars_mu_of_it():
    cfg = SimConfig(population=PopulationConfig(av_scatter=0.0, ms_scatter=0.0))
    p = draw_population(3000, np.random.default_rng(1), cfg)
    sf = ~p["quiescent"] & (np.abs(p["log_mstar_target"] - 10.0) < 0.02)
    on_ms = sf & np.isclose(p["log_sfr_target"], _main_sequence(p["log_mstar_target"], p["z"]))
    assert on_ms.sum() > 5
    # Garn & Best (2010): A_Halpha = 0.91 at log M* = 10; lines see A_V = A_Halpha / 0.82
    lines = p["av"][on_ms] * p["eta"][on_ms]
    assert np.allclose(lines, 0.91 / 0.82, rtol=0.03)
    assert np.allclose(p["av"][on_ms] / lines, cfg.population.ism_fraction)


def test_metal_rich_qpah_gives_the_observed_w3_to_dust_luminosity_ratio():
    pytest.importorskip("bagpipes")
    from specir.sim.galaxy import _sed
    from specir.sim.photometry import band_fluxes_mjy

    model = _sed()._model
    par = CLUVER17["w3"]
    # Cluver et al. (2017) and Kennicutt & Evans (2012) at SFR = 1 M_sun/yr
    target = -par["intercept"] / par["slope"] - (-KE12_LOG_SFR_PER_LTIR - np.log10(L_SUN_ERG_S))
    q = PopulationConfig().qpah_metal_rich
    for umin in (0.5, 1.0, 5.0):
        spec = model.dust_emission.spectrum(q, umin, 10**-1.8)  # normalised to L_dust = 1
        f = band_fluxes_mjy(model.wavelengths, spec)
        log_ratio = np.log10(2.99792458e14 / par["um"] * f[7] * 1e-26)
        assert log_ratio == pytest.approx(target, abs=0.03)
    # the pre-issue-11 plateau of 3.55% overshoots it
    f = band_fluxes_mjy(model.wavelengths, model.dust_emission.spectrum(3.55, 1.0, 10**-1.8))
    assert np.log10(2.99792458e14 / par["um"] * f[7] * 1e-26) > target + 0.1


def _active_fraction(p, sel, log_lambda_min=-2.0):
    """Fraction of ``sel`` with an AGN of specific accretion rate above the limit."""
    log_lam = p["log_lagn"] - np.log10(SPECIFIC_EDDINGTON) - p["log_mstar_target"]
    active = (p["agn_type"] > 0) & (log_lam >= log_lambda_min)
    return active[sel].mean()


def test_specific_incidence_is_independent_of_mass_and_halved_in_quiescent_galaxies():
    cfg = SimConfig()  # the default
    p = draw_population(20000, np.random.default_rng(2), cfg)
    logm, q = p["log_mstar_target"], p["quiescent"]
    low, high = (logm >= 9.5) & (logm < 10.5), (logm >= 10.5) & (logm < 11.5)
    f_low, f_high = _active_fraction(p, low & ~q), _active_fraction(p, high & ~q)
    assert f_low > 0.02 and abs(np.log10(f_high / f_low)) < 0.15
    assert _active_fraction(p, q) / _active_fraction(p, ~q) == pytest.approx(0.5, rel=0.3)
    # "mass" keeps the optical-selection trend, and its draws are those of "specific"
    old = draw_population(
        20000, np.random.default_rng(2), SimConfig(agn=AGNConfig(incidence="mass"))
    )
    assert np.log10(_active_fraction(old, high) / _active_fraction(old, low)) > 0.6
    for key in ("z", "log_mstar_target", "qpah", "av"):
        assert np.array_equal(old[key], p[key]), key


def test_unknown_incidence_is_refused_by_name():
    with pytest.raises(SpecIRInputError, match=r"agn\.incidence"):
        AGNConfig(incidence="kauffmann")


def test_clumpy_torus_is_drawn_after_everything_else():
    """``torus = "clumpy"`` adds its own draws last: every other drawn value is unchanged."""
    p = draw_population(3000, np.random.default_rng(5), SimConfig())  # the default
    two = SimConfig(agn=AGNConfig(torus="two-temperature"))
    old = draw_population(3000, np.random.default_rng(5), two)
    assert np.all(old["f_torus"] == 0) and np.all(p["f_torus"] > 0)
    assert p["torus_y"].min() >= 5 and p["torus_y"].max() <= 30
    assert p["torus_q"].min() >= 1 and p["torus_q"].max() <= 2
    assert np.median(p["f_torus"]) == pytest.approx(0.25, rel=0.05)
    for key in old:
        if key not in ("f_torus", "torus_y", "torus_q", "av_hot"):  # av_hot: drawn after them
            assert np.array_equal(old[key], p[key], equal_nan=True), key


def test_type2_extinction_is_drawn_last():
    """``type2_view = "extinction"`` draws A_V(hot) after everything else, in its range."""
    p = draw_population(3000, np.random.default_rng(5), SimConfig())  # the default
    frac = SimConfig(agn=AGNConfig(type2_view="fraction"))
    old = draw_population(3000, np.random.default_rng(5), frac)
    assert np.all(np.isnan(old["av_hot"]))
    assert p["av_hot"].min() >= 15.0 and p["av_hot"].max() <= 35.0
    assert np.median(p["av_hot"]) == pytest.approx(25.0, abs=1.0)
    for key in old:
        if key != "av_hot":
            assert np.array_equal(old[key], p[key], equal_nan=True), key


def test_unknown_torus_is_refused_by_name():
    with pytest.raises(SpecIRInputError, match=r"agn\.torus.*two-temperature, clumpy"):
        AGNConfig(torus="smooth")


def test_type2_view_settings_are_checked_by_name():
    with pytest.raises(SpecIRInputError, match=r"agn\.type2_view.*fraction, extinction"):
        AGNConfig(type2_view="screen")
    with pytest.raises(SpecIRInputError, match=r"agn\.type2_av_hot_range.*swap"):
        AGNConfig(type2_av_hot_range=(35.0, 15.0))
    with pytest.raises(SpecIRInputError, match=r"agn\.type2_av_hot_range"):
        AGNConfig(type2_av_hot_range=(-5.0, 15.0))
