"""``specir fetch sdss-allwise``: query, download, and write the HATS training catalog.

The output folder holds, in the order they are made:

``targets.parquet``
    The TAP result (one row per spectrum, nearest AllWISE counterpart) and ``provenance.json``
    (service, ADQL, date, counts). A resumed run reuses both, so it builds the same catalog even
    if the service has changed meanwhile.
``spectra/``
    The lite spec files, in the archive's own layout (see :mod:`specir.fetch.download`).
``download_report.json``
    Every file that could not be fetched, with the reason.
``catalog/``
    The HATS catalog ``specir train`` reads with its default column map: spectra on the model
    grid (``flux``, ``ivar``, ``mask``), ``z``, ``modelmag_r`` and the AllWISE ``wNmpro``,
    ``wNsigmpro``, ``wNsnr``, ``ph_qual``, ``cc_flags``, ``ext_flg``; provenance in its
    ``hats.properties`` (``specir_fetch_*``). Written as ``catalog.partial`` and renamed.
"""

import json
import logging
import os
import shutil
import time
from pathlib import Path

from specir.errors import SpecIRInputError

__all__ = ["dry_run", "fetch_sdss_allwise"]

log = logging.getLogger(__name__)

_KEYS = ["plate", "mjd", "fiberid"]
GROUP_ROWS = 20_000
"""Rows partitioned at once (about 0.7 GB of spectra on the model grid)."""
GROUP_ORDER = 4
"""HEALPix order of the partitions of a sample larger than :data:`GROUP_ROWS` (3.7° pixels:
about a thousand SDSS galaxies each)."""


def _write_json(path, data):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str) + "\n")
    os.replace(tmp, path)


def dry_run(recipe, *, max_rows=0, region=None):
    """The ADQL a fetch would run and the number of spectrum-counterpart pairs it would get."""
    from specir.fetch.tap import count_adql, expected_count, sample_adql

    return {
        "service": recipe.tap.url,
        "adql": sample_adql(recipe, max_rows=max_rows, region=region),
        "count_adql": count_adql(recipe, region=region),
        "expected_rows": expected_count(recipe, max_rows=max_rows, region=region),
    }


def _targets(recipe, out, *, max_rows, region, resume):
    """The sample: queried now, or (on resume) read back from the first run."""
    import pandas as pd

    from specir.fetch.tap import run_query, sample_adql

    path, prov_path = out / "targets.parquet", out / "provenance.json"
    if path.is_file() and prov_path.is_file():
        if not resume:
            raise SpecIRInputError(
                "--out", f"{out} holds an earlier fetch", "pass --resume, or choose a new folder"
            )
        log.info("resuming: the sample of %s is reused", out)
        return pd.read_parquet(path), json.loads(prov_path.read_text())
    out.mkdir(parents=True, exist_ok=True)
    adql = sample_adql(recipe, max_rows=max_rows, region=region)
    df = run_query(recipe, max_rows=max_rows, region=region)
    prov = {
        "service": f"{recipe.tap.name} <{recipe.tap.url}>",
        "archive": recipe.sas.base_url,
        "adql": adql,
        "query_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "n_spectra_selected": len(df),
        "description": recipe.description,
    }
    tmp = path.with_name("targets.parquet.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    _write_json(prov_path, prov)
    return df, prov


def _jobs(recipe, out, targets):
    base = recipe.sas.base_url.rstrip("/")
    jobs = []
    for row in targets[[*_KEYS, "run2d"]].itertuples(index=False):
        rel = recipe.sas.relative_path(
            plate=row.plate, mjd=row.mjd, fiberid=row.fiberid, run2d=row.run2d
        )
        jobs.append((f"{base}/{rel}", out / "spectra" / rel))
    return jobs


def _grid_batch(args):
    """One batch: spectra on the model grid joined to their targets' columns, to Parquet."""
    index, files, extra, staging = args
    from specir.catalog.importer import sdss_rows, write_spectra_batch

    df, fails = sdss_rows(files)
    if len(df):
        df = df.drop(columns=["specobjid"]).merge(extra, on=_KEYS, how="inner")
        df = df.sort_values("id", kind="stable").reset_index(drop=True)
    if len(df):
        write_spectra_batch(df, Path(staging) / f"batch_{index:07d}.parquet")
    return len(df), fails


def _catalog_rows(files, targets, *, batch, staging, progress, workers=1):
    """Put the spectra on the model grid in batches (``workers`` processes); Parquet files."""
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    extra = targets.drop(columns=["ra_spec", "dec_spec"]).rename(columns={"z_spec": "z_tap"})
    names = (
        "spec-"
        + extra["plate"].astype(int).astype(str).str.zfill(4)
        + "-"
        + extra["mjd"].astype(int).astype(str)
        + "-"
        + extra["fiberid"].astype(int).astype(str).str.zfill(4)
        + ".fits"
    )
    jobs = []
    for i in range(0, len(files), batch):
        part = files[i : i + batch]
        keep = names.isin({Path(f).name for f in part}).to_numpy()
        jobs.append((i, part, extra[keep], str(staging)))
    failures, n = [], 0
    with tqdm(total=len(files), desc="spectra to the model grid", disable=not progress) as bar:
        if workers <= 1 or len(jobs) <= 1:
            results = map(_grid_batch, jobs)
        else:
            pool = ProcessPoolExecutor(min(workers, len(jobs)))
            results = pool.map(_grid_batch, jobs)
        for job, (k, fails) in zip(jobs, results, strict=True):
            n += k
            failures += fails
            bar.update(len(job[1]))
    return n, failures


def _frame(files):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.concat_tables([pq.read_table(f) for f in files])
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _groups(files, group_rows):
    import pyarrow.parquet as pq

    groups, current, rows = [], [], 0
    for f in files:
        current.append(f)
        rows += pq.ParquetFile(f).metadata.num_rows
        if rows >= group_rows:
            groups.append(current)
            current, rows = [], 0
    return groups + ([current] if current else [])


def _hats(staging, partial, properties, *, group_rows=None):
    """Partition the staged batches with lsdb: one catalog, or groups at one order, concatenated.

    Up to ``group_rows`` rows go through one ``lsdb.from_dataframe`` (adaptive partitions); a
    larger sample is cut into groups of about that many rows (bounded memory), each partitioned
    at HEALPix order :data:`GROUP_ORDER`, written, and joined pixel by pixel with ``concat``.
    """
    import lsdb

    groups = _groups(sorted(staging.glob("batch_*.parquet")), group_rows or GROUP_ROWS)
    if len(groups) == 1:
        cat = lsdb.from_dataframe(_frame(groups[0]), ra_column="ra", dec_column="dec")
    else:
        order = {"lowest_order": GROUP_ORDER, "highest_order": GROUP_ORDER}
        parts = []
        for i, group in enumerate(groups):
            where = staging / f"group_{i:05d}"
            part = lsdb.from_dataframe(_frame(group), ra_column="ra", dec_column="dec", **order)
            part.write_catalog(where, catalog_name=f"group_{i}", as_collection=False)
            parts.append(lsdb.open_catalog(where))
        cat = parts[0]
        for part in parts[1:]:
            cat = cat.concat(part)
    props = {
        f"specir_fetch_{k}": (v if isinstance(v, str) else json.dumps(v)).replace("\n", " ")
        for k, v in properties.items()
    }
    cat.write_catalog(
        partial, catalog_name="sdss_allwise", as_collection=False, addl_hats_properties=props
    )


def _write_catalog(out, files, targets, provenance, *, progress):
    final, partial = out / "catalog", out / "catalog.partial"
    staging = out / "catalog_staging"
    for p in (final, partial, staging):
        shutil.rmtree(p, ignore_errors=True)
    staging.mkdir()
    workers = os.cpu_count() or 1
    n, failures = _catalog_rows(
        files, targets, batch=500, staging=staging, progress=progress, workers=workers
    )
    if n:
        _hats(staging, partial, {**provenance, "n_spectra_in_catalog": n})
        os.replace(partial, final)
    shutil.rmtree(staging, ignore_errors=True)
    return n, failures


def fetch_sdss_allwise(
    recipe, out, *, max_rows=0, region=None, workers=None, resume=False, progress=True
):
    """Build a real SDSS × AllWISE training catalog in ``out`` (see the module docstring).

    Parameters
    ----------
    recipe : specir.fetch.recipe.FetchRecipe
    out : path-like
        Output folder (``out/catalog`` is the HATS catalog).
    max_rows : int, optional
        At most this many spectrum-counterpart pairs (``TOP``); 0: all.
    region : (ra, dec, radius) in degrees, optional
        Only spectra inside this circle.
    workers : int, optional
        Concurrent downloads (default: the recipe's).
    resume : bool
        Continue an interrupted fetch in ``out``: same sample, finished files kept.

    Returns
    -------
    dict
        Counts (``n_selected``, ``n_downloaded``, ``n_present``, ``n_failed``,
        ``n_in_catalog``), ``failed`` (url or file and reason) and ``catalog``.
    """
    import dataclasses

    out = Path(out)
    if workers:
        dl = dataclasses.replace(recipe.download, workers=int(workers))
        recipe = dataclasses.replace(recipe, download=dl)
    targets, provenance = _targets(recipe, out, max_rows=max_rows, region=region, resume=resume)
    from specir.fetch.download import download_files

    results = download_files(_jobs(recipe, out, targets), recipe.download, progress=progress)
    failed = [
        {"url": r.url, "error": r.error, "attempts": r.attempts}
        for r in results
        if r.status == "failed"
    ]
    ok = sorted(Path(r.path) for r in results if r.status != "failed")
    n_cat, bad = _write_catalog(out, ok, targets, provenance, progress=progress)
    failed += [{"file": b["file"], "error": b["error"]} for b in bad]
    return _summary(out, targets, results, failed, n_cat)


def _summary(out, targets, results, failed, n_cat):
    summary = {
        "n_selected": len(targets),
        "n_downloaded": sum(r.status == "downloaded" for r in results),
        "n_present": sum(r.status == "present" for r in results),
        "n_failed": len(failed),
        "n_in_catalog": n_cat,
        "failed": failed,
        "catalog": str(out / "catalog") if n_cat else None,
    }
    _write_json(out / "download_report.json", summary)
    log.info(
        "%d of %d spectra in %s; %d failed (listed in %s)",
        n_cat,
        len(targets),
        out / "catalog",
        len(failed),
        out / "download_report.json",
    )
    return summary
