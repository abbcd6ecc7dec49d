"""The model card (``specir.card``): the OOD statistic, and later entries that leave the weights."""

import json
import shutil

import numpy as np
import pytest

from specir.bundle import load_bundle
from specir.card import mahalanobis_d2, ood_statistics, write_card_entry
from specir.errors import SpecIRModelError


def test_mahalanobis_by_hand_and_threshold_percentile():
    d2 = mahalanobis_d2([[3.0, 4.0]], [0.0, 0.0], [[9.0, 0.0], [0.0, 16.0]])
    assert d2 == pytest.approx([2.0])
    rng = np.random.default_rng(0)
    lat = rng.normal(size=(4000, 3)) * [1.0, 2.0, 3.0]
    ood = ood_statistics(lat, 99.0)
    assert ood["n"] == 4000 and np.allclose(np.diag(ood["latent_cov"]), [1, 4, 9], rtol=0.1)
    # chi-square with 3 degrees of freedom: 99th percentile 11.34
    assert ood["threshold_d2"] == pytest.approx(11.34, rel=0.1)
    flagged = mahalanobis_d2(lat, ood["latent_mean"], ood["latent_cov"]) > ood["threshold_d2"]
    assert flagged.mean() == pytest.approx(0.01, abs=0.002)


def test_card_entry_is_written_without_touching_the_weights(trained_bundle, tmp_path):
    path = tmp_path / "b"
    shutil.copytree(trained_bundle, path)
    weights = (path / "model.safetensors").read_bytes()
    before = load_bundle(path, device="cpu")
    assert "heldout_evaluation" not in before.card
    write_card_entry(path, "heldout_evaluation", {"n_eval": 3, "chi2_n": float("nan")})
    assert (path / "model.safetensors").read_bytes() == weights
    after = load_bundle(path, device="cpu")  # the cache sees the new card; sha256 still matches
    assert after.card["heldout_evaluation"] == {"n_eval": 3, "chi2_n": None}
    assert after.card["sha256"] == before.card["sha256"]
    card = json.loads((path / "model_card.json").read_text())
    assert card["history"] == before.card["history"]
    with pytest.raises(SpecIRModelError, match="describes the weights"):
        write_card_entry(path, "sha256", "0" * 64)


def test_card_records_the_training_hardware(trained_bundle):
    import os

    card = json.loads((trained_bundle / "model_card.json").read_text())
    hw = card["train_hardware"]
    assert hw["device"] == "cpu" and hw["gpu"] is None
    assert hw["cores"] == os.cpu_count() and hw["torch_threads"] >= 1
    assert hw["cpu"] and card["train_seconds"] > 0
