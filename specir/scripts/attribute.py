"""``specir attribute BUNDLE CATALOG --out DIR``: what in the optical drives each WISE band."""

import logging

__all__ = ["add_arguments", "run"]

log = logging.getLogger(__name__)


def add_arguments(parser):
    """Add the ``attribute`` options to an argparse parser."""
    from specir.analysis.attribute import MAX_STEPS

    parser.add_argument("bundle", help="model bundle directory (or installed name: default)")
    parser.add_argument("catalog", help="HATS catalog of spectra")
    parser.add_argument("--out", required=True, help="output folder (JSON, NPZ, PNG)")
    parser.add_argument("--bands", default="w1,w2,w3,w4", help="comma-separated bands")
    parser.add_argument("--n", type=int, default=0, help="use the first N spectra (0: all)")
    parser.add_argument("--baseline", default="smooth", choices=("smooth", "zero"))
    parser.add_argument("--steps", type=int, default=32, help="integration steps")
    parser.add_argument(
        "--max-steps",
        type=int,
        default=MAX_STEPS,
        help="most steps for spectra that miss 1%% completeness (doubled up to this)",
    )
    parser.add_argument(
        "--no-ablation", action="store_true", help="skip the run without the total magnitude"
    )
    parser.add_argument(
        "--no-sigma", action="store_true", help="attribute the means only, not the sigmas"
    )


def run(args):
    """Run ``specir attribute``; returns the exit status."""
    from specir.analysis.attribute_run import attribute_catalog

    report = attribute_catalog(
        args.bundle,
        args.catalog,
        args.out,
        bands=tuple(b.strip().lower() for b in args.bands.split(",") if b.strip()),
        n=args.n,
        baseline=args.baseline,
        n_steps=args.steps,
        max_steps=args.max_steps,
        ablation=not args.no_ablation,
        sigma=not args.no_sigma,
    )
    log.info(
        "attributed %d spectra; completeness within 1%%: %.3f",
        report["n"],
        report["completeness"]["fraction_within_1pct"],
    )
    return 0
