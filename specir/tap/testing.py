"""A synthetic value-added HATS catalog for tests, demos and benchmarks of the TAP service.

The rows are random (uniform on the sky, plausible ranges for every value-added column); they
stand in for the real catalog job's output, which has the same columns and metadata.
"""

import logging
from pathlib import Path

import numpy as np

from specir.bands import mjy_to_mag
from specir.columns import VAC_COLUMNS, write_column_metadata

__all__ = ["synthetic_vac", "write_synthetic_catalog"]

log = logging.getLogger(__name__)


def synthetic_vac(n, *, seed=0):
    """A pandas DataFrame with ``n`` random rows holding every value-added column.

    Examples
    --------
    >>> df = synthetic_vac(3, seed=1)
    >>> list(df.columns[:4]), len(df)
    (['id', 'ra', 'dec', 'z'], 3)
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols = {
        "id": np.arange(1, n + 1, dtype=np.int64),
        "ra": rng.uniform(0.0, 360.0, n),
        "dec": np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n))),
        "z": rng.uniform(0.01, 0.35, n),
    }
    w1 = 10 ** rng.normal(0.0, 0.5, n)  # mJy
    colour = rng.normal([0.0, -0.3, -1.0, -1.6], 0.3, (n, 4))
    flux = (w1[:, None] * 10**colour).astype(np.float32)
    flux_err = (flux * rng.uniform(0.03, 0.3, (n, 4))).astype(np.float32)
    mag, mag_err = mjy_to_mag(flux, flux_err)
    for i, b in enumerate(("w1", "w2", "w3", "w4")):
        cols[f"{b}_flux"] = flux[:, i]
        cols[f"{b}_flux_err"] = flux_err[:, i]
    for i, b in enumerate(("w1", "w2", "w3", "w4")):
        cols[f"{b}_mag"] = mag[:, i].astype(np.float32)
        cols[f"{b}_mag_err"] = mag_err[:, i].astype(np.float32)
    cols["w1_w2"] = (mag[:, 0] - mag[:, 1]).astype(np.float32)
    cols["w2_w3"] = (mag[:, 1] - mag[:, 2]).astype(np.float32)
    agn = rng.random(n) < 0.3
    cols["log_lagn"] = np.where(agn, rng.normal(44.0, 0.8, n), np.nan).astype(np.float32)
    cols["log_lagn_err"] = np.where(agn, rng.uniform(0.1, 0.5, n), np.nan).astype(np.float32)
    cols["q_pah"] = rng.uniform(0.5, 4.6, n).astype(np.float32)
    cols["q_pah_err"] = rng.uniform(0.1, 1.0, n).astype(np.float32)
    cols["flags"] = np.where(rng.random(n) < 0.1, rng.integers(1, 128, n), 0).astype(np.int64)
    df = pd.DataFrame(cols)
    return df[[c.name for c in VAC_COLUMNS]]


def write_synthetic_catalog(path, n, *, name="vac", seed=0, partition_rows=None):
    """Write a synthetic value-added HATS catalog with lsdb and annotate its columns.

    Parameters
    ----------
    path : str or path-like
        Output directory (must not exist).
    n : int
        Number of rows.
    name : str
        Catalog name (the TAP table name).
    seed : int
        Random seed.
    partition_rows : int, optional
        Target rows per HEALPix partition (lsdb's ``partition_rows``); default lets lsdb choose.

    Returns
    -------
    pathlib.Path
        The catalog directory (the one holding ``hats.properties``).
    """
    import lsdb

    kwargs = {} if partition_rows is None else {"partition_rows": partition_rows}
    df = synthetic_vac(n, seed=seed)
    catalog = lsdb.from_dataframe(
        df, catalog_name=name, ra_column="ra", dec_column="dec", margin_threshold=None, **kwargs
    )
    path = Path(path)
    catalog.write_catalog(path)
    catalog_dir = path / name if (path / name / "hats.properties").exists() else path
    write_column_metadata(catalog_dir)
    log.info("wrote %d synthetic rows to %s", n, catalog_dir)
    return catalog_dir
