"""Delayed-τ histories solved for the drawn surviving mass and sSFR (issue 11)."""

import numpy as np
import pytest

pytest.importorskip("bagpipes")

from specir.sim import SimConfig
from specir.sim.population import draw_population
from specir.sim.sfh import delayed_tau_truths, solve_delayed_tau


def test_truths_match_bagpipes_own_star_formation_history():
    from bagpipes.models.star_formation_history import star_formation_history

    rng = np.random.default_rng(3)
    age, tau = rng.uniform(1, 12, 12), 10 ** rng.uniform(-0.5, 1.2, 12)
    zst = rng.uniform(0.1, 2, 12)
    live, log_ssfr = delayed_tau_truths(age, tau, zst)
    for i in range(age.size):
        comp = {"delayed": {"age": age[i], "tau": tau[i], "massformed": 10.0}}
        comp["delayed"]["metallicity"] = zst[i]
        bp = star_formation_history({"redshift": 0.02, **comp})
        assert np.log10(live[i]) + 10.0 == pytest.approx(bp.stellar_mass, abs=0.002)
        assert log_ssfr[i] == pytest.approx(bp.ssfr, abs=0.003)


def test_solved_history_has_the_target_mass_and_ssfr():
    log_m = np.array([9.0, 10.0, 11.0, 10.5])
    target = np.array([-9.8, -10.2, -10.6, -12.0])
    age = np.array([4.0, 7.0, 10.0, 11.0])
    tau, log_mf, got = solve_delayed_tau(log_m, target, age, np.array([0.3, 0.8, 1.5, 1.2]))
    assert got == pytest.approx(target, abs=2e-3)
    live, _ = delayed_tau_truths(age, tau, [0.3, 0.8, 1.5, 1.2])
    assert log_mf + np.log10(live) == pytest.approx(log_m, abs=1e-9)
    # older populations have lost more of their mass
    assert 0.1 < (log_mf - log_m)[3] and (log_mf - log_m)[0] < (log_mf - log_m)[3]


def test_unreachable_ssfr_ends_at_the_highest_a_history_of_that_age_has():
    _, _, got = solve_delayed_tau([10.0], [-8.8], [6.0], [1.0])
    assert got[0] < -9.0  # a delayed-tau SFH that began 6 Gyr ago cannot have sSFR 10^-8.8
    _, _, higher = solve_delayed_tau([10.0], [-8.8], [2.0], [1.0])
    assert higher[0] > got[0]


def test_simulated_galaxies_have_the_mass_and_ssfr_they_were_drawn_with():
    from specir.sim.galaxy import _sed

    pop = draw_population(40, np.random.default_rng(11), SimConfig())
    sed = _sed()
    keys = ("z", "age", "tau", "log_massformed", "z_star", "av", "eta", "qpah", "umin")
    keys += ("gamma", "log_u", "z_gas")
    for i in range(pop["z"].size):
        _, truth = sed.compute({k: pop[k][i] for k in keys})
        assert truth["log_mstar"] == pytest.approx(pop["log_mstar_target"][i], abs=0.003)
        assert truth["log_sfr"] == pytest.approx(pop["log_sfr_target"][i], abs=0.03)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0])
def test_non_finite_or_negative_inputs_are_refused_by_name(bad):
    from specir.errors import SpecIRInputError

    with pytest.raises(SpecIRInputError, match="tau"):
        delayed_tau_truths([5.0], [bad], [1.0])
    with pytest.raises(SpecIRInputError, match="log_ssfr"):
        solve_delayed_tau([10.0], [bad if bad != -1.0 else np.nan], [5.0], [1.0])
