"""``specir catalog run RECIPE``: predictions for a whole HATS spectra catalog.

Each input partition is predicted by a Dask task (``map_partitions`` with explicit ``meta``) and
staged as ``<output>.staging/Norder=k/Npix=n.parquet``, written to a temporary file and renamed
atomically, so a staged file exists only when its partition is complete. ``--resume`` reuses the
staged partitions. The final catalog is written with lsdb ``write_catalog`` into
``<output>.partial`` and renamed to ``<output>`` only when complete. The model is loaded once per
worker process (:func:`specir.bundle.load_bundle` keeps a module-level cache keyed by bundle path
and device).
"""

import logging
import os
import shutil
import time
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from specir.cluster import dask_client
from specir.errors import SpecIRInputError

__all__ = ["Recipe", "load_recipe", "run_job"]

log = logging.getLogger(__name__)

INPUT_COLUMNS = ["id", "ra", "dec", "z", "flux", "ivar", "mask"]


@dataclass(frozen=True)
class Recipe:
    """A value-added catalog job, read from TOML (paths relative to the TOML file)."""

    input: str
    """Input HATS spectra catalog."""
    output: str
    """Output HATS value-added catalog."""
    model: str = "default"
    """Model bundle directory or name."""
    table_name: str = "vac"
    """Published table name."""
    min_order: int = 0
    """Lowest HEALPix order of the input partitions expected."""
    max_order: int = 10
    """Highest HEALPix order of the input partitions expected."""
    device: str = "auto"
    batch_size: int = 1024
    total_mag_column: str = "modelmag_r"
    """Input column with the total r-band AB magnitude (aperture correction); rows where it is
    missing, or all rows when the column is absent or set to ``""``, are flagged
    ``NO_TOTAL_MAG``."""

    def __post_init__(self):
        if not isinstance(self.total_mag_column, str):
            raise SpecIRInputError("total_mag_column", "must be a string", "fix the recipe")
        for name in ("input", "output", "model", "table_name", "device"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise SpecIRInputError(name, "must be a non-empty string", "fix the recipe")
        for name in ("min_order", "max_order", "batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise SpecIRInputError(name, "must be a non-negative integer", "fix the recipe")
        if self.min_order > self.max_order:
            raise SpecIRInputError("min_order", "exceeds max_order", "fix the recipe")


def load_recipe(path, **overrides):
    """Read a :class:`Recipe` from a TOML file; unknown keys raise naming the key."""
    path = Path(path)
    with open(path, "rb") as f:
        data = tomllib.load(f)
    data.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(Recipe)}
    for key in data:
        if key not in known:
            raise SpecIRInputError(key, f"is not a recipe key ({sorted(known)})", "remove it")
    for key in ("input", "output", "model"):
        value = data.get(key)
        if isinstance(value, str) and (key != "model" or "/" in value):
            p = Path(value).expanduser()
            data[key] = str(p if p.is_absolute() else (path.parent / p).resolve())
    return Recipe(**data)


def _open_input(recipe):
    """Open the input catalog with the columns the job reads; check its HEALPix orders."""
    import lsdb

    available = lsdb.open_catalog(recipe.input).all_columns
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


def _predict_partition(df, pixel, *, recipe, staging, torch_threads=None):
    """Predict one partition, staged atomically; reused when already staged."""
    from specir.columns import VAC_COLUMNS
    from specir.dataset import grid_rows
    from specir.predict import predict_prepared
    from specir.spectra import prepare_grid_arrays

    done = Path(staging) / f"Norder={pixel.order}" / f"Npix={pixel.pixel}.parquet"
    if done.exists():
        return pd.read_parquet(done)
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
    out = out.astype({c.name: c.dtype for c in VAC_COLUMNS})
    done.parent.mkdir(parents=True, exist_ok=True)
    tmp = done.with_suffix(f".tmp{os.getpid()}")
    out.to_parquet(tmp)
    os.replace(tmp, done)
    return out


def _provenance(recipe, model_sha):
    from specir import __version__

    return {
        "specir_version": __version__,
        "specir_model_sha256": model_sha,
        "specir_input_catalog": recipe.input,
        "specir_recipe": " ".join(f"{k}={v}" for k, v in asdict(recipe).items()),
        "specir_created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def run_job(recipe, *, workers=1, scheduler=None, resume=False, memory_limit="4GiB"):
    """Run a :class:`Recipe`; returns the output path.

    ``memory_limit`` bounds each local worker (Dask pauses/restarts a worker above it).
    """

    from specir.bundle import load_bundle
    from specir.columns import write_column_metadata

    output = Path(recipe.output)
    staging = Path(f"{output}.staging")
    partial = Path(f"{output}.partial")
    if not resume:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(partial, ignore_errors=True)
    if output.exists():
        if not resume:
            raise SpecIRInputError("output", f"{output} exists", "remove it or use --resume")
        shutil.rmtree(output)
    staging.mkdir(parents=True, exist_ok=True)
    model_sha = load_bundle(recipe.model, device="cpu").card["sha256"]
    cat = _open_input(recipe)
    vac = cat.map_partitions(
        _predict_partition,
        include_pixel=True,
        meta=_meta(),
        recipe=recipe,
        staging=str(staging),
        torch_threads=None if scheduler else max(1, (os.cpu_count() or 1) // max(workers, 1)),
    )
    with dask_client(workers=workers, scheduler=scheduler, memory_limit=memory_limit):
        vac.write_catalog(
            partial,
            catalog_name=recipe.table_name,
            as_collection=False,
            overwrite=True,
            addl_hats_properties=_provenance(recipe, model_sha),
        )
    write_column_metadata(partial)
    os.replace(partial, output)
    shutil.rmtree(staging, ignore_errors=True)
    log.info("wrote %s", output)
    return output
