"""bagpipes' resampling, vectorised (``specir.analysis.fastspectres``)."""

import numpy as np
import pytest

from specir.analysis.fastspectres import spectres, use_in_bagpipes


@pytest.mark.parametrize("fill", [None, 0.0, -1.0])
def test_the_same_numbers_as_spectres(fill):
    from spectres import spectres as original

    rng = np.random.default_rng(1)
    old = 3000 + np.cumsum(rng.uniform(0.5, 1.5, 5000))
    inside = rng.uniform(old[0], old[-1], 300)
    new = np.unique(np.r_[2990.0, inside, old[-1] + 20])  # reaches beyond both ends
    flux = rng.normal(1, 0.3, (3, old.size))  # several spectra at once
    expected = original(new, old, flux, fill=fill, verbose=False)
    got = spectres(new, old, flux, fill=fill)
    assert got.shape == expected.shape == (3, new.size)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    ends = got[:, [0, -1]]
    assert np.isnan(ends).all() if fill is None else (ends == fill).all()
    errs = np.full_like(flux, 0.1)  # with errors: the original's answer
    ours = spectres(new, old, flux, errs, fill=0, verbose=False)
    for a, b in zip(ours, original(new, old, flux, errs, fill=0, verbose=False), strict=True):
        np.testing.assert_array_equal(a, b)


def test_bagpipes_models_resample_with_it():
    import importlib

    module = importlib.import_module("bagpipes.models.model_galaxy")
    use_in_bagpipes()
    assert module.spectres.spectres is spectres
