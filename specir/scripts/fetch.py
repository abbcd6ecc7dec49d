"""``specir fetch sdss-allwise --out DIR``: a real training catalog from TAP and the archive."""

import json
import logging
import sys
from pathlib import Path

from specir.scripts import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL

__all__ = ["add_arguments", "run"]

log = logging.getLogger(__name__)

DEFAULT_RECIPE = Path(__file__).resolve().parents[2] / "catalogs" / "fetch_sdss_allwise.toml"


def add_arguments(parser):
    sub = parser.add_subparsers(dest="source", required=True)
    p = sub.add_parser(
        "sdss-allwise", help="SDSS DR17 galaxy spectra with AllWISE counterparts (TAP + SAS)"
    )
    p.add_argument("--out", required=True, help="output folder (the catalog is OUT/catalog)")
    p.add_argument("--recipe", default=str(DEFAULT_RECIPE), help="TOML fetch recipe")
    p.add_argument("--max-rows", type=int, default=0, help="at most N rows (0: all)")
    p.add_argument("--region", nargs=3, type=float, metavar=("RA", "DEC", "RADIUS"), help="degrees")
    p.add_argument("--workers", type=int, default=None, help="concurrent downloads")
    p.add_argument("--dry-run", action="store_true", help="print the ADQL and expected count")
    p.add_argument("--resume", action="store_true", help="continue an interrupted fetch")
    p.add_argument("--tap-url", default=None, help="override the recipe's TAP service URL")
    p.add_argument("--archive-url", default=None, help="override the recipe's archive base URL")


def _recipe(args):
    import dataclasses

    from specir.errors import SpecIRInputError
    from specir.fetch.recipe import load_fetch_recipe

    recipe = load_fetch_recipe(args.recipe)
    if args.tap_url:
        recipe = dataclasses.replace(recipe, tap=dataclasses.replace(recipe.tap, url=args.tap_url))
    if args.archive_url:
        sas = dataclasses.replace(recipe.sas, base_url=args.archive_url)
        recipe = dataclasses.replace(recipe, sas=sas)
    if args.max_rows < 0:
        raise SpecIRInputError("--max-rows", f"is {args.max_rows}", "give 0 (all) or more")
    return recipe


def run(args):
    from specir.fetch.build import dry_run, fetch_sdss_allwise

    recipe = _recipe(args)
    if args.dry_run:
        plan = dry_run(recipe, max_rows=args.max_rows, region=args.region)
        sys.stdout.write(f"-- {plan['service']}\n{plan['adql']}\n\n-- expected count\n")
        sys.stdout.write(f"{plan['count_adql']}\n\nexpected rows: {plan['expected_rows']}\n")
        return EXIT_OK
    summary = fetch_sdss_allwise(
        recipe,
        args.out,
        max_rows=args.max_rows,
        region=args.region,
        workers=args.workers,
        resume=args.resume,
    )
    log.info("summary: %s", json.dumps({k: v for k, v in summary.items() if k != "failed"}))
    if not summary["n_in_catalog"]:
        return EXIT_FAILED
    return EXIT_PARTIAL if summary["n_failed"] else EXIT_OK
