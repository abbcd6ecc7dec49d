"""Metrics in README.md and docs/modelcard.rst are written from the shipped model card.

Fails when either file differs from what ``specir.cardtables`` renders from the card: after
``specir evaluate default HELDOUT --out DIR --write-card``, run
``PYTHONPATH=. python docs/make_card_tables.py``.
"""

import copy
import json
from pathlib import Path

import pytest

from specir.bundle import default_bundle_dir
from specir.cardtables import heldout_rst, readme_summary, render, replace_block
from specir.errors import SpecIRInputError

ROOT = Path(__file__).resolve().parents[1]
BANDS = ("w1", "w2", "w3", "w4")


@pytest.fixture(scope="module")
def card():
    return json.loads((default_bundle_dir() / "model_card.json").read_text())


@pytest.mark.parametrize("name", ["README.md", "docs/modelcard.rst"])
def test_docs_say_what_the_card_says(card, name):
    if not (ROOT / name).is_file():
        pytest.skip(f"{name} is not beside this installation (not a source checkout)")
    rendered = render(ROOT, card)[ROOT / name]
    assert (ROOT / name).read_text() == rendered, (
        f"{name} differs from the model card: run `PYTHONPATH=. python docs/make_card_tables.py`"
    )


def test_numbers_come_from_the_card(card):
    ev = card["heldout_evaluation"]
    w3 = ev["methods"]["model"]["bands"]["w3"]
    assert f"{w3['nmad']:.3f}" in heldout_rst(card)
    assert f"{w3['chi2_n']:.2f}" in readme_summary(card)
    changed = copy.deepcopy(card)
    changed["heldout_evaluation"]["methods"]["model"]["bands"]["w3"]["nmad"] = 9.87654
    assert "9.877" in heldout_rst(changed) and "9.88" in readme_summary(changed)


def test_acceptance_verdicts_follow_the_numbers(card):
    good = copy.deepcopy(card)
    for band in good["heldout_evaluation"]["methods"]["model"]["bands"].values():
        band.update(chi2_n=1.0, coverage_68=0.68)
    text = heldout_rst(good)
    assert "χ²_N within 0.95–1.05: met in every band" in text
    bad = copy.deepcopy(good)
    bad["heldout_evaluation"]["methods"]["model"]["bands"]["w2"]["chi2_n"] = 1.5
    assert "χ²_N within 0.95–1.05: not met: W2 1.50" in heldout_rst(bad)
    bad["heldout_evaluation"]["methods"]["model"]["bands"]["w2"]["chi2_n_err"] = 0.031
    assert "not met: W2 1.50 ± 0.03;" in heldout_rst(bad)
    bad["heldout_evaluation"]["methods"]["model"]["bands"]["w2"]["chi2_n_err"] = 0.25
    assert "W2 1.50 ± 0.25 (within two standard errors of the range: W2);" in heldout_rst(bad)
    bad["heldout_evaluation"]["methods"]["model"]["bands"]["w2"]["chi2_n_err"] = float("nan")
    assert "not met: W2 1.50;" in heldout_rst(bad)  # an unknown error is not printed


def test_the_tail_diagnostic_is_shown_when_the_card_has_it(card):
    shaped = copy.deepcopy(card)
    bands = shaped["heldout_evaluation"]["methods"]["model"]["bands"]
    for i, band in enumerate(bands.values()):
        band["chi2_n_at_68"] = 1.11 + i
    assert "to exactly 68% coverage" in heldout_rst(shaped)
    assert "W1 1.11, W2 2.11, W3 3.11, W4 4.11" in heldout_rst(shaped)
    for band in bands.values():  # a card scored before the diagnostic existed
        band.pop("chi2_n_at_68")
    for key in [k for k in shaped if k.startswith("heldout_") and k != "heldout_evaluation"]:
        del shaped[key]
    assert "to exactly 68% coverage" not in heldout_rst(shaped)


def test_a_further_heldout_survey_is_judged_on_its_own_numbers(card):
    extra = copy.deepcopy(card)
    extra = {k: v for k, v in extra.items() if k not in ("heldout_lowz",)}
    other = copy.deepcopy(extra["heldout_evaluation"])
    other["n_eval"] = 123
    for band in ("w1", "w2", "w4"):  # only W3 misses, whatever the shipped card holds
        other["methods"]["model"]["bands"][band]["chi2_n"] = 1.0
    other["methods"]["model"]["bands"]["w3"]["chi2_n"] = 1.37
    extra["heldout_big"] = other
    extra["heldout_broken"] = "not an evaluation"  # ignored, not a crash
    text = heldout_rst(extra)
    assert "further held-out survey (``heldout_big``): 123 rows" in text
    assert "χ²_N within 0.95–1.05: not met: W3 1.37 ± " in text  # with its standard error
    assert "heldout_broken" not in text


def test_stress_verdicts_follow_the_numbers(card):
    bands = ("w1", "w2", "w3", "w4")

    def summary(chi2, bias):
        return {
            "chi2_n": dict.fromkeys(bands, chi2),
            "bias": dict.fromkeys(bands, bias),
            "nmad": dict.fromkeys(bands, 0.2),
            "median_sigma": dict.fromkeys(bands, 0.2),
            "flagged_ood": 0.5,
        }

    good = copy.deepcopy(card)
    for key in [k for k in good if k.startswith("heldout_") and k != "heldout_evaluation"]:
        good.pop(key)  # the nearby and further surveys are judged on their own numbers
    good["heldout_evaluation"]["stress"] = {
        "full": summary(1.0, 0.0),
        "cuts": {"rest_3700_6000": summary(1.2, 0.04)},
        "scaling": {
            "shifts": {
                "+2": {"median_colour_change": dict.fromkeys(bands, 0.1), "flagged_ood": 0.1}
            }
        },
    }
    text = heldout_rst(good)
    assert "cut to rest 3700–6000 Å" in text and "not met" not in text.split("Stress")[1]
    bad = copy.deepcopy(good)
    bad["heldout_evaluation"]["stress"]["cuts"]["rest_3700_6000"]["bias"]["w4"] = 0.3
    bad["heldout_evaluation"]["stress"]["scaling"]["shifts"]["+2"]["median_colour_change"]["w1"] = (
        0.5
    )
    stress = heldout_rst(bad).split("Stress")[1]
    assert stress.count("not met") == 2
    # nearby galaxies are judged on χ²_N alone (issue 12): a bias does not fail them
    near = copy.deepcopy(good)
    near["heldout_lowz"] = {
        "measured_on": "SIMULATED nearby: x",
        "stress": {"full": summary(1.2, 0.3)},
    }
    line = heldout_rst(near).split("nearby galaxies")[1].splitlines()[0]
    assert line.endswith("— met (χ²_N ≤ 1.3).")
    near["heldout_lowz"]["stress"]["full"]["chi2_n"]["w4"] = 1.4
    assert "— not met (χ²_N ≤ 1.3)." in heldout_rst(near).split("nearby galaxies")[1]


def test_a_card_without_the_evaluation_is_refused(card):
    bare = {k: v for k, v in card.items() if k != "heldout_evaluation"}
    with pytest.raises(SpecIRInputError, match="--write-card"):
        heldout_rst(bare)
    with pytest.raises(SpecIRInputError, match="markers"):
        replace_block("no markers here", "heldout-table", "x", style="rst")


def test_training_time_and_hardware_come_from_the_card(card):
    changed = copy.deepcopy(card)
    changed["train_seconds"] = 600.0
    changed["train_hardware"] = {
        "device": "cuda:0",
        "cpu": "Some CPU",
        "cores": 16,
        "torch_threads": 16,
        "gpu": "Some GPU",
    }
    text = heldout_rst(changed)
    assert "Training took 10 min wall on Some GPU (cuda:0; 16 cores" in text
    changed.pop("train_hardware")  # bundles trained before the card recorded it
    assert "Training took 10 min wall:" in heldout_rst(changed)


def test_stress_bias_is_judged_against_the_truth_where_the_card_has_it():
    from specir.cardverdicts import stress_line

    bands = ("w1", "w2", "w3", "w4")
    summary = {
        "chi2_n": dict.fromkeys(bands, 1.0),
        "bias": dict.fromkeys(bands, 0.2),  # detections: selected on the outcome
        "nmad": dict.fromkeys(bands, 0.2),
        "median_sigma": dict.fromkeys(bands, 0.2),
        "flagged_ood": 0.0,
    }
    assert "not met (χ²_N ≤ 1.3, absolute bias over detections" in stress_line("cut", summary)
    summary["bias_vs_true"] = dict.fromkeys(bands, 0.01)
    line = stress_line("cut", summary)
    assert "— met (χ²_N ≤ 1.3, absolute bias against the truth ≤ 0.05 mag)" in line
    assert "against the noise-free truth over all rows W1 +0.01" in line
    summary["bias_vs_true"]["w4"] = -0.08
    assert "not met" in stress_line("cut", summary)


def test_stress_line_breaks_the_truth_bias_down_by_agn_type():
    from specir.cardverdicts import stress_line

    bands = ("w1", "w2", "w3", "w4")
    summary = {
        "chi2_n": dict.fromkeys(bands, 1.0),
        "bias": dict.fromkeys(bands, 0.0),
        "bias_vs_true": dict.fromkeys(bands, 0.08),
        "nmad": dict.fromkeys(bands, 0.2),
        "median_sigma": dict.fromkeys(bands, 0.2),
        "flagged_ood": 0.0,
        "bias_vs_true_by_agn": {
            "no AGN": {"n": 90, **dict.fromkeys(bands, 0.01)},
            "type 1": {"n": 0},
            "type 2": {"n": 10, "w1": 0.02, "w2": 0.05, "w3": 0.3, "w4": None},
        },
    }
    line = stress_line("full", summary)
    assert "by simulated AGN type: no AGN (N = 90) W1 +0.01" in line
    assert "type 2 (N = 10) W1 +0.02, W2 +0.05, W3 +0.30, W4 n/a" in line
    assert "type 1" not in line  # no rows of that type: not shown
    summary.pop("bias_vs_true_by_agn")
    assert "AGN type" not in stress_line("full", summary)


def test_agn_presence_and_the_scores_by_agn_group_come_from_the_card(card):
    changed = copy.deepcopy(card)
    ev = changed["heldout_evaluation"]
    ev["methods"]["model"].update(agn_presence_accuracy=0.8, agn_visible_fraction=0.25)
    model = {b: {"n": 5, "nmad": 0.3, "chi2_n": 1.5, "median_sigma": 0.2} for b in BANDS}
    ceiling = {b: {"n": 5, "nmad": 0.1} for b in BANDS}
    ev["by_agn"] = {
        "visible AGN": {"n": 7, "methods": {"model": model, "ceiling_optical_truths": ceiling}},
        "AGN not visible": {"n": 0, "methods": {"model": model}},  # empty: not shown
    }
    text = heldout_rst(changed)
    assert "80.0% right; 25.0% of the galaxies host a visible AGN" in text
    assert "would be 75.0% right" in text
    line = next(x for x in text.splitlines() if x.startswith("* hosts of a visible AGN (N = 7)"))
    assert "NMAD W1 0.300" in line and "(÷ ceiling W1 3.00, W2 3.00" in line
    assert "χ²_N W1 1.50" in line and "median σ W1 0.200" in line
    assert "not visible (N = 0)" not in text
    for entry in changed.values():  # the further held-out surveys have theirs too
        if isinstance(entry, dict):
            entry.pop("by_agn", None)
    assert "The model by simulated AGN" not in heldout_rst(changed)
