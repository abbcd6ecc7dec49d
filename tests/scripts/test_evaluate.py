"""``specir evaluate`` on the mechanics fixture: metrics, baselines, figures, --write-card.

MECHANICS CHECK, NOT A SCIENCE CHECK (see tests/fixture_survey.py).
"""

import argparse
import json
import shutil

from specir.scripts import evaluate as ev


def _run(module, argv):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return module.run(parser.parse_args(argv))


def test_evaluate_writes_metrics_baselines_figures_and_card(
    trained_bundle, fixture_catalog, tmp_path
):
    bundle = tmp_path / "bundle"
    shutil.copytree(trained_bundle, bundle)
    weights = (bundle / "model.safetensors").read_bytes()
    out = tmp_path / "eval"
    argv = [str(bundle), str(fixture_catalog), "--out", str(out), "--baseline-epochs", "2"]
    assert _run(ev, [*argv, "--write-card"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    card = json.loads((bundle / "model_card.json").read_text())
    # the card holds what the run measured (NaN as null), the weights are untouched
    assert json.loads(json.dumps(m).replace("NaN", "null")) == card["heldout_evaluation"]
    assert (bundle / "model.safetensors").read_bytes() == weights
    assert m["command"].startswith(f"specir evaluate {bundle} {fixture_catalog} --out {out}")
    assert "not marked as simulated" in m["measured_on"]
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
    # by AGN group: the groups partition the scored rows, each scored on its own detections
    groups = m["by_agn"]
    assert sum(g["n"] for g in groups.values()) == m["n_eval"]
    assert set(groups["no AGN"]["methods"]) == {"model", "photometry", "ceiling_optical_truths"}
    assert (
        sum(g["methods"]["model"]["w1"]["n"] for g in groups.values())
        == (model["bands"]["w1"]["n"])
    )
    for png in ("pred_vs_obs.png", "chi_hist.png", "lagn_qpah.png"):
        assert (out / png).stat().st_size > 1000
