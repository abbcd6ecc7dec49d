"""``specir sedfit CATALOG --out DIR``: bagpipes fits of the optical data, infrared scored."""

import json
import logging

__all__ = ["add_arguments", "run"]

log = logging.getLogger(__name__)


def add_arguments(parser):
    """Add the ``sedfit`` options to an argparse parser."""
    parser.add_argument("catalog", help="HATS catalog (simulated: scored against the truth)")
    parser.add_argument("--out", required=True, help="output folder (resumes what it holds)")
    parser.add_argument("--n", type=int, default=0, help="fit the first N galaxies by id (0: all)")
    parser.add_argument(
        "--config",
        action="append",
        default=None,
        help="set-up: matched, standard or a TOML file; repeat for several "
        "(default: matched and standard)",
    )
    parser.add_argument("--workers", type=int, default=1, help="Dask worker processes")
    parser.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    parser.add_argument("--n-live", type=int, default=None, help="sampler live points")
    parser.add_argument("--n-eff", type=int, default=None, help="sampler effective sample size")
    parser.add_argument(
        "--n-posterior", type=int, default=None, help="posterior samples whose W1-W4 are computed"
    )
    parser.add_argument("--score-only", action="store_true", help="score the fits already done")


def run(args):
    """Run ``specir sedfit``; returns the exit status."""
    from specir.analysis.sedrun import score_fits, sedfit_catalog

    setups = tuple(args.config or ("matched", "standard"))
    overrides = {
        k: v
        for k, v in (
            ("n_live", args.n_live),
            ("n_eff", args.n_eff),
            ("n_posterior", args.n_posterior),
        )
        if v is not None
    }
    if args.score_only:
        from specir.analysis.sedfit import fitter_config

        configs = {c.name: c for c in (fitter_config(s, **overrides) for s in setups)}
        report = score_fits(args.catalog, args.out, n=args.n, configs=configs)
    else:
        report = sedfit_catalog(
            args.catalog,
            args.out,
            n=args.n,
            setups=setups,
            workers=args.workers,
            scheduler=args.scheduler,
            overrides=overrides,
        )
    log.info("scored %d galaxies: %s", report["n"], json.dumps(report["rates"]))
    return 0
