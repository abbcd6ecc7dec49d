"""``specir sim realism SURVEY --out DIR``: how real a simulated survey's infrared light is."""

import logging

__all__ = ["add_arguments", "run"]

logger = logging.getLogger(__name__)


def add_arguments(parser):
    """Add the ``sim`` sub-commands to an argparse parser."""
    sub = parser.add_subparsers(dest="sim_command", metavar="ACTION", required=True)
    p = sub.add_parser(
        "realism",
        help="compare a simulated survey with published WISE relations (table, JSON, figures)",
        description="Measure a simulated HATS survey against Cluver et al. 2017, the WISE colour "
        "loci, the W1 mass-to-light relation and the Stern et al. 2012 AGN selection; write "
        "realism.json, realism.txt, realism.inc and figures into --out.",
    )
    p.add_argument("survey", help="simulated HATS catalog (from `specir simulate`)")
    p.add_argument("--out", required=True, help="folder for the report (created if needed)")
    p.add_argument(
        "--z-max",
        type=float,
        default=0.07,
        help="largest redshift in the luminosity relations (default 0.07)",
    )
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument(
        "--rst",
        default=None,
        help="also copy the .rst table here (e.g. docs/generated/realism.inc)",
    )


def run(args):
    """Run ``specir sim realism``; exit status 0 when every relation passes, else 1."""
    import shutil
    from pathlib import Path

    from specir.errors import SpecIRInputError
    from specir.scripts import EXIT_FAILED, EXIT_OK
    from specir.sim.report import survey_realism

    if not 0.0 < args.z_max <= 0.35:
        raise SpecIRInputError("--z-max", f"is {args.z_max}", "give a redshift in (0, 0.35]")
    report = survey_realism(args.survey, args.out, z_max=args.z_max, figures=not args.no_figures)
    print((Path(args.out) / "realism.txt").read_text(), end="")
    if args.rst:
        Path(args.rst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(args.out) / "realism.inc", args.rst)
    return EXIT_OK if report.passed else EXIT_FAILED
