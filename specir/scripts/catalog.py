"""``specir catalog run RECIPE`` and ``specir catalog validate VAC --wise WISE``.

``catalog run`` checks the recipe, the input catalog, the output's folder, the model and the
device before a Dask cluster starts (a problem is one line, exit status 2). Partitions that fail
are listed in ``OUTPUT.report.json``; the exit status is 0 (all written), 3 (some failed) or 1
(none could be).
"""

from specir.scripts import EXIT_FOR_STATUS, EXIT_OK

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("run", help="run a value-added catalog recipe")
    p.add_argument("recipe", help="TOML recipe (see catalogs/)")
    p.add_argument("--workers", type=int, default=1, help="local Dask worker processes (>= 1)")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler")
    p.add_argument("--resume", action="store_true", help="reuse finished partitions")
    p.add_argument("--memory-limit", default="4GiB", help="memory bound per local worker")
    v = sub.add_parser("validate", help="crossmatch a VAC with observed WISE; chi and chi2_N")
    v.add_argument("vac", help="value-added HATS catalog (from `specir catalog run`)")
    v.add_argument("--wise", required=True, help="observed WISE HATS catalog (AllWISE columns)")
    v.add_argument("--out", required=True, help="output HATS catalog with chi_w1..chi_w4")
    v.add_argument("--radius", type=float, default=1.0, help="match radius in arcsec")
    v.add_argument("--snr-detect", type=float, default=2.0, help="WISE detection threshold")


def run(args):
    if args.action == "run":
        from specir.batch import BatchReport
        from specir.catalog.job import load_recipe, run_job

        recipe = load_recipe(args.recipe)
        report = BatchReport("catalog run", recipe.output)
        run_job(
            recipe,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
            memory_limit=args.memory_limit,
            report=report,
        )
        return EXIT_FOR_STATUS[report.status]
    else:
        from specir.catalog.validate import validate_vac

        validate_vac(
            args.vac, args.wise, args.out, radius_arcsec=args.radius, snr_detect=args.snr_detect
        )
    return EXIT_OK
