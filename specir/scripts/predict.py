"""``specir predict FILES -o OUT``: predictions for spectrum files.

Every file that can be read is predicted and written; each one that cannot is named, with the
reason, in ``OUT.report.json`` and in the summary line. Exit status :data:`~specir.scripts.EXIT_OK`
when all files were predicted, :data:`~specir.scripts.EXIT_PARTIAL` when some failed,
:data:`~specir.scripts.EXIT_FAILED` when none could be, :data:`~specir.scripts.EXIT_USAGE` for bad
options (checked, with the output's folder, before any file is read).
"""

import logging
import warnings
from pathlib import Path

import numpy as np

from specir.scripts import EXIT_FOR_STATUS

__all__ = ["add_arguments", "run"]

log = logging.getLogger(__name__)


def add_arguments(parser):
    parser.add_argument("files", nargs="+", help="SDSS spectrum files (spec-*.fits)")
    parser.add_argument(
        "-o", "--output", required=True, help="output table (.ecsv, .fits, .parquet, .vot/.xml)"
    )
    parser.add_argument("--model", default="default", help="bundle directory or name")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument(
        "--r-mag",
        type=float,
        nargs="+",
        default=None,
        help="total r-band AB magnitudes, one per file (SDSS modelMag_r); rows without one are "
        "flagged NO_TOTAL_MAG",
    )


def _check(args):
    """Every option, and the output's folder, before any file is read or model loaded."""
    from specir.batch import check_writable
    from specir.errors import SpecIRInputError
    from specir.predict import check_options, table_format

    table_format(args.output)
    check_writable(args.output, exists_ok=True)
    check_options(model=args.model, device=args.device, batch_size=args.batch_size)
    if args.r_mag is not None and len(args.r_mag) not in (1, len(args.files)):
        raise SpecIRInputError(
            "--r-mag",
            f"has {len(args.r_mag)} values for {len(args.files)} files",
            "give one magnitude per file (or one for all)",
        )


def _prepare_each(files, z_range, report):
    """(prepared spectra, their indices): each file read and prepared on its own."""
    from specir.sdss import read_sdss
    from specir.spectra import prepare_spectra

    done, kept = [], []
    for i, f in enumerate(files):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                prep = prepare_spectra(read_sdss(f), z_range=z_range)
        except Exception as exc:  # one broken file never stops the others; the report says why
            report.fail(f, exc)
            continue
        for w in caught:
            log.warning("%s: %s", Path(f).name, w.message)
        done.append(prep)
        kept.append(i)
    return done, kept


def _concat(prepared):
    from specir.spectra import PreparedSpectra

    arrays = [
        np.concatenate([getattr(p, k) for p in prepared])
        for k in PreparedSpectra.__annotations__
        if k != "meta"
    ]
    return PreparedSpectra(*arrays, [m for p in prepared for m in p.meta])


def run(args):
    from specir.batch import BatchReport, atomic_output
    from specir.bundle import load_bundle, resolve_device
    from specir.predict import predict_prepared, write_table

    _check(args)
    report = BatchReport("predict", output=args.output, n_inputs=len(args.files))
    bundle = load_bundle(args.model, device=resolve_device(args.device))
    prepared, kept = _prepare_each(args.files, bundle.z_range, report)
    if prepared:
        r_mag = args.r_mag
        if r_mag is not None and len(r_mag) > 1:
            r_mag = [r_mag[i] for i in kept]
        table = predict_prepared(
            _concat(prepared), r_mag=r_mag, model=bundle, batch_size=args.batch_size
        )
        table.add_column([Path(args.files[i]).name for i in kept], name="file", index=0)
        with atomic_output(args.output) as tmp:
            write_table(table, tmp)
        n_flag = int(np.count_nonzero(table["flags"]))
        log.info("wrote %d predictions (%d flagged) to %s", len(table), n_flag, args.output)
    path = report.write()
    (log.warning if report.failed else log.info)("%s (report: %s)", report.summary(), path)
    return EXIT_FOR_STATUS[report.status]
