"""``specir import sdss PATHS --out CATALOG``: spectrum files to a HATS spectra catalog."""

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    sub = parser.add_subparsers(dest="source", required=True)
    p = sub.add_parser("sdss", help="SDSS/BOSS spec-*.fits files to a HATS spectra catalog")
    p.add_argument("paths", nargs="+", help="files, directories, glob patterns or list files")
    p.add_argument("--out", required=True, help="output HATS catalog directory")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")


def run(args):
    from specir.catalog.importer import import_sdss

    summary = import_sdss(args.paths, args.out, workers=args.workers)
    return 0 if summary["n_imported"] else 1
