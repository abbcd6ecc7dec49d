"""Which wins: two settings of one training option, trained and scored the same way.

Issue 12 asks which likelihood gives the better error bars (``--option likelihood``: a
Gaussian plus the σ calibration step against a Student-t), and how the non-detections are
best used (``--option nondetections``: the censored likelihood against the measured flux).
``--option calibration`` trains nothing: it calibrates one trained bundle (``--bundle``, by
default the shipped one, on the survey it was trained on) both ways (:mod:`specir.calibrate`:
on the validation detections, or by the training likelihood over every validation galaxy)
and scores both on the same test split. ``--option targets`` fits the WISE heads to the
measurements or, on a simulated survey, to the noise-free simulated magnitudes
(:func:`specir.dataset.true_targets`); both are scored against the measurements.
``--option capacity`` trains the default architecture against a wider one (:data:`WIDE`:
twice the convolution channels, a wider MLP and latent), to see whether the network's size
limits how close it comes to the information ceiling.
Both runs train the default bundle's configuration
(``specir/data/models/default/train.toml``) on the same rows of the training survey for the
same epochs, differing only in the option; each then fits its per-band σ factors on the
validation split (``calibrate_sigma``) and is scored on its test split, also before the
calibration (factor 1) and, where the survey has the true fluxes, against them over all rows
(detected or not: the one bias that no detection cut selects).

Writes ``benchmarks/results/OPTION.json`` (with the machine) and the table
``docs/generated/OPTION.rst`` that ``docs/training.rst`` includes.

Usage (about 20 min on 2 CPU cores with the defaults)::

    PYTHONPATH=. python benchmarks/compare_likelihood.py --catalog data/sim/train \\
        --rows 30000 --epochs 6 --option nondetections
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import RESULTS, write_result

ROOT = Path(__file__).resolve().parents[1]
TOML = ROOT / "specir" / "data" / "models" / "default" / "train.toml"
BANDS = ("w1", "w2", "w3", "w4")
OPTIONS = {
    "likelihood": ("gaussian", "student_t"),
    "nondetections": ("censored", "flux"),
    "calibration": ("detections", "likelihood"),
    "targets": ("observed", "true"),
    "capacity": ("default", "wide"),
}
"""The settings compared for each option: the first is the reference."""
WIDE = {"channels": (64, 128, 256), "mlp_hidden": 384, "latent_dim": 32}
"""The architecture of ``--option capacity``'s ``"wide"`` run (the rest as the default's)."""


def _run(option, value, args, out):
    import dataclasses

    from specir.bundle import load_bundle
    from specir.dataset import read_catalog_arrays
    from specir.scoring import metrics_for_split
    from specir.train import _split, load_config, train

    cfg = load_config(
        TOML,
        catalog=str(Path(args.catalog).resolve()),
        output=str(out / value),
        checkpoint_dir=str(out / f"{value}.ckpt"),
        epochs=args.epochs,
        max_rows=args.rows,
        device="cpu",
        **({} if option == "capacity" else {option: value}),
    )
    if option == "capacity" and value == "wide":
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, **WIDE))
    data = read_catalog_arrays(
        cfg.catalog, cfg.columns, z_range=cfg.z_range, max_rows=cfg.max_rows, progress=False
    )
    bundle_path = train(cfg, data=data, progress=False)
    card = json.loads((bundle_path / "model_card.json").read_text())
    result = {"calibrated": card["metrics"]["bands"], "calibration": card["calibration"]}
    bundle = load_bundle(bundle_path)  # the same test rows without the calibration factors
    bundle.model.mag_logsig_calib.zero_()
    test = _split(data, cfg)["test"]
    result["uncalibrated"] = metrics_for_split(bundle.model, data, test)["bands"]
    return result


def _run_calibration(args):
    """Both σ calibrations of the bundle ``args.bundle``, scored on its test split."""
    import copy

    from specir.bundle import load_bundle
    from specir.calibrate import calibrate_sigma
    from specir.dataset import read_catalog_arrays
    from specir.likelihood import loss_options
    from specir.scoring import metrics_for_split
    from specir.train import _split, load_config

    cfg = load_config(TOML, catalog=str(Path(args.catalog).resolve()), device="cpu")
    data = read_catalog_arrays(cfg.catalog, cfg.columns, z_range=cfg.z_range, progress=False)
    idx = _split(data, cfg)
    bundle = load_bundle(args.bundle, device="cpu")
    results = {}
    for method in OPTIONS["calibration"]:
        model = copy.deepcopy(bundle.model)
        cal = calibrate_sigma(
            model, data, idx["val"], snr_detect=cfg.snr_detect, method=method,
            loss=loss_options(cfg),
        )  # fmt: skip
        k = list(cal["interval68_factor"].values())
        scored = metrics_for_split(model, data, idx["test"], cfg.snr_detect, interval_factors=k)
        model.mag_logsig_calib.zero_()
        raw = metrics_for_split(model, data, idx["test"], cfg.snr_detect)
        results[method] = {
            "calibrated": scored["bands"], "uncalibrated": raw["bands"], "calibration": cal,
        }  # fmt: skip
    results["setup"] = {"catalog": args.catalog, "rows": len(data["z"]), "bundle": args.bundle}
    return results


def _fmt(b, stat, scale=1.0, digits=2, sub=None):
    vals = [(b[k].get(sub) or {}) if sub else b[k] for k in BANDS]
    if any(stat not in v for v in vals):
        return "–"
    return " / ".join(
        f"{scale * v[stat]:+.{digits}f}" if sub else f"{scale * v[stat]:.{digits}f}" for v in vals
    )


def _table(option, results):
    rows = [
        f".. list-table:: ``{option}``: {' against '.join(OPTIONS[option])} (test split;",
        "   written by ``benchmarks/compare_likelihood.py``)",
        "   :header-rows: 1",
        "",
        f"   * - {option}",
        "     - χ²_N W1 / W2 / W3 / W4",
        "     - 68% coverage",
        "     - NMAD (mag)",
        "     - bias vs truth, all rows (mag)",
        "     - χ²_N vs truth, all rows",
    ]
    for name in OPTIONS[option]:
        for key in ("uncalibrated", "calibrated"):
            b = results[name][key]
            rows += [
                f"   * - {name.replace('_', '-')} ({key})",
                f"     - {_fmt(b, 'chi2_n')}",
                f"     - {_fmt(b, 'coverage_68', 100, 0)}",
                f"     - {_fmt(b, 'nmad', 1, 3)}",
                f"     - {_fmt(b, 'bias', 1, 3, sub='vs_true')}",
                f"     - {_fmt(b, 'chi2_n', 1, 2, sub='vs_true').replace('+', '')}",
            ]
    return "\n".join(rows) + "\n"


def _winner(option, results):
    """The setting whose χ²_N and coverage lie nearer 1 and 68%, summed over the bands."""

    def miss(b):
        return sum(abs(np.log(b[k]["chi2_n"])) + abs(b[k]["coverage_68"] - 0.6827) for k in BANDS)

    scores = {n: miss(results[n]["calibrated"]) for n in OPTIONS[option]}
    return min(scores, key=scores.get), scores


def _nmad_winner(option, results):
    """The setting with the smaller NMAD in most bands, and the per-band NMAD ratio b / a."""
    a, b = OPTIONS[option]
    ra, rb = results[a]["calibrated"], results[b]["calibrated"]
    ratio = {k: rb[k]["nmad"] / ra[k]["nmad"] for k in BANDS}
    better = sum(r < 1 for r in ratio.values())
    return (b if better > len(BANDS) / 2 else a), ratio


def _bias_winner(option, results):
    """The setting whose bias against the truth (all rows) is smaller, summed over the bands."""
    scores = {}
    for n in OPTIONS[option]:
        b = results[n]["calibrated"]
        if any("bias" not in b[k].get("vs_true", {}) for k in BANDS):
            return None, {}
        scores[n] = sum(abs(b[k]["vs_true"]["bias"]) for k in BANDS)
    return min(scores, key=scores.get), scores


def _verdict(option, results):
    a, b = OPTIONS[option]
    ratio = " / ".join(f"{r:.2f}" for r in results["nmad_ratio"].values())
    setup = results["setup"]
    if option == "calibration":
        factors = {}
        for n in OPTIONS[option]:
            values = results[n]["calibration"]["mag_sigma_factor"].values()
            factors[n] = " / ".join(f"{v:.3f}" for v in values)
        return (
            f"\nThe bundle ``{Path(setup['bundle']).name}`` on its own survey "
            f"``{Path(setup['catalog']).name}`` ({setup['rows']:,} rows; validation and test "
            f"splits as trained). σ factors W1–W4: {a} {factors[a]}, {b} {factors[b]}. "
            f"Error bars (χ²_N and coverage nearer 1 and 68 %, summed over the bands): "
            f"**{results['winner']}** wins.\n"
        )
    text = (
        f"\nSame {setup['rows']:,} rows of ``{Path(setup['catalog']).name}``, {setup['epochs']} "
        "epochs each. Error bars (χ²_N and coverage nearer 1 and 68 %, summed over the bands): "
        f"**{results['winner']}** wins. Scatter: **{results['nmad_winner']}** wins (NMAD ratio "
        f"{b} / {a}, W1–W4: {ratio})."
    )
    if results.get("bias_winner"):
        text += f" Bias against the truth: **{results['bias_winner']}** wins."
    return text + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=str(ROOT / "data" / "sim" / "train"))
    parser.add_argument("--rows", type=int, default=30000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--option", choices=sorted(OPTIONS), default="likelihood")
    parser.add_argument(
        "--bundle",
        default=str(TOML.parent),
        help="the trained bundle that --option calibration calibrates (default: the shipped one)",
    )
    parser.add_argument(
        "--render-only", action="store_true", help="rewrite the table from the last JSON"
    )
    args = parser.parse_args()
    option = args.option
    if args.render_only:
        results = json.loads((RESULTS / f"{option}.json").read_text())
    elif option == "calibration":
        results = _run_calibration(args)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            results = {n: _run(option, n, args, Path(tmp)) for n in OPTIONS[option]}
        results["setup"] = {"catalog": args.catalog, "rows": args.rows, "epochs": args.epochs}
    results["winner"], results["miss_score"] = _winner(option, results)
    results["nmad_winner"], results["nmad_ratio"] = _nmad_winner(option, results)
    results["bias_winner"], results["bias_score"] = _bias_winner(option, results)
    if not args.render_only:
        write_result(option, results)
    table = _table(option, results) + _verdict(option, results)
    (ROOT / "docs" / "generated" / f"{option}.rst").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
