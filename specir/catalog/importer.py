"""``specir import sdss PATHS... --out CATALOG``: SDSS spectrum files to a HATS spectra catalog.

Each file is read with :func:`specir.read_sdss` and put on the model grid by the same
flux-conserving resampler that :func:`specir.prepare_spectra` uses, but *not* normalised: the
catalog holds ``flux`` in 1e-17 erg/s/cm²/Å and ``ivar`` in its inverse square, as the simulated
survey does, with ``mask`` true where a grid pixel has no usable data. Position is the plug
RA/Dec; ``z`` the pipeline redshift. Files are converted in parallel into Parquet batches in
``<out>_staging/`` and partitioned with hats-import on a local Dask cluster.

A file that cannot be read or gives no usable spectrum is never dropped silently: it is listed,
with the reason in words, in ``<out>.report.json`` (:mod:`specir.batch`) and in the summary line.
The output folder is checked before any file is read, and the catalog is written under a
temporary name and renamed when complete.
"""

import contextlib
import glob
import logging
import os
import shutil
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from specir.batch import BatchReport, check_writable, reason
from specir.cluster import dask_client
from specir.errors import SpecIRFileError, SpecIRInputError

__all__ = ["expand_paths", "import_sdss", "sdss_rows", "write_spectra_batch"]

log = logging.getLogger(__name__)

_FITS_SUFFIXES = (".fits", ".fit", ".fits.gz", ".fit.gz")
# SDSS-I/II files store SPECOBJID as a string, BOSS files as an integer: one type per column
_META_COLUMNS = {
    "plate": int,
    "mjd": int,
    "fiberid": int,
    "specobjid": int,
    "z_err": float,
    "z_warning": int,
    "class": str,
    "subclass": str,
    "instrument": str,
}
_MISSING = {int: -1, float: float("nan"), str: ""}


def _is_fits(path):
    return str(path).lower().endswith(_FITS_SUFFIXES)


def expand_paths(paths):
    """Spectrum files named by directories, glob patterns, list files or file names.

    A directory contributes every FITS file below it; a pattern its matches; any other file
    that is not FITS is read as a list with one path per line (``#`` starts a comment;
    relative paths are relative to the list file). The result is sorted and unique.

    Examples
    --------
    >>> expand_paths([])
    []
    """
    out = []
    for p in paths:
        p = str(p)
        if any(ch in p for ch in "*?["):
            out += [Path(m) for m in glob.glob(p, recursive=True) if _is_fits(m)]
        elif Path(p).is_dir():
            out += [f for f in Path(p).rglob("*") if f.is_file() and _is_fits(f)]
        elif Path(p).is_file() and not _is_fits(p):
            base = Path(p).parent
            for line in Path(p).read_text().splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    out.append(Path(line) if Path(line).is_absolute() else base / line)
        else:
            out.append(Path(p))  # a FITS file, or a missing one the report will name
    return sorted({f.resolve() for f in out})


def sdss_rows(files):
    """Catalog rows for SDSS spectrum files: ``(DataFrame, failures)``.

    ``failures`` is a list of ``(file, reason in words)`` for files that could not be read or
    gave no usable pixel on the model grid.
    """
    import pandas as pd

    from specir.grid import Flags
    from specir.sdss import read_sdss
    from specir.spectra import prepare_spectra

    rows, failures = [], []
    for f in files:
        try:
            spec = read_sdss(f)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                prep = prepare_spectra(spec)
            for w in caught:
                log.warning("%s: %s", Path(f).name, w.message)
            if int(prep.flags[0]) & int(Flags.NO_DATA):
                raise SpecIRFileError(
                    str(f), "has no usable pixel on the model grid (3784–9333 Å)", "check the file"
                )
            meta = spec.meta
            if not all(np.isfinite(meta.get(k, np.nan)) for k in ("ra", "dec")):
                raise SpecIRFileError(
                    str(f), "has no plug position (PLUG_RA, PLUG_DEC)", "check the file"
                )
            norm = float(prep.norm[0])
            ivar = np.asarray(prep.ivar[0], np.float64) / norm**2
            row = {
                "id": int(meta.get("specobjid") or _fallback_id(meta)),
                "ra": float(meta["ra"]),
                "dec": float(meta["dec"]),
                "z": float(prep.z[0]),
                "flux": np.asarray(prep.restored_flux()[0].value, np.float32),
                "ivar": ivar.astype(np.float32),
                "mask": ~(ivar > 0),
                "prepare_flags": int(prep.flags[0]),
                "file": Path(f).name,
            }
            for key, kind in _META_COLUMNS.items():
                value = meta.get(key)
                row[key] = kind(value) if value is not None else _MISSING[kind]
            rows.append(row)
        except Exception as exc:  # one broken file never stops the import; the report says why
            failures.append((str(f), reason(exc)))
    return pd.DataFrame(rows), failures


def _fallback_id(meta):
    return int(meta["plate"]) * 10**10 + int(meta["mjd"]) * 10**4 + int(meta["fiberid"])


def write_spectra_batch(df, path):
    """Write catalog rows to Parquet atomically, spectra as fixed-size lists of the grid length.

    ``flux`` and ``ivar`` become float32 lists, ``mask`` a bool list; other columns as they are.
    The file appears under ``path`` only when complete.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from specir.grid import GRID_NPIX

    cols = {}
    for c in df.columns:
        if c in ("flux", "ivar", "mask"):
            arr = np.stack(df[c].to_numpy()).reshape(-1)
            typ = pa.bool_() if c == "mask" else pa.float32()
            cols[c] = pa.FixedSizeListArray.from_arrays(pa.array(arr, type=typ), GRID_NPIX)
        else:
            cols[c] = pa.array(df[c].to_numpy())
    path = Path(path)
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.table(cols), tmp)
    os.replace(tmp, path)


def _convert_batch(args):
    index, files, staging = args
    df, failures = sdss_rows(files)
    if len(df):
        write_spectra_batch(df, Path(staging) / f"batch_{index:06d}.parquet")
    return len(df), failures


def import_sdss(paths, out, *, workers=None, batch_files=200, progress=True):
    """Import SDSS spectrum files into a HATS spectra catalog at ``out``.

    Parameters
    ----------
    paths : list of str
        Files, directories, glob patterns or list files (:func:`expand_paths`).
    out : str or Path
        The catalog folder to create; its parent must exist and be writable.
    workers : int, optional
        Processes reading files (default: all cores).

    Returns
    -------
    specir.batch.BatchReport
        Files attempted and the reason each failed one failed; also written to
        ``<out>.report.json``. Its ``status`` is ``"ok"``, ``"partial"`` or ``"failed"``.
    """
    out = Path(out)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise SpecIRInputError("workers", f"is {workers!r}", "give a positive integer")
    if workers is not None and workers < 1:
        raise SpecIRInputError("workers", f"is {workers}", "give a positive integer")
    check_writable(out, field="--out", folder=True)
    files = expand_paths(paths)
    if not files:
        raise SpecIRInputError("paths", f"{list(paths)} name no FITS files", "check the paths")
    workers = workers or os.cpu_count() or 1
    staging = out.parent / f"{out.name}_staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    report = BatchReport("import", str(out), n_inputs=len(files))
    try:
        for failures in _convert_all(files, staging, workers, batch_files, progress):
            for f, why in failures:
                report.fail(f, why)
        if report.n_done:
            _hats_import(out, sorted(staging.glob("batch_*.parquet")), workers, progress=progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    path = report.write()
    (log.warning if report.failed else log.info)("%s (report: %s)", report.summary(), path)
    return report


def _convert_all(files, staging, workers, batch_files, progress):
    """Yield the failures of each batch of files converted to staged Parquet."""
    from tqdm.auto import tqdm

    batches = [
        (i, files[s : s + batch_files], str(staging))
        for i, s in enumerate(range(0, len(files), batch_files))
    ]
    with (
        tqdm(total=len(files), desc="reading spectra", unit="file", disable=not progress) as bar,
        contextlib.ExitStack() as stack,
    ):
        if workers == 1 or len(batches) == 1:
            results = map(_convert_batch, batches)
        else:
            pool = stack.enter_context(ProcessPoolExecutor(workers))
            results = pool.map(_convert_batch, batches)
        for (_, batch, _), (_, fails) in zip(batches, results, strict=True):
            bar.update(len(batch))
            yield fails


def _hats_import(out, parquet_files, workers, *, progress=True):
    from hats_import.catalog.arguments import ImportArguments
    from hats_import.pipeline import pipeline_with_client

    work = out.parent / f".{out.name}.importing"  # renamed to ``out`` only when complete
    shutil.rmtree(work, ignore_errors=True)
    args = ImportArguments(
        output_path=str(work),
        output_artifact_name=out.name,
        input_file_list=[str(f) for f in parquet_files],
        file_reader="parquet",
        ra_column="ra",
        dec_column="dec",
        sort_columns="id",
        lowest_healpix_order=0,
        highest_healpix_order=10,
        pixel_threshold=2000,
        tmp_dir=str(work / "tmp"),
        progress_bar=progress,
        simple_progress_bar=True,
    )
    try:
        with dask_client(workers=workers) as client:
            pipeline_with_client(args, client)
        os.replace(work / out.name, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
