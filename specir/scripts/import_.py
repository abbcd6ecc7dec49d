"""``specir import sdss|desi PATHS --out CATALOG``: spectrum files to a HATS spectra catalog.

Exit status 0 when every file was imported, 3 when some failed (each listed, with the reason, in
``CATALOG.report.json``), 1 when none could be, 2 for bad options (checked, with the output's
folder, before any file is read).
"""

from specir.scripts import EXIT_FOR_STATUS

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    sub = parser.add_subparsers(dest="source", required=True)
    p = sub.add_parser("sdss", help="SDSS/BOSS spec-*.fits files to a HATS spectra catalog")
    p.add_argument("paths", nargs="+", help="files, directories, glob patterns or list files")
    p.add_argument("--out", required=True, help="output HATS catalog directory")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    d = sub.add_parser("desi", help="DESI coadd-*.fits files (+ redrock) to a HATS catalog")
    d.add_argument("paths", nargs="+", help="coadd files, directories, globs or list files")
    d.add_argument("--out", required=True, help="output HATS catalog directory")
    d.add_argument(
        "--photometry", nargs="*", default=(), help="Legacy Surveys tractor files (W3, W4)"
    )
    d.add_argument("--workers", type=int, default=None, help="Dask workers (default 1)")


def run(args):
    if args.source == "desi":
        from specir.catalog.import_desi import import_desi

        report = import_desi(args.paths, args.out, photometry=args.photometry, workers=args.workers)
        return EXIT_FOR_STATUS[report.status]
    from specir.catalog.importer import import_sdss

    report = import_sdss(args.paths, args.out, workers=args.workers)
    return EXIT_FOR_STATUS[report.status]
