"""The ``specir`` command line.

Each sub-command is a module of :mod:`specir.scripts` exposing ``add_arguments(parser)`` and
``run(args) -> int``; this file only wires them together and maps errors to exit statuses
(:data:`specir.scripts.EXIT_OK` ...).
"""

import argparse
import importlib
import logging
import sys

from specir.scripts import EXIT_FAILED, EXIT_OK, EXIT_USAGE

__all__ = ["main"]

# sub-command -> (module, one-line help)
COMMANDS = {
    "predict": ("specir.scripts.predict", "predict W1–W4, log L_AGN and q_PAH for spectrum files"),
    "train": ("specir.scripts.train", "train a model bundle from a HATS catalog (TOML config)"),
    "evaluate": ("specir.scripts.evaluate", "score a bundle and baselines on a held-out catalog"),
    "simulate": ("specir.scripts.simulate", "simulate an SDSS x WISE survey (HATS; extra 'sim')"),
    "sim": ("specir.scripts.sim", "check a simulated survey against published relations (realism)"),
    "import": ("specir.scripts.import_", "import SDSS spectrum files into a HATS spectra catalog"),
    "fetch": ("specir.scripts.fetch", "fetch real SDSS x AllWISE training data (TAP + archive)"),
    "catalog": ("specir.scripts.catalog", "make (run) or check (validate) a value-added catalog"),
    "serve": ("specir.scripts.serve", "serve HATS catalogs through an IVOA TAP 1.1 service"),
    "attribute": ("specir.scripts.attribute", "integrated gradients: what drives each WISE band"),
    "sedfit": ("specir.scripts.sedfit", "bagpipes SED fits of the optical data, IR scored"),
    "demo": ("specir.scripts.demo", "simulate, catalog, serve and query a small survey end to end"),
}


def _build_parser():
    from specir import __version__

    parser = argparse.ArgumentParser(
        prog="specir",
        description="Predict WISE W1–W4, AGN luminosity and q_PAH from optical spectra.",
    )
    parser.add_argument("--version", action="version", version=f"specir {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, helptext) in COMMANDS.items():
        p = sub.add_parser(name, help=helptext, description=helptext)
        p.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(p)
    return parser


def main(argv=None):
    """Run the ``specir`` command line; returns the process exit status."""
    args = _build_parser().parse_args(argv)
    level = logging.WARNING if args.quiet else (logging.DEBUG if args.verbose else logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    from specir.errors import SpecIRError, SpecIRInputError

    try:
        return importlib.import_module(args._module).run(args) or EXIT_OK
    except SpecIRInputError as exc:
        logging.getLogger("specir").error("%s", exc)
        return EXIT_USAGE
    except SpecIRError as exc:
        logging.getLogger("specir").error("%s", exc)
        return EXIT_FAILED
    except OSError as exc:  # a full disk, a vanished folder, a refused connection mid-run
        logging.getLogger("specir").error(
            "%s: %s. Fix: check free space, permissions and paths, then rerun (with --resume "
            "where the command has it)",
            exc.filename or type(exc).__name__,
            exc.strerror or exc,
        )
        logging.getLogger("specir").debug("traceback", exc_info=True)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
