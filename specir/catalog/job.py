"""``specir catalog run RECIPE``: predictions for a whole HATS spectra catalog.

Each input partition is predicted by a Dask task (``map_partitions`` with explicit ``meta``) and
staged as ``<output>.staging/Norder=k/Npix=n.parquet``, written to a temporary file and renamed
atomically, so a staged file exists only when its partition is complete. ``--resume`` reuses the
staged partitions. The final catalog is written with lsdb ``write_catalog`` into
``<output>.partial`` and renamed to ``<output>`` only when complete. The model is loaded once per
worker process (:func:`specir.bundle.load_bundle` keeps a module-level cache keyed by bundle path
and device).
"""

import dataclasses
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from specir.batch import BatchReport, check_writable, reason
from specir.cluster import dask_client
from specir.config import load_config, path_field
from specir.errors import SpecIRFileError, SpecIRInputError

__all__ = ["Recipe", "load_recipe", "run_job"]

log = logging.getLogger(__name__)

INPUT_COLUMNS = ["id", "ra", "dec", "z", "flux", "ivar", "mask"]


@dataclass(frozen=True)
class Recipe:
    """A value-added catalog job, read from TOML (paths relative to the TOML file).

    Every value is checked when the recipe is made, so that a bad one is reported in one line
    before any cluster starts.
    """

    input: str = path_field()
    """Input HATS spectra catalog."""
    output: str = path_field()
    """Output HATS value-added catalog."""
    model: str = "default"
    """Model bundle directory (relative to the TOML file when it contains a ``/``) or name."""
    table_name: str = "vac"
    """Published table name."""
    min_order: int = 0
    """Lowest HEALPix order of the input partitions expected."""
    max_order: int = 10
    """Highest HEALPix order of the input partitions expected."""
    device: str = "auto"
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (where the workers run)."""
    batch_size: int = 1024
    """Spectra per forward pass (at least 1)."""
    total_mag_column: str = "modelmag_r"
    """Input column with the total r-band AB magnitude (aperture correction); rows where it is
    missing, or all rows when the column is absent or set to ``""``, are flagged
    ``NO_TOTAL_MAG``."""

    def __post_init__(self):
        from specir.bundle import check_device_name

        if not isinstance(self.total_mag_column, str):
            raise SpecIRInputError(
                "total_mag_column", f"is {self.total_mag_column!r}", 'give a column name or ""'
            )
        for name in ("input", "output", "model", "table_name", "device"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise SpecIRInputError(name, f"is {value!r}", "give a non-empty string")
        for name, low in (("min_order", 0), ("max_order", 0), ("batch_size", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise SpecIRInputError(name, f"is {value!r}", f"give an integer >= {low}")
        if self.max_order > 29:
            raise SpecIRInputError("max_order", f"is {self.max_order}", "give at most 29")
        if self.min_order > self.max_order:
            raise SpecIRInputError(
                "min_order", f"({self.min_order}) exceeds max_order ({self.max_order})", "swap them"
            )
        check_device_name(self.device)


def load_recipe(path, **overrides):
    """Read a :class:`Recipe` from a TOML file with :func:`specir.config.load_config`.

    Unknown keys, missing ``input``/``output``, bad values and TOML syntax errors are each a
    :class:`~specir.errors.SpecIRInputError` naming the key (or the file and line).
    """
    path = Path(path)
    recipe = load_config(Recipe, path, what="recipe", **overrides)
    if "/" in recipe.model:  # a path, not a bundle name
        model = Path(recipe.model).expanduser()
        if not model.is_absolute() and overrides.get("model") is None:
            model = (path.parent / model).resolve()
        recipe = dataclasses.replace(recipe, model=str(model))
    return recipe


def _open_input(recipe):
    """Open the input catalog with the columns the job reads; check its HEALPix orders."""
    import lsdb

    try:
        available = lsdb.open_catalog(recipe.input).all_columns
    except Exception as exc:  # lsdb/hats raise FileNotFoundError, ValueError ... on a non-catalog
        why = "has no HATS metadata" if isinstance(exc, FileNotFoundError) else reason(exc)
        raise SpecIRFileError(
            recipe.input, f"is not a readable HATS catalog (input): {why}", _INPUT_FIX
        ) from None
    missing = [c for c in INPUT_COLUMNS if c != "mask" and c not in available]
    if missing:
        raise SpecIRInputError(
            "input",
            f"{recipe.input} lacks the columns {missing}",
            "import spectra with `specir import sdss` or `specir simulate`",
        )
    columns = [c for c in INPUT_COLUMNS if c in available]
    if recipe.total_mag_column and recipe.total_mag_column in available:
        columns.append(recipe.total_mag_column)
    elif recipe.total_mag_column:
        log.warning(
            "input has no %r column: every row will be flagged NO_TOTAL_MAG",
            recipe.total_mag_column,
        )
    cat = lsdb.open_catalog(recipe.input, columns=columns)
    orders = [p.order for p in cat.get_healpix_pixels()]
    if orders and (min(orders) < recipe.min_order or max(orders) > recipe.max_order):
        raise SpecIRInputError(
            "min_order/max_order",
            f"the input's partitions span orders {min(orders)}..{max(orders)}, outside "
            f"[{recipe.min_order}, {recipe.max_order}]",
            "widen the recipe's order limits or re-partition the input",
        )
    return cat


def _meta():
    from specir.columns import VAC_COLUMNS

    return pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in VAC_COLUMNS}).rename_axis(
        "_healpix_29"
    )


def _staged(staging, pixel, suffix):
    return Path(staging) / f"Norder={pixel.order}" / f"Npix={pixel.pixel}{suffix}"


def _predict_partition(df, pixel, *, recipe, staging, torch_threads=None):
    """Predict one partition, staged atomically; reused when already staged.

    A partition that fails is recorded as ``Npix=n.failed.json`` in the staging folder (the
    reason in words) and contributes no rows, so the others are still written; ``--resume``
    retries it.
    """
    done = _staged(staging, pixel, ".parquet")
    if done.exists():
        return pd.read_parquet(done)
    try:
        out = _predict_rows(df, recipe=recipe, torch_threads=torch_threads)
    except Exception as exc:  # one bad partition never stops the survey; the report says why
        failed = _staged(staging, pixel, ".failed.json")
        failed.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            {"input": f"Norder={pixel.order}/Npix={pixel.pixel}", "reason": reason(exc)}
        )
        tmp = failed.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, failed)
        return _meta()
    done.parent.mkdir(parents=True, exist_ok=True)
    tmp = done.with_suffix(f".tmp{os.getpid()}")
    out.to_parquet(tmp)
    os.replace(tmp, done)
    return out


def _predict_rows(df, *, recipe, torch_threads):
    from specir.columns import VAC_COLUMNS
    from specir.dataset import grid_rows
    from specir.predict import predict_prepared
    from specir.spectra import prepare_grid_arrays

    n = len(df)
    out = pd.DataFrame(index=df.index)
    for c in ("id", "ra", "dec", "z"):
        out[c] = df[c].to_numpy()
    if n:
        if torch_threads:  # Dask workers start with OMP_NUM_THREADS=1; give torch its share
            import torch

            if torch.get_num_threads() != torch_threads:
                torch.set_num_threads(torch_threads)
        flux = grid_rows(df["flux"], "flux").astype(np.float32, copy=False)
        ivar = grid_rows(df["ivar"], "ivar").astype(np.float32, copy=False)
        mask = grid_rows(df["mask"], "mask") != 0 if "mask" in df else None
        prep = prepare_grid_arrays(flux, ivar, df["z"].to_numpy(np.float64), mask=mask)
        col = recipe.total_mag_column
        r_mag = df[col].to_numpy(np.float64) if col and col in df else None
        table = predict_prepared(
            prep,
            r_mag=r_mag,
            model=recipe.model,
            device=recipe.device,
            batch_size=recipe.batch_size,
        )
        for col in table.colnames:
            out[col] = np.asarray(getattr(table[col], "value", table[col]))
    out = out.reindex(columns=[c.name for c in VAC_COLUMNS])
    return out.astype({c.name: c.dtype for c in VAC_COLUMNS})


def _provenance(recipe, model_sha):
    from specir import __version__

    return {
        "specir_version": __version__,
        "specir_model_sha256": model_sha,
        "specir_input_catalog": recipe.input,
        "specir_recipe": " ".join(f"{k}={v}" for k, v in asdict(recipe).items()),
        "specir_created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


_INPUT_FIX = "give the folder of a HATS spectra catalog (`specir import sdss`, `specir simulate`)"


def _check_input_path(recipe):
    source = Path(recipe.input)
    if not source.exists():
        raise SpecIRFileError(recipe.input, "does not exist (recipe key input)", _INPUT_FIX)
    if not source.is_dir():
        raise SpecIRFileError(
            recipe.input, "is a file, not a HATS catalog folder (input)", _INPUT_FIX
        )


def _check_memory_limit(memory_limit):
    from dask.utils import parse_bytes

    try:
        ok = parse_bytes(memory_limit) > 0
    except (TypeError, ValueError, AttributeError):  # dask raises all three on non-sizes
        ok = False
    if not ok:
        raise SpecIRInputError("memory_limit", f"is {memory_limit!r}", "give a size such as 4GiB")


def _preflight(recipe, *, scheduler, resume):
    """Every check that needs no cluster: output writable, model and device usable, input a
    HATS catalog with the right columns. Returns (input catalog, model sha256)."""
    from specir.bundle import load_bundle, resolve_device

    output = Path(recipe.output)
    check_writable(output, field="output", exists_ok=resume, folder=True)
    _check_input_path(recipe)
    if not scheduler:  # a remote cluster's workers may have devices this machine lacks
        resolve_device(recipe.device)
    model_sha = load_bundle(recipe.model, device="cpu").card["sha256"]
    return _open_input(recipe), model_sha


def run_job(recipe, *, workers=1, scheduler=None, resume=False, memory_limit="4GiB", report=None):
    """Run a :class:`Recipe`; returns the output path.

    Everything that can be checked without a cluster (the output's folder, the model, the
    device, the input catalog and its columns) is checked before one starts. A partition that
    fails contributes no rows; it is listed with the reason in ``report`` (a
    :class:`~specir.batch.BatchReport`, filled when given) and in ``<output>.report.json``.
    ``memory_limit`` bounds each local worker (Dask pauses/restarts a worker above it).
    """
    from specir.columns import write_column_metadata

    if not isinstance(recipe, Recipe):
        raise SpecIRInputError("recipe", f"is a {type(recipe).__name__}", "give a Recipe")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SpecIRInputError("workers", f"is {workers!r}", "give an integer >= 1")
    _check_memory_limit(memory_limit)
    cat, model_sha = _preflight(recipe, scheduler=scheduler, resume=resume)
    output = Path(recipe.output)
    staging = Path(f"{output}.staging")
    partial = Path(f"{output}.partial")
    if not resume:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(partial, ignore_errors=True)
    if output.exists():
        shutil.rmtree(output)
    staging.mkdir(parents=True, exist_ok=True)
    for stale in staging.rglob("*.failed.json"):  # failed partitions are retried
        stale.unlink()
    vac = cat.map_partitions(
        _predict_partition,
        include_pixel=True,
        meta=_meta(),
        recipe=recipe,
        staging=str(staging),
        torch_threads=None if scheduler else max(1, (os.cpu_count() or 1) // max(workers, 1)),
    )
    report = report if report is not None else BatchReport("catalog run", str(output))
    report.n_inputs = len(cat.get_healpix_pixels())
    with dask_client(workers=workers, scheduler=scheduler, memory_limit=memory_limit):
        _write(vac, partial, recipe, model_sha, staging, report)
    if partial.exists():
        write_column_metadata(partial)
        os.replace(partial, output)
    if not report.failed:
        shutil.rmtree(staging, ignore_errors=True)
    path = report.write()
    (log.warning if report.failed else log.info)("%s (report: %s)", report.summary(), path)
    return output


def _write(vac, partial, recipe, model_sha, staging, report):
    """write_catalog into ``partial``; failed partitions (staged as JSON) go to the report."""
    try:
        vac.write_catalog(
            partial,
            catalog_name=recipe.table_name,
            as_collection=False,
            overwrite=True,
            addl_hats_properties=_provenance(recipe, model_sha),
        )
    except Exception as exc:
        failed = sorted(Path(staging).rglob("*.failed.json"))
        if not failed:
            raise
        log.debug("write_catalog: %s", reason(exc))  # every partition failed: nothing to write
        shutil.rmtree(partial, ignore_errors=True)
    for f in sorted(Path(staging).rglob("*.failed.json")):
        item = json.loads(f.read_text())
        report.fail(f"{recipe.input} {item['input']}", item["reason"])
