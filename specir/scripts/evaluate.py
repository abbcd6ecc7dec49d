"""``specir evaluate BUNDLE HELDOUT --out DIR``: score a bundle and its baselines."""

import logging

__all__ = ["add_arguments", "run"]

log = logging.getLogger(__name__)


def add_arguments(parser):
    parser.add_argument("bundle", help="model bundle directory (or installed name)")
    parser.add_argument("catalog", help="held-out HATS catalog (simulated with another seed)")
    parser.add_argument("--out", required=True, help="output directory (JSON + PNG)")
    parser.add_argument(
        "--train-catalog",
        default=None,
        help="catalog the baselines train on (default: the bundle's)",
    )
    parser.add_argument("--max-train-rows", type=int, default=20000)
    parser.add_argument("--max-eval-rows", type=int, default=0)
    parser.add_argument("--baseline-epochs", type=int, default=None)
    parser.add_argument(
        "--write-card",
        action="store_true",
        help="also write the result into the bundle's model card (heldout_evaluation); "
        "the weights are not touched",
    )
    parser.add_argument(
        "--card-entry",
        default="heldout_evaluation",
        help="card entry written by --write-card (e.g. heldout_lowz for nearby galaxies)",
    )


def run(args):
    from specir.evaluate import evaluate

    evaluate(
        args.bundle,
        args.catalog,
        args.out,
        train_catalog=args.train_catalog,
        max_train_rows=args.max_train_rows,
        max_eval_rows=args.max_eval_rows,
        baseline_epochs=args.baseline_epochs,
        write_card=args.write_card,
        card_entry=args.card_entry,
    )
    log.info("wrote %s/metrics.json and figures", args.out)
    return 0
