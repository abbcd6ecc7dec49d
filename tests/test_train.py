"""Training mechanics on the tiny fixture catalog.

MECHANICS CHECK, NOT A SCIENCE CHECK: the fixture's "WISE" photometry is a toy function of
spectral features (tests/fixture_survey.py). These tests show that the training machinery reads
a real HATS catalog, splits by HEALPix pixel, optimises the censored likelihood, checkpoints and
resumes exactly; the science acceptance runs on the simulated survey (docs/training.rst).
"""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from specir.dataset import ColumnMap, read_catalog_arrays, split_labels
from specir.errors import SpecIRInputError
from specir.train import load_config, train


def test_training_reduces_loss(trained_bundle):
    card = json.loads((trained_bundle / "model_card.json").read_text())
    hist = card["history"]
    assert len(hist) >= 3
    assert hist[-1]["train"] < hist[0]["train"]
    assert min(h["val"] for h in hist) < hist[0]["val"]
    assert card["heads_trained"] == {
        "mag": True,
        "log_lagn": True,
        "agn_class": True,
        "q_pah": True,
    }
    assert (
        card["training_data"]["n_train"] > 0 and "mechanics" in card["training_data"]["description"]
    )
    assert card["ood"]["threshold_d2"] > 0
    assert 0 < card["z_range"][0] < card["z_range"][1] <= 0.35


def test_resume_after_interruption_gives_identical_weights(train_config, fixture_arrays, tmp_path):
    full = train_config(tmp_path / "a", epochs=3, patience=10, checkpoint_dir=str(tmp_path / "ca"))
    cut = train_config(tmp_path / "b", epochs=3, patience=10, checkpoint_dir=str(tmp_path / "cb"))
    pa = train(full, progress=False, data=fixture_arrays)
    assert train(cut, stop_after=1, progress=False, data=fixture_arrays) is None  # "killed"
    assert (tmp_path / "cb" / "last.pt").is_file() and not (tmp_path / "b").exists()
    pb = train(cut, progress=False, data=fixture_arrays)  # restarted: resumes at epoch 2
    wa, wb = load_file(pa / "model.safetensors"), load_file(pb / "model.safetensors")
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    ha = json.loads((pa / "model_card.json").read_text())["history"]
    hb = json.loads((pb / "model_card.json").read_text())["history"]
    assert ha == hb


def test_resume_refuses_other_config(train_config, fixture_arrays, tmp_path):
    cfg = train_config(tmp_path / "a", epochs=2, checkpoint_dir=str(tmp_path))
    train(cfg, stop_after=1, progress=False, data=fixture_arrays)
    other = train_config(tmp_path / "a", epochs=2, lr=1e-2, checkpoint_dir=str(tmp_path))
    with pytest.raises(SpecIRInputError, match="another config"):
        train(other, progress=False, data=fixture_arrays)


def test_healpix_split_has_no_pixel_in_two_splits(fixture_arrays):
    hp = fixture_arrays["hp29"]
    for order in (2, 5):
        labels = split_labels(hp, order=order, fractions=(0.6, 0.2, 0.2), seed=3)
        pixel = hp >> (2 * (29 - order))
        for p in np.unique(pixel):
            assert len(np.unique(labels[pixel == p])) == 1
        assert np.array_equal(
            labels, split_labels(hp, order=order, fractions=(0.6, 0.2, 0.2), seed=3)
        )
    labels = split_labels(hp, order=5, fractions=(0.6, 0.2, 0.2), seed=3)
    assert set(np.unique(labels)) == {0, 1, 2}
    assert not np.array_equal(labels, split_labels(hp, order=5, fractions=(0.6, 0.2, 0.2), seed=4))


def test_config_from_toml(tmp_path, fixture_catalog):
    p = tmp_path / "train.toml"
    p.write_text(
        f'catalog = "{fixture_catalog}"\noutput = "bundle"\nepochs = 2\n'
        '[columns]\nmag = ["a", "b", "c", "d"]\n[model]\nlatent_dim = 7\n'
        '[training_data]\nsimulator = "specir.sim"\nseed = 1\n'
    )
    cfg = load_config(p)
    assert cfg.columns.mag == ("a", "b", "c", "d") and cfg.model.latent_dim == 7
    assert cfg.output == str((tmp_path / "bundle").resolve())
    p.write_text(p.read_text() + "\n")
    p.write_text('catalog = "x"\noutput = "y"\nepoch = 3\n')
    with pytest.raises(SpecIRInputError, match=r"epoch: is not a known setting.*'epochs'"):
        load_config(p)


def test_missing_column_is_refused(fixture_catalog):
    cols = ColumnMap(mag=("w1mpro", "w2mpro", "w3mpro", "nope"))
    with pytest.raises(SpecIRInputError, match="nope"):
        read_catalog_arrays(fixture_catalog, cols, progress=False)


def test_agn_label_counts_only_visible_agn(fixture_catalog, fixture_arrays):
    """p_agn learns a visible AGN (a share of a WISE band); without the share, every AGN."""
    d = fixture_arrays
    agn, vis = d["agn_type_true"] > 0, d["agn_visible_true"]
    assert set(np.unique(vis)) == {0.0, 1.0}
    assert np.all(vis[~agn] == 0) and 0 < vis[agn].mean() < 1  # some AGN are too faint
    old = read_catalog_arrays(fixture_catalog, ColumnMap(agn_ir_share_true=""), progress=False)
    assert np.array_equal(old["agn_visible_true"], (old["agn_type_true"] > 0).astype(float))


def test_default_config_reproduces_the_shipped_bundles_settings():
    """The default training config lives beside the bundle and says what its card records."""
    from specir.bundle import default_bundle_dir
    from specir.train import TrainConfig

    folder = default_bundle_dir()
    cfg = load_config(folder / "train.toml")
    assert cfg.output == str(folder.resolve())
    card = json.loads((folder / "model_card.json").read_text())
    shipped = TrainConfig.from_dict(card["config"]).to_dict()
    mine = cfg.to_dict()
    for key in ("catalog", "output", "checkpoint_dir", "training_data"):
        shipped.pop(key), mine.pop(key)
    assert mine == shipped


def test_config_round_trips_through_the_card(train_config, tmp_path):
    from specir.train import TrainConfig

    cfg = train_config(tmp_path / "x", z_range=(0.02, 0.3))
    again = TrainConfig.from_dict(cfg.to_dict())
    assert again == cfg and again.fingerprint() == cfg.fingerprint()
    with pytest.raises(SpecIRInputError, match=r"config\.epoch: is not a known setting"):
        TrainConfig.from_dict({**cfg.to_dict(), "epoch": 3})


def test_likelihood_options_are_checked_and_the_gaussian_fingerprint_is_unchanged():
    from specir.errors import SpecIRInputError
    from specir.train import TrainConfig

    with pytest.raises(SpecIRInputError, match=r"likelihood.*student_t"):
        TrainConfig(catalog="c", output="o", likelihood="cauchy")
    with pytest.raises(SpecIRInputError, match="student_dof"):
        TrainConfig(catalog="c", output="o", likelihood="student_t", student_dof=2.0)
    for bad in (float("inf"), float("nan")):  # inf would make the loss NaN, not Gaussian
        with pytest.raises(SpecIRInputError, match="student_dof"):
            TrainConfig(catalog="c", output="o", likelihood="student_t", student_dof=bad)
    base = TrainConfig(catalog="c", output="o")
    # a run checkpointed before the option existed (Gaussian) resumes: same fingerprint
    assert base.fingerprint() == TrainConfig(catalog="c", output="o", student_dof=9.0).fingerprint()
    t = TrainConfig(catalog="c", output="o", likelihood="student_t")
    assert t.fingerprint() != base.fingerprint()
    assert t.fingerprint() != TrainConfig(**{**t.__dict__, "student_dof": 9.0}).fingerprint()


def test_targets_true_fits_the_noise_free_magnitudes(train_config, fixture_arrays, tmp_path):
    from specir.bundle import load_bundle
    from specir.dataset import true_targets
    from specir.train import TrainConfig

    with pytest.raises(SpecIRInputError, match=r"targets.*observed, true"):
        TrainConfig(catalog="c", output="o", targets="simulated")
    base = TrainConfig(catalog="c", output="o")
    assert base.fingerprint() != TrainConfig(catalog="c", output="o", targets="true").fingerprint()
    cfg = train_config(tmp_path / "true", targets="true", calibrate_sigma=True)
    bundle = load_bundle(train(cfg, progress=False, data=fixture_arrays))
    assert bundle.card["config"]["targets"] == "true"
    # the test split is still scored against the measurements
    assert bundle.card["metrics"]["measured_on"].endswith("observed magnitudes")
    # --calibrate-only refits on the same truths: the σ factors reproduce (else it refuses)
    from specir.train import recalibrate

    entry = recalibrate(cfg, progress=False, data=fixture_arrays)
    assert entry["mag_sigma_factor"] == pytest.approx(
        bundle.card["calibration"]["mag_sigma_factor"]
    )
    obs_cfg = train_config(tmp_path / "obs")
    observed = load_bundle(train(obs_cfg, progress=False, data=fixture_arrays))
    # standardised on every galaxy's true W4, not on the W4 detections
    shift = bundle.model.mag_shift.numpy(), observed.model.mag_shift.numpy()
    assert not np.allclose(*shift)
    no_truth = {**fixture_arrays, "flux_true": np.full_like(fixture_arrays["flux_true"], np.nan)}
    with pytest.raises(SpecIRInputError, match=r"targets: is \"true\" but the catalog has no"):
        true_targets(no_truth)
