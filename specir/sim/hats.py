"""The HATS step of :func:`specir.sim.write_survey`: chunk files to one lsdb catalog.

Chunks are Parquet files with fixed-size-list spectrum columns (:func:`arrow_table`);
:func:`write_hats` partitions them with lsdb on a local Dask cluster in groups of bounded size.
"""

import shutil

import numpy as np

from specir.grid import GRID_NPIX

__all__ = ["arrow_table", "write_hats"]


def arrow_table(df):
    """A chunk DataFrame as an Arrow table (spectra as fixed-size lists of 3921)."""
    import pyarrow as pa

    cols = {}
    for c in df.columns:
        if c in ("flux", "ivar", "mask"):
            arr = np.stack(df[c].to_numpy())
            typ = pa.bool_() if c == "mask" else pa.float32()
            flat = pa.array(
                arr.reshape(-1).astype(np.bool_ if c == "mask" else np.float32), type=typ
            )
            cols[c] = pa.FixedSizeListArray.from_arrays(flat, GRID_NPIX)
        else:
            cols[c] = pa.array(df[c].to_numpy())
    return pa.table(cols)


def _partition_order(files, *, target_rows=1500, max_order=8):
    """The HEALPix order whose occupied pixels hold about ``target_rows`` galaxies each."""
    import pyarrow.parquet as pq
    from hats.pixel_math.healpix_shim import radec2pix

    ra = np.concatenate([pq.read_table(f, columns=["ra"])["ra"].to_numpy() for f in files])
    dec = np.concatenate([pq.read_table(f, columns=["dec"])["dec"].to_numpy() for f in files])
    order = 0
    for k in range(max_order + 1):
        counts = np.unique(radec2pix(k, ra, dec), return_counts=True)[1]
        if np.median(counts) < target_rows:
            break
        order = k
    return order


def _chunk_frame(files):
    """Chunk files as one DataFrame with Arrow-backed (fixed-size list) spectrum columns."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.concat_tables([pq.read_table(f) for f in files])
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def write_hats(path, files, n_workers, *, group_rows=20_000, properties=None):
    """Partition the chunk files into a HATS catalog with lsdb.

    Groups of chunks (about ``group_rows`` galaxies, a bounded amount of memory) are each turned
    into a catalog with :func:`lsdb.from_dataframe` at one fixed HEALPix order and written with
    ``write_catalog`` to a temporary folder; the groups are then joined pixel by pixel with
    ``Catalog.concat`` (lazily, from disk) and written once more as the final catalog.
    """
    import lsdb

    from specir.cluster import dask_client

    order = _partition_order(files)
    sizes = [_pq_rows(f) for f in files]
    groups, current, rows = [], [], 0
    for f, m in zip(files, sizes, strict=True):
        current.append(f)
        rows += m
        if rows >= group_rows:
            groups.append(current)
            current, rows = [], 0
    if current:
        groups.append(current)
    tmp = path.parent / f"{path.name}_tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    kwargs = dict(ra_column="ra", dec_column="dec", lowest_order=order, highest_order=order)
    props = dict(properties or {})
    with dask_client(workers=n_workers):
        if len(groups) == 1:
            cat = lsdb.from_dataframe(_chunk_frame(groups[0]), **kwargs)
        else:
            parts = []
            for i, group in enumerate(groups):
                lsdb.from_dataframe(_chunk_frame(group), **kwargs).write_catalog(
                    tmp / f"group_{i:04d}", catalog_name=f"group_{i}", as_collection=False
                )
                parts.append(lsdb.open_catalog(tmp / f"group_{i:04d}"))
            cat = parts[0]
            for part in parts[1:]:
                cat = cat.concat(part)
        cat = cat.map_partitions(_sort_partition)
        cat.write_catalog(
            path,
            catalog_name=path.name,
            as_collection=False,
            addl_hats_properties=props,
        )
    shutil.rmtree(tmp, ignore_errors=True)


def _sort_partition(df):
    """Rows in spatial-index order (concatenated groups arrive one after the other)."""
    return df.sort_index(kind="stable")


def _pq_rows(path):
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows
