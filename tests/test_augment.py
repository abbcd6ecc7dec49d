"""Training augmentation (``specir.augment``): cuts, gaps and noise, renormalised as at predict."""

import numpy as np
import pytest
import torch

from specir.augment import AugmentConfig, augment_batch, cut_rest_frame, renormalise
from specir.errors import SpecIRInputError
from specir.grid import GRID_NPIX, NORM_WINDOW, grid_wavelength
from specir.spectra import prepare_grid_arrays


def _batch(n=64, seed=0):
    rng = np.random.default_rng(seed)
    lam = grid_wavelength()
    z = rng.uniform(0.02, 0.3, n)
    flux = (1.0 + 0.3 * np.sin(lam / 300.0))[None, :] * rng.uniform(0.5, 2.0, (n, 1))
    return {
        "flux": torch.tensor(flux, dtype=torch.float32),
        "valid": torch.ones(n, GRID_NPIX),
        "z": torch.tensor(z, dtype=torch.float32),
        "norm": torch.ones(n, dtype=torch.float64),
        "r_mag": torch.full((n,), 17.0),
    }


def test_off_by_default_and_validated():
    b = _batch()
    assert augment_batch(b, AugmentConfig(), torch.Generator()) is b
    with pytest.raises(SpecIRInputError, match=r"augment\.p_cut"):
        AugmentConfig(p_cut=1.5)
    with pytest.raises(SpecIRInputError, match="overlaps"):
        AugmentConfig(blue_cut_aa=(3400, 6500))


def test_degrades_a_fraction_and_repeats_with_the_seed():
    cfg = AugmentConfig(probability=0.5)
    a = augment_batch(_batch(), cfg, torch.Generator().manual_seed(3))
    b = augment_batch(_batch(), cfg, torch.Generator().manual_seed(3))
    assert torch.equal(a["flux"], b["flux"]) and torch.equal(a["valid"], b["valid"])
    changed = (a["valid"] < 1).any(1) | (a["flux"] != _batch()["flux"]).any(1)
    assert 0.2 < changed.float().mean() < 0.8  # about half the rows
    assert (a["valid"].sum(1) > 0).all()  # never an empty spectrum
    assert torch.equal(a["r_mag"], _batch()["r_mag"])  # the total magnitude is untouched


def test_cut_rows_keep_only_the_rest_frame_range():
    cfg = AugmentConfig(probability=1.0, p_cut=1.0, p_gap=0.0, p_noise=0.0)
    out = augment_batch(_batch(200), cfg, torch.Generator().manual_seed(1))
    rest = grid_wavelength()[None, :] / (1 + out["z"].numpy()[:, None])
    kept = out["valid"].numpy() > 0
    lo = np.where(kept, rest, np.inf).min(1)
    hi = np.where(kept, rest, 0).max(1)
    blue_cut = lo > rest[:, 0] + 5
    red_cut = hi < rest[:, -1] - 5
    assert (blue_cut | red_cut).mean() > 0.7  # a cut below the spectrum's own end shows nothing
    blue_lo, blue_hi = cfg.blue_cut_aa
    red_lo, red_hi = cfg.red_cut_aa
    assert ((lo[blue_cut] >= blue_lo - 2) & (lo[blue_cut] <= blue_hi + 2)).all()
    assert ((hi[red_cut] >= red_lo - 2) & (hi[red_cut] <= red_hi + 2)).all()


def test_renormalise_matches_prepare_grid_arrays():
    rng = np.random.default_rng(2)
    n = 8
    z = rng.uniform(0.02, 0.3, n)
    flux = rng.uniform(1, 5, (n, GRID_NPIX))
    ivar = np.ones_like(flux)
    ivar[:, :1500] = 0  # the blue end missing: both must renormalise the same way
    prep = prepare_grid_arrays(flux, ivar, z)
    t = torch.as_tensor
    got, norm = renormalise(t(flux), t(ivar > 0), t(z), t(np.ones(n)))
    np.testing.assert_allclose(norm.numpy(), prep.norm, rtol=1e-5)
    np.testing.assert_allclose(got.numpy()[:, 1500:], prep.flux[:, 1500:], rtol=1e-4)


def test_cut_rest_frame_keeps_the_normalisation_window():
    b = _batch(4)
    flux, valid, _ = cut_rest_frame(
        b["flux"].numpy(), b["valid"].numpy() > 0, b["z"].numpy(), np.ones(4), 3700, 6000
    )
    rest = grid_wavelength()[None, :] / (1 + b["z"].numpy()[:, None])
    assert not valid[(rest < 3700) | (rest > 6000)].any()
    window = valid & (rest >= NORM_WINDOW[0]) & (rest <= NORM_WINDOW[1])
    med = np.array([np.median(flux[i][window[i]]) for i in range(4)])
    np.testing.assert_allclose(med, 1.0, rtol=1e-5)  # renormalised on the same window


def test_train_config_validates_augment_given_as_a_dict():
    from specir.train import TrainConfig

    cfg = TrainConfig(catalog="c", output="o", augment={"probability": 0.5})
    assert isinstance(cfg.augment, AugmentConfig) and cfg.augment.probability == 0.5
    with pytest.raises(SpecIRInputError, match=r"augment\.probability"):
        TrainConfig(catalog="c", output="o", augment={"probability": float("nan")})
