"""``specir evaluate`` and the train/predict command lines on the mechanics fixture.

MECHANICS CHECK, NOT A SCIENCE CHECK (see tests/fixture_survey.py).
"""

import argparse
import json

from specir.scripts import evaluate as ev
from specir.scripts import train as tr


def _run(module, argv):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return module.run(parser.parse_args(argv))


def test_evaluate_writes_metrics_baselines_and_figures(trained_bundle, fixture_catalog, tmp_path):
    out = tmp_path / "eval"
    assert (
        _run(
            ev,
            [
                str(trained_bundle),
                str(fixture_catalog),
                "--out",
                str(out),
                "--baseline-epochs",
                "2",
            ],
        )
        == 0
    )
    m = json.loads((out / "metrics.json").read_text())
    assert m["scored_rows"] == "HEALPix test split"  # same catalog as training: test split only
    assert set(m["methods"]) == {
        "model",
        "model_without_r_mag",
        "train_mean",
        "photometry",
        "photometry_total",
        "pca_rf",
        "ceiling_optical_truths",  # the fixture carries toy truths
        "ceiling_all_truths",
    }
    for method in m["methods"].values():
        for band in ("w1", "w2", "w3", "w4"):
            b = method["bands"][band]
            assert b["n"] > 0 and 0 <= b["coverage_68"] <= b["coverage_95"] <= 1
    model, mean = m["methods"]["model"], m["methods"]["train_mean"]
    # the fixture's W1 follows the spectrum's normalisation: the model must beat the mean
    assert model["bands"]["w1"]["nmad"] < mean["bands"]["w1"]["nmad"]
    assert {"log_lagn", "q_pah", "colours"} <= set(model)
    # the ceiling sees the parameters the toy W1 and W3 are made of: far better than the mean
    ceiling = m["methods"]["ceiling_optical_truths"]["bands"]
    for band in ("w1", "w3"):
        assert ceiling[band]["nmad"] < 0.5 * mean["bands"][band]["nmad"]
    for png in ("pred_vs_obs.png", "chi_hist.png", "lagn_qpah.png"):
        assert (out / png).stat().st_size > 1000


def test_train_command_from_toml(fixture_catalog, tmp_path):
    cfg = tmp_path / "train.toml"
    cfg.write_text(
        f'catalog = "{fixture_catalog}"\noutput = "bundle"\nepochs = 1\nbatch_size = 64\n'
        "split_order = 2\nsplit_fractions = [0.6, 0.2, 0.2]\nmax_rows = 200\n"
        "[model]\nchannels = [4, 8]\nkernels = [9, 5]\nstrides = [8, 4]\nmlp_hidden = 16\n"
        "latent_dim = 6\n[training_data]\ndescription = 'mechanics fixture'\n"
    )
    assert _run(tr, [str(cfg)]) == 0
    card = json.loads((tmp_path / "bundle" / "model_card.json").read_text())
    assert card["training_data"]["n_rows_read"] == 200
    assert (tmp_path / "bundle.checkpoints" / "last.pt").is_file()


def test_cli_registers_commands():
    from specir.scripts.main import COMMANDS

    for name in ("train", "predict", "evaluate"):
        assert name in COMMANDS
    from specir.scripts.main import _build_parser

    args = _build_parser().parse_args(["predict", "a.fits", "-o", "x.ecsv"])
    assert args.files == ["a.fits"]
