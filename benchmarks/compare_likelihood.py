"""Which wins: a Gaussian likelihood plus the σ calibration step, or a Student-t likelihood?

Issue 12 asks for the comparison. Both runs train the default bundle's configuration
(``specir/data/models/default/train.toml``) on the same rows of the training survey for the
same epochs, differing only in ``likelihood``; each then fits its per-band σ factors on the
validation split (``calibrate_sigma``) and is scored on its test split. For the Student-t run
the scores are also given before calibration (factor 1), since its σ is the predictive
standard deviation already.

Writes ``benchmarks/results/likelihood.json`` (with the machine) and the table
``docs/generated/likelihood.rst`` that ``docs/training.rst`` includes.

Usage (about 20 min on 2 CPU cores with the defaults)::

    PYTHONPATH=. python benchmarks/compare_likelihood.py --catalog data/sim/train \\
        --rows 30000 --epochs 6
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


def _run(likelihood, args, out):
    from specir.bundle import load_bundle
    from specir.dataset import read_catalog_arrays
    from specir.train import _split, load_config, train

    cfg = load_config(
        TOML,
        catalog=str(Path(args.catalog).resolve()),
        output=str(out / likelihood),
        checkpoint_dir=str(out / f"{likelihood}.ckpt"),
        epochs=args.epochs,
        max_rows=args.rows,
        likelihood=likelihood,
        device="cpu",
    )
    data = read_catalog_arrays(
        cfg.catalog, cfg.columns, z_range=cfg.z_range, max_rows=cfg.max_rows, progress=False
    )
    bundle_path = train(cfg, data=data, progress=False)
    card = json.loads((bundle_path / "model_card.json").read_text())
    result = {"calibrated": card["metrics"]["bands"], "calibration": card["calibration"]}
    # the same test rows without the calibration factors
    from specir.scoring import metrics_for_split

    bundle = load_bundle(bundle_path)
    bundle.model.mag_logsig_calib.zero_()
    test = _split(data, cfg)["test"]
    result["uncalibrated"] = metrics_for_split(bundle.model, data, test)["bands"]
    return result


def _table(results):
    rows = [
        ".. list-table:: Gaussian + σ calibration against Student-t (test split; written by",
        "   ``benchmarks/compare_likelihood.py``)",
        "   :header-rows: 1",
        "",
        "   * - likelihood",
        "     - χ²_N W1 / W2 / W3 / W4",
        "     - 68% coverage",
        "     - NMAD (mag)",
    ]
    for name, key in (
        ("gaussian", "calibrated"),
        ("student_t", "uncalibrated"),
        ("student_t", "calibrated"),
    ):
        b = results[name][key]

        def fmt(stat, scale=1.0, digits=2, b=b):
            return " / ".join(f"{scale * b[k][stat]:.{digits}f}" for k in BANDS)

        rows += [
            f"   * - {name.replace('_', '-')} ({key})",
            f"     - {fmt('chi2_n')}",
            f"     - {fmt('coverage_68', 100, 0)}",
            f"     - {fmt('nmad', 1, 3)}",
        ]
    return "\n".join(rows) + "\n"


def _winner(results):
    """The run whose χ²_N and coverage lie nearer 1 and 68%, summed over the bands."""

    def miss(b):
        return sum(abs(np.log(b[k]["chi2_n"])) + abs(b[k]["coverage_68"] - 0.6827) for k in BANDS)

    scores = {n: miss(results[n]["calibrated"]) for n in ("gaussian", "student_t")}
    return min(scores, key=scores.get), scores


def _nmad_winner(results):
    """The run with the smaller NMAD in most bands, and the per-band NMAD ratio t / Gaussian."""
    g, t = (results[n]["calibrated"] for n in ("gaussian", "student_t"))
    ratio = {k: t[k]["nmad"] / g[k]["nmad"] for k in BANDS}
    better = sum(r < 1 for r in ratio.values())
    return ("student_t" if better > len(BANDS) / 2 else "gaussian"), ratio


def _verdict(results):
    cal, nm = results["winner"], results["nmad_winner"]
    ratio = " / ".join(f"{r:.2f}" for r in results["nmad_ratio_t_to_gaussian"].values())
    setup = results["setup"]
    return (
        f"\nSame {setup['rows']:,} rows of ``{Path(setup['catalog']).name}``, {setup['epochs']} "
        "epochs each. Error bars (χ²_N and coverage nearer 1 and 68 %, summed over the bands): "
        f"**{cal}** wins. Scatter: **{nm}** wins (NMAD ratio Student-t / Gaussian, W1–W4: "
        f"{ratio}).\n"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=str(ROOT / "data" / "sim" / "train"))
    parser.add_argument("--rows", type=int, default=30000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument(
        "--render-only", action="store_true", help="rewrite the table from the last JSON"
    )
    args = parser.parse_args()
    if args.render_only:
        results = json.loads((RESULTS / "likelihood.json").read_text())
    else:
        with tempfile.TemporaryDirectory() as tmp:
            results = {n: _run(n, args, Path(tmp)) for n in ("gaussian", "student_t")}
        results["setup"] = {"catalog": args.catalog, "rows": args.rows, "epochs": args.epochs}
    results["winner"], results["miss_score"] = _winner(results)
    results["nmad_winner"], results["nmad_ratio_t_to_gaussian"] = _nmad_winner(results)
    if not args.render_only:
        write_result("likelihood", results)
    table = _table(results) + _verdict(results)
    (ROOT / "docs" / "generated" / "likelihood.rst").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
