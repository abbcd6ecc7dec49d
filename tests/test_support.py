"""Input support of a bundle (``specir.support``) and the OOD treatment of predict_ir."""

import numpy as np
import pytest

from specir.augment import AugmentConfig
from specir.support import (
    input_statistics,
    measure_support,
    median_snr,
    outside_support,
    support_from,
    widen_sigma,
)


def test_support_bounds_and_lower_only_quantities():
    rng = np.random.default_rng(0)
    stats = {
        "z": rng.uniform(0.01, 0.3, 5000),
        "abs_mag": rng.normal(-21, 1, 5000),
        "log_norm": rng.normal(1, 0.3, 5000),
        "coverage": rng.uniform(0.9, 1.0, 5000),
        "snr": rng.uniform(5, 30, 5000),
    }
    sup = support_from(stats)
    assert sup["coverage"][1] is None and sup["snr"][1] is None
    assert 0.9 <= sup["coverage"][0] < 0.91
    wide = support_from(stats, narrowest=(4300.0, 5900.0), noise_max=0.3)
    assert wide["coverage"][0] < 0.4 and wide["snr"][0] < sup["snr"][0]
    probe = {k: np.array([np.median(v)] * 3) for k, v in stats.items()}
    probe["abs_mag"][1] = -30.0  # far more luminous than anything trained on
    probe["coverage"][2] = 0.1
    assert outside_support(sup, probe).tolist() == [False, True, True]
    probe["snr"][0] = 1e6  # more S/N is never out of support
    assert not outside_support(sup, probe)[0]


def test_abs_mag_follows_total_magnitude_and_distance():
    z = np.array([0.05, 0.1])
    s = input_statistics(z, [1.0, 1.0], [17.0, 17.0], np.ones((2, 3), bool), [10, 10], ap_mean=0)
    assert s["abs_mag"][0] - s["abs_mag"][1] == pytest.approx(5 * np.log10(2.05 / 1.025), abs=0.1)
    fainter = input_statistics(z, [1, 1], [18.0, 18.0], np.ones((2, 3), bool), [1, 1], ap_mean=0)
    np.testing.assert_allclose(fainter["abs_mag"] - s["abs_mag"], 1.0)
    own = input_statistics(z, [10.0, 10.0], [np.nan] * 2, np.ones((2, 3), bool), [1, 1], ap_mean=20)
    np.testing.assert_allclose(own["abs_mag"] - s["abs_mag"], 20 - 2.5 - 17)


def test_widen_and_median_snr():
    sig = widen_sigma(np.full((3, 4), 0.1), [0.5] * 4, np.array([False, True, False]))
    assert sig[1, 0] == pytest.approx(np.hypot(0.1, 0.5)) and sig[0, 0] == 0.1
    assert median_snr(np.ones((1, 4)), np.array([[4.0, 4.0, 0, 0]]))[0] == 2.0


def test_trained_bundle_records_support_and_flags_outside(train_config, fixture_arrays, tmp_path):
    from conftest import TINY_MODEL

    from specir.bundle import load_bundle
    from specir.model import ModelConfig
    from specir.predict import support_outside
    from specir.train import train

    cfg = train_config(
        tmp_path / "b",
        epochs=2,
        model=ModelConfig(**TINY_MODEL, anchor_total_mag=True),
        augment=AugmentConfig(probability=0.5),
        calibrate_sigma=True,
    )
    bundle = load_bundle(train(cfg, progress=False, data=fixture_arrays), device="cpu")
    sup = bundle.card["support"]
    assert set(sup["bounds"]) == {"z", "abs_mag", "log_norm", "coverage", "snr"}
    assert len(sup["prior_sigma_mag"]) == 4 and min(sup["prior_sigma_mag"]) > 0
    assert set(bundle.card["calibration"]["mag_sigma_factor"]) == {"w1", "w2", "w3", "w4"}
    d = fixture_arrays
    rows = np.arange(20)
    args = (d["z"][rows], d["norm"][rows], d["r_mag"][rows], d["valid"][rows], d["spec_snr"][rows])
    inside = support_outside(bundle, *args)
    brighter = support_outside(bundle, args[0], args[1] * 1e4, args[2] - 10, *args[3:])
    assert brighter.all() and inside.mean() < 0.5
    assert measure_support(bundle.model, d, rows)["bounds"]["coverage"][1] is None
