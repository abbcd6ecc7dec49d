"""The observable-volume estimate leaves out no galaxy that passes the r cut (issue 11)."""

import numpy as np
import pytest

from specir.sim import SimConfig
from specir.sim.population import draw_population
from specir.sim.selection import (
    RMAG_CORRECTION,
    RMAG_MARGIN,
    estimate_rmag,
    fit_rmag_estimate,
    modelled_rmag,
    zmax_estimate,
)


def test_estimate_is_brighter_for_more_massive_and_nearer_galaxies():
    m = estimate_rmag(np.array([10.0, 11.0, 10.0]), np.array([0.1, 0.1, 0.05]), False)
    assert m[1] < m[0] and m[2] < m[0]
    z = zmax_estimate(np.array([9.0, 11.0]), np.array([False, False]), 17.77, (0.01, 0.35))
    assert z[0] < z[1]


def test_margin_covers_the_modelled_magnitudes_of_a_fresh_population():
    pytest.importorskip("bagpipes")
    pop = draw_population(150, np.random.default_rng(77), SimConfig())
    over = estimate_rmag(pop["log_mstar_target"], pop["z"], pop["quiescent"]) - modelled_rmag(pop)
    for flag in (False, True):
        s = pop["quiescent"] == flag
        # the estimate exceeds the modelled magnitude by more than the margin (a galaxy that
        # could be left out of its volume) for at most a few per cent
        assert np.mean(over[s] > RMAG_MARGIN[flag]) <= 0.05
        assert abs(np.median(over[s])) < 0.3  # and is not biased


def test_stored_estimate_agrees_with_a_refit_on_another_seed():
    """Fails when the simulator's physics moves its magnitudes and the constants go stale."""
    pytest.importorskip("bagpipes")
    pop = draw_population(200, np.random.default_rng(21), SimConfig())
    fit = fit_rmag_estimate(pop)
    for flag in (False, True):
        for z, logm in ((0.05, 10.0), (0.15, 10.8)):
            refit = np.dot(fit["correction"][flag], (1.0, z, logm - 10.0))
            stored = np.dot(RMAG_CORRECTION[flag], (1.0, z, logm - 10.0))
            assert abs(refit - stored) < 0.12, (flag, z, logm)


def test_fit_refuses_a_population_without_both_types():
    from specir.errors import SpecIRInputError

    pop = draw_population(30, np.random.default_rng(1), SimConfig())
    pop["quiescent"] = np.zeros(30, bool)
    with pytest.raises(SpecIRInputError, match="pop"):
        fit_rmag_estimate(pop)
