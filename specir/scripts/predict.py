"""``specir predict FILES -o OUT``: predictions for spectrum files."""

import logging
from pathlib import Path

import numpy as np

__all__ = ["add_arguments", "run"]

log = logging.getLogger(__name__)


def add_arguments(parser):
    parser.add_argument("files", nargs="+", help="SDSS spectrum files (spec-*.fits)")
    parser.add_argument(
        "-o", "--output", required=True, help="output table (.ecsv, .fits, .parquet, .vot/.xml)"
    )
    parser.add_argument("--model", default="default", help="bundle directory or name")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument(
        "--r-mag",
        type=float,
        nargs="+",
        default=None,
        help="total r-band AB magnitudes, one per file (SDSS modelMag_r); rows without one are "
        "flagged NO_TOTAL_MAG",
    )


def run(args):
    from specir.predict import predict_ir, write_table
    from specir.sdss import read_sdss

    spectra = [read_sdss(f) for f in args.files]
    table = predict_ir(
        spectra,
        r_mag=args.r_mag,
        model=args.model,
        device=args.device,
        batch_size=args.batch_size,
    )
    table.add_column([Path(f).name for f in args.files], name="file", index=0)
    write_table(table, args.output)
    n_flag = int(np.count_nonzero(table["flags"]))
    log.info("wrote %d predictions (%d flagged) to %s", len(table), n_flag, args.output)
    return 0
