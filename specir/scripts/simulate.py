"""``specir simulate``: write a simulated SDSS × WISE survey as a HATS catalog."""

import logging

__all__ = ["add_arguments", "run"]

logger = logging.getLogger(__name__)


def add_arguments(parser):
    """Add the ``simulate`` options to an argparse parser."""
    parser.add_argument("--n", type=int, required=True, help="number of galaxies")
    parser.add_argument("--seed", type=int, required=True, help="random seed")
    parser.add_argument("--out", required=True, help="output HATS catalog directory (new)")
    parser.add_argument("--config", default=None, help="TOML file overriding the defaults")
    parser.add_argument(
        "--workers", type=int, default=None, help="processes to use (default: all cores)"
    )
    parser.add_argument(
        "--keep-chunks",
        action="store_true",
        help="keep the per-chunk Parquet files after writing the catalog",
    )


def run(args):
    """Run ``specir simulate``; returns the exit status."""
    from specir.sim.config import SimConfig, load_config
    from specir.sim.survey import write_survey

    config = load_config(args.config) if args.config else SimConfig()
    path = write_survey(
        args.out,
        n=args.n,
        seed=args.seed,
        config=config,
        n_workers=args.workers,
        keep_chunks=args.keep_chunks,
    )
    logger.info("wrote %d simulated galaxies to %s", args.n, path)
    print(path)
    return 0
