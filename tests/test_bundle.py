"""Model bundles: round trip, refusal of corrupt or mismatched bundles, no default bundle.

Uses a bundle trained for seconds on the mechanics fixture (not a science model).
"""

import json
import shutil

import numpy as np
import pytest
import torch

from specir.bundle import load_bundle, save_bundle
from specir.errors import SpecIRModelError
from specir.model import ModelConfig, SpecIRNet


def _copy(bundle, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(bundle, dst)
    return dst


def _inputs(n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    flux = 1 + 0.1 * torch.randn(n, 3921, generator=g)
    return flux, torch.ones(n, 3921), torch.linspace(0.05, 0.3, n), torch.linspace(5, 50, n)


def test_round_trip_reproduces_outputs(tmp_path):
    torch.manual_seed(0)
    net = SpecIRNet(
        ModelConfig(channels=(8, 16), kernels=(9, 5), strides=(8, 4), mlp_hidden=32, latent_dim=6)
    ).eval()
    net.set_standardisation(mag_shift=[14, 13.5, 11, 8], mag_scale=[1, 1, 1.5, 1.2])
    card = {
        "z_range": [0.01, 0.3],
        "heads_trained": {"mag": True},
        "ood": {"latent_mean": [0] * 6, "latent_cov": np.eye(6).tolist(), "threshold_d2": 30},
    }
    path = save_bundle(net, card, tmp_path / "b")
    b = load_bundle(path, device="cpu")
    assert b.card["architecture"]["latent_dim"] == 6
    assert b.card["grid"]["npix"] == 3921 and b.card["bands"][2]["speclite_name"] == "wise2010-W3"
    assert b.card["standardisation"]["mag_shift"] == [14, 13.5, 11, 8]
    with torch.inference_mode():
        a, c = net(*_inputs()), b.model(*_inputs())
    for k in a:
        assert torch.equal(a[k], c[k]), k
    assert load_bundle(path, device="cpu") is b  # cached per process and device


def test_corrupt_weights_are_refused(trained_bundle, tmp_path):
    path = _copy(trained_bundle, tmp_path)
    raw = bytearray((path / "model.safetensors").read_bytes())
    raw[-10] ^= 0xFF  # flip bits in the last tensor's data
    (path / "model.safetensors").write_bytes(bytes(raw))
    with pytest.raises(SpecIRModelError, match="sha256"):
        load_bundle(path, device="cpu")


def test_mismatched_grid_is_refused(trained_bundle, tmp_path):
    path = _copy(trained_bundle, tmp_path)
    card = json.loads((path / "model_card.json").read_text())
    card["grid"]["dloglam"] = 2e-4
    (path / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(SpecIRModelError, match="grid"):
        load_bundle(path, device="cpu")


def test_mismatched_architecture_is_refused(trained_bundle, tmp_path):
    path = _copy(trained_bundle, tmp_path)
    card = json.loads((path / "model_card.json").read_text())
    card["architecture"]["latent_dim"] += 1
    (path / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(SpecIRModelError, match="architecture"):
        load_bundle(path, device="cpu")


def test_mismatched_band_zero_points_are_refused(trained_bundle, tmp_path):
    path = _copy(trained_bundle, tmp_path)
    card = json.loads((path / "model_card.json").read_text())
    card["bands"][0]["zero_point_jy"] = 306.682
    (path / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(SpecIRModelError, match="bands"):
        load_bundle(path, device="cpu")


def test_missing_bundles_are_clear_errors(monkeypatch, tmp_path):
    import specir.bundle

    with pytest.raises(SpecIRModelError, match="neither a bundle directory"):
        load_bundle("no_such_bundle")
    monkeypatch.setattr(specir.bundle, "default_bundle_dir", lambda name="default": tmp_path / name)
    with pytest.raises(SpecIRModelError, match=r"no default bundle.*specir train"):
        load_bundle("default")
    with pytest.raises(SpecIRModelError, match="no default bundle"):
        import specir

        specir.predict_ir([], model="default")
