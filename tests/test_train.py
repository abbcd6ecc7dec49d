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
from conftest import tiny_config
from safetensors.torch import load_file

from specir.dataset import ColumnMap, read_catalog_arrays, split_labels
from specir.errors import SpecIRInputError
from specir.fitting import ir_loss
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


def test_resume_after_interruption_gives_identical_weights(
    fixture_catalog, fixture_arrays, tmp_path
):
    full = tiny_config(
        fixture_catalog, tmp_path / "a", epochs=3, patience=10, checkpoint_dir=str(tmp_path / "ca")
    )
    cut = tiny_config(
        fixture_catalog, tmp_path / "b", epochs=3, patience=10, checkpoint_dir=str(tmp_path / "cb")
    )
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


def test_resume_refuses_other_config(fixture_catalog, fixture_arrays, tmp_path):
    cfg = tiny_config(fixture_catalog, tmp_path / "a", epochs=2, checkpoint_dir=str(tmp_path))
    train(cfg, stop_after=1, progress=False, data=fixture_arrays)
    other = tiny_config(
        fixture_catalog, tmp_path / "a", epochs=2, lr=1e-2, checkpoint_dir=str(tmp_path)
    )
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


def _batch(mag, err, det, up):
    n = len(mag)
    nan = torch.full((n,), float("nan"))
    return {
        "mag": torch.tensor(mag).reshape(n, 1).repeat(1, 4),
        "mag_err": torch.tensor(err).reshape(n, 1).repeat(1, 4),
        "detected": torch.tensor(det).reshape(n, 1).repeat(1, 4),
        "upper": torch.tensor(up).reshape(n, 1).repeat(1, 4),
        "log_lagn_true": nan,
        "agn_type_true": nan,
        "q_pah_true": nan,
    }


def _out(mu, logsig=-2.0):
    mu = torch.tensor(mu, requires_grad=True)
    n = len(mu)
    return mu, {"mag_mu": mu.reshape(n, 1).repeat(1, 4), "mag_logsig": torch.full((n, 4), logsig)}


def test_censored_loss_pushes_predictions_below_the_limit():
    # upper limit at 15 mag: a prediction brighter than the limit (14) is pushed fainter
    mu, out = _out([14.0])
    loss, _ = ir_loss(out, _batch([15.0], [float("nan")], [False], [True]))
    loss.backward()
    assert mu.grad.item() < 0  # gradient descent increases mu: fainter, below the flux limit
    # well below the limit the censored term costs almost nothing and barely pulls ...
    mu2, out2 = _out([17.0])
    loss2, _ = ir_loss(out2, _batch([15.0], [float("nan")], [False], [True]))
    loss2.backward()
    assert loss2.item() < 0.01 and abs(mu2.grad.item()) < 0.05
    # ... whereas treating the limit as a detection would pull it back to 15 mag
    mu3, out3 = _out([17.0])
    loss3, _ = ir_loss(out3, _batch([15.0], [0.1], [True], [False]))
    loss3.backward()
    assert loss3.item() > 10 * loss2.item() and mu3.grad.item() > 0


def test_detection_loss_includes_observed_error():
    _, out = _out([15.5], logsig=np.log(1e-3))
    tight, _ = ir_loss(out, _batch([15.0], [0.01], [True], [False]))
    _, out = _out([15.5], logsig=np.log(1e-3))
    loose, _ = ir_loss(out, _batch([15.0], [0.5], [True], [False]))
    # sigma_tot = sqrt(sig_pred^2 + sig_obs^2): a large observed error forgives the residual
    assert loose.item() < tight.item()
    expected = 0.5 * (np.log(2 * np.pi * (0.5**2 + 1e-6)) + 0.25 / (0.5**2 + 1e-6))
    assert loose.item() == pytest.approx(expected, rel=1e-5)


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
