"""bagpipes' grid sums as matrix products (``specir.analysis.fastgrids``)."""

import contextlib
import io
import warnings

import numpy as np
import pytest

from specir.analysis import fastgrids


@pytest.fixture(scope="module")
def models():
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        from bagpipes import config
        from bagpipes.models.nebular_model import nebular
        from bagpipes.models.stellar_model import stellar
    wavelengths = np.geomspace(1000.0, 30000.0, 1500)
    return config, stellar(wavelengths), nebular(wavelengths, 0.0)


def _histories(config, rng):
    """Star-formation and enrichment histories: one metallicity, two, all, and none."""
    shape = (config.metallicities.size, config.age_sampling.size)
    out = []
    for rows in ([3], [2, 3], list(range(shape[0])), []):
        ceh = np.zeros(shape)
        ceh[rows] = rng.uniform(0, 1e8, (len(rows), shape[1]))
        out.append(ceh)
    young_only = np.zeros(shape)
    young_only[1, :3] = 5e6  # stars younger than the birth-cloud age only
    return [*out, young_only]


@pytest.mark.parametrize("t_bc", [0.0, 0.01, 0.0123])
def test_stellar_spectrum_is_bagpipes(models, t_bc):
    config, stellar, _ = models
    original, _ = fastgrids.originals()
    histories = _histories(config, np.random.default_rng(2))
    if t_bc == 0.0:
        # bagpipes' own turns the first age bin into 0/0 there, and then skips every further
        # metallicity (a NaN sum is not > 0); bagpipes' models never ask for t_bc = 0
        histories = [h for h in histories if (h.sum(1) > 0).sum() <= 1]
    for ceh in histories:
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = original(stellar, ceh.copy(), t_bc)
        got = fastgrids.stellar_spectrum(stellar, ceh.copy(), t_bc)
        for a, b in zip(np.atleast_2d(got), np.atleast_2d(expected), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)
        assert np.shape(got) == np.shape(expected)


@pytest.mark.parametrize("log_u", ["first", -2.7, "last"])
def test_nebular_grid_is_bagpipes(models, log_u):
    config, _, neb = models
    _, original = fastgrids.originals()
    log_u = {"first": config.logU[0], "last": config.logU[-1]}.get(log_u, log_u)
    for grid in (neb.combined_grid, neb.line_grid):
        for ceh in _histories(config, np.random.default_rng(3)):
            expected = original(neb, grid, ceh.copy(), 0.01, float(log_u))
            got = fastgrids.nebular_grid(neb, grid, ceh.copy(), 0.01, float(log_u))
            assert got.shape == expected.shape
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


def test_the_history_is_left_as_it_was(models):
    config, stellar, neb = models
    ceh = _histories(config, np.random.default_rng(4))[1]
    before = ceh.copy()
    fastgrids.stellar_spectrum(stellar, ceh, 0.0123)
    fastgrids.nebular_grid(neb, neb.combined_grid, ceh, 0.0123, -3.0)
    np.testing.assert_array_equal(ceh, before)


def test_bagpipes_models_use_them(models):
    from bagpipes.models.nebular_model import nebular
    from bagpipes.models.stellar_model import stellar

    fastgrids.use_in_bagpipes()
    fastgrids.use_in_bagpipes()  # idempotent: bagpipes' own are still the originals
    assert stellar.spectrum is fastgrids.stellar_spectrum
    assert nebular._interpolate_grid is fastgrids.nebular_grid
    assert fastgrids.originals()[0] is not fastgrids.stellar_spectrum
