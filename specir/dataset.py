"""Training data: a HATS catalog of spectra and WISE photometry read into arrays.

:class:`ColumnMap` names the catalog's columns (defaults: the agreed names, AllWISE for the
photometry), so a real SDSS × AllWISE crossmatch reads with the same code as the simulated
survey. :func:`read_catalog_arrays` reads partition by partition in Arrow batches and prepares
each batch with :func:`specir.spectra.prepare_grid_arrays`; :func:`split_labels` makes the
train/validation/test split by HEALPix pixel; :func:`targets_from` says which WISE values are
detections and which upper limits.
"""

from dataclasses import dataclass

import numpy as np

from specir.bands import BAND_NAMES, N_BANDS, mjy_to_mag
from specir.columns import AGN_VISIBLE_SHARE
from specir.constants import Z_RANGE
from specir.errors import SpecIRInputError

__all__ = [
    "ColumnMap",
    "catalog_properties",
    "grid_rows",
    "open_hats",
    "read_catalog_arrays",
    "split_labels",
    "targets_from",
    "true_targets",
    "visible_agn",
]

UGRIZ = "ugriz"
"""The SDSS broad bands of the total-magnitude columns."""
WISE_TARGETS = ("observed", "true")
"""What the WISE magnitude heads are fitted to (``TrainConfig.targets``; :func:`true_targets`)."""
TRUE_MAG_ERR = 1e-3
"""Magnitude error given to the noise-free simulated magnitudes (a detection needs one > 0)."""


@dataclass(frozen=True)
class ColumnMap:
    """Catalog column names (defaults: the agreed names, AllWISE for the photometry).

    A truth column set to ``""`` (or absent from the catalog) is treated as unavailable.
    """

    ra: str = "ra"
    dec: str = "dec"
    z: str = "z"
    flux: str = "flux"
    ivar: str = "ivar"
    mask: str = "mask"
    mag: tuple = tuple(f"{b}mpro" for b in BAND_NAMES)
    mag_err: tuple = tuple(f"{b}sigmpro" for b in BAND_NAMES)
    snr: tuple = tuple(f"{b}snr" for b in BAND_NAMES)
    log_lagn_true: str = "log_lagn_true"
    agn_type_true: str = "agn_type_true"
    agn_ir_share_true: str = "agn_ir_share_true"
    q_pah_true: str = "q_pah_true"
    flux_true: tuple = tuple(f"{b}_flux_true" for b in BAND_NAMES)
    ugriz: tuple = tuple(f"modelmag_{b}" for b in UGRIZ)
    total_mag: str = "modelmag_r"
    """Total r-band AB magnitude the model sees next to the spectrum (aperture correction)."""
    optical_truths: tuple = (
        "log_mstar_true",
        "log_sfr_true",
        "metallicity_true",
        "gas_metallicity_true",
        "av_true",
        "veldisp_true",
    )
    """Simulated truths that the optical light carries (only ``specir evaluate``'s ceiling)."""
    dust_truths: tuple = ("q_pah_true", "u_min_true", "gamma_true")
    """Simulated dust-emission truths, drawn with scatter the optical light does not carry."""

    def __post_init__(self):
        for name in ("mag", "mag_err", "snr", "flux_true", "ugriz"):
            value = tuple(getattr(self, name))
            want = len(UGRIZ) if name == "ugriz" else N_BANDS
            if len(value) != want:
                raise SpecIRInputError(
                    f"columns.{name}", f"has {len(value)} entries", f"give {want} column names"
                )
            object.__setattr__(self, name, value)
        for name in ("optical_truths", "dust_truths"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


def open_hats(path, *, field: str = "catalog"):
    """Open a HATS catalog (or the main catalog of a collection) with ``hats.read_hats``.

    Any failure to read it becomes a :class:`~specir.errors.SpecIRInputError` naming ``field``.
    """
    import hats

    try:
        cat = hats.read_hats(path)
    except Exception as exc:  # hats raises several types for a non-catalog
        raise SpecIRInputError(
            field,
            f"{path} is not a readable HATS catalog ({exc})",
            "pass the directory written by lsdb's write_catalog",
        ) from exc
    return getattr(cat, "main_catalog", cat)


def catalog_properties(path) -> dict:
    """The HATS catalog's properties (name, builder, creation date, provenance keys), as JSON."""
    info = open_hats(path).catalog_info
    props = info.model_dump(mode="json") if hasattr(info, "model_dump") else dict(vars(info))
    return {k: v for k, v in props.items() if v is not None}


def grid_rows(column, name: str, npix: int | None = None) -> np.ndarray:
    """An (n, npix) array from a list column of spectra (``npix``: the model grid's 3921).

    ``column`` is a pyarrow (chunked) array of lists or an Arrow-backed pandas Series, as lsdb
    and Parquet give them (flattened by Arrow, no per-row Python loop), or a pandas Series
    holding one array per row. A row that is null or of another length raises
    :class:`~specir.errors.SpecIRInputError` naming the column.
    """
    import pyarrow as pa

    from specir.grid import GRID_NPIX

    npix = GRID_NPIX if npix is None else npix
    arrow = getattr(getattr(column, "array", None), "__arrow_array__", None)
    if arrow is not None:
        column = arrow()
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    n = len(column)
    if isinstance(column, pa.Array):
        values = column.flatten().to_numpy(zero_copy_only=False)
    else:
        rows = [np.asarray(r).ravel() if r is not None else np.empty(0) for r in column]
        values = np.concatenate(rows) if rows else np.empty(0)
    if len(values) != n * npix:
        raise SpecIRInputError(
            f"column {name!r}",
            f"rows do not all hold {npix} values",
            "store spectra on the model grid (3921 pixels)",
        )
    return values.reshape(n, npix)


def visible_agn(agn_type, share):
    """The AGN label ``p_agn`` learns: 1 where an AGN supplies at least
    :data:`~specir.columns.AGN_VISIBLE_SHARE` of a WISE band's light, 0 where none does.

    NaN where the AGN type is unknown; where the share is (a survey simulated before it was
    stored), every AGN counts.

    Examples
    --------
    >>> visible_agn([0, 1, 2, 2, float("nan")], [0.0, 0.5, 0.01, float("nan"), 0.5])
    array([ 0.,  1.,  0.,  1., nan])
    """
    agn_type, share = np.asarray(agn_type, float), np.asarray(share, float)
    is_agn = np.nan_to_num(agn_type) > 0
    seen = np.where(np.isfinite(share), is_agn & (share >= AGN_VISIBLE_SHARE), is_agn)
    return np.where(np.isfinite(agn_type), seen.astype(float), np.nan)


def _float_col(table, name, n):
    if not name or name not in table.column_names:
        return np.full(n, np.nan)
    return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)


def _columns_to_read(cat, path, c):
    """The catalog columns to read: the needed ones (refused when absent) and the optional."""
    from hats.pixel_math.spatial_index import SPATIAL_INDEX_COLUMN

    schema_names = set(cat.schema.names) if cat.schema is not None else None
    needed = [c.ra, c.dec, c.z, c.flux, c.ivar, *c.mag, *c.mag_err, *c.snr]
    if schema_names is not None:
        missing = [n for n in needed if n not in schema_names]
        if missing:
            raise SpecIRInputError(
                "catalog columns",
                f"{missing} not in {path}",
                "set the [columns] mapping in the config",
            )
    optional = [
        c.mask,
        c.log_lagn_true,
        c.agn_type_true,
        c.agn_ir_share_true,
        c.q_pah_true,
        *c.flux_true,
        *c.ugriz,
        c.total_mag,
        *c.optical_truths,
        *c.dust_truths,
        SPATIAL_INDEX_COLUMN,
    ]
    read = needed + [n for n in optional if n and (schema_names is None or n in schema_names)]
    return list(dict.fromkeys(read))


def _prepare_batch(t, c, z_range):
    """One Arrow table of catalog rows as prepared arrays; rows without data are dropped."""
    from hats.pixel_math.spatial_index import SPATIAL_INDEX_COLUMN, compute_spatial_index

    from specir.grid import Flags
    from specir.spectra import prepare_grid_arrays, total_mag_array
    from specir.support import median_snr

    n = len(t)
    flux = grid_rows(t.column(c.flux), c.flux)
    ivar = grid_rows(t.column(c.ivar), c.ivar)
    mask = grid_rows(t.column(c.mask), c.mask) if c.mask in t.column_names else None
    z = _float_col(t, c.z, n)
    prep = prepare_grid_arrays(
        flux, ivar, z, mask=None if mask is None else mask != 0, z_range=z_range
    )
    keep = (np.asarray(prep.flags) & int(Flags.NO_DATA)) == 0
    if SPATIAL_INDEX_COLUMN in t.column_names:
        hp29 = t.column(SPATIAL_INDEX_COLUMN).to_numpy()
    else:
        hp29 = compute_spatial_index(_float_col(t, c.ra, n), _float_col(t, c.dec, n))
    part = {
        "flux": np.asarray(prep.flux, np.float32),
        "valid": np.asarray(prep.ivar) > 0,
        "spec_snr": median_snr(prep.flux, prep.ivar),
        "z": z,
        "norm": np.asarray(prep.norm, np.float64),
        "flags": np.asarray(prep.flags, np.int64),
        "hp29": np.asarray(hp29, np.int64),
        "r_mag": total_mag_array(_float_col(t, c.total_mag, n), n),
        "log_lagn_true": _float_col(t, c.log_lagn_true, n),
        "agn_type_true": _float_col(t, c.agn_type_true, n),
        "agn_visible_true": visible_agn(
            _float_col(t, c.agn_type_true, n), _float_col(t, c.agn_ir_share_true, n)
        ),
        "q_pah_true": _float_col(t, c.q_pah_true, n),
    }
    for key in ("mag", "mag_err", "snr", "ugriz", "flux_true", "optical_truths", "dust_truths"):
        part[key] = _truth_block(t, getattr(c, key), n)
    return {k: v[keep] for k, v in part.items()}


def read_catalog_arrays(
    path, columns=None, *, z_range=Z_RANGE, max_rows=0, batch_rows=2048, progress=True
) -> dict:
    """Read a HATS catalog into prepared arrays (columnar, partition by partition).

    Parameters
    ----------
    path : path-like
        The HATS catalog.
    columns : ColumnMap, optional
        Its column names (default: the agreed names).
    z_range : tuple of float
        Redshift range; rows outside it are flagged ``Z_OUT_OF_RANGE`` (and kept).
    max_rows : int
        Stop after this many usable rows (0: all), pixels in the catalog's order.
    batch_rows : int
        Rows per Arrow batch (bounds memory).

    Returns
    -------
    dict
        ``flux`` (n, npix) float32 normalised, ``valid`` (n, npix) bool, ``z``, ``norm``,
        ``flags``, ``hp29`` (spatial index), ``mag``/``mag_err``/``snr`` (n, bands), ``ugriz``
        (n, 5), ``r_mag`` (total r-band magnitude, NaN where missing or invalid),
        ``log_lagn_true``, ``agn_type_true``, ``agn_visible_true`` (:func:`visible_agn`),
        ``q_pah_true``, ``flux_true`` (n, bands),
        ``optical_truths`` and ``dust_truths`` (n, k); unavailable truths are NaN.
        Rows flagged ``NO_DATA`` are dropped.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from hats.io.paths import pixel_catalog_file
    from tqdm.auto import tqdm

    c = columns or ColumnMap()
    cat = open_hats(path)
    read = _columns_to_read(cat, path, c)
    parts, n_total = [], 0
    pixels = cat.get_healpix_pixels()
    for pixel in tqdm(pixels, desc="reading catalog", disable=not progress, unit="partition"):
        pf = pq.ParquetFile(str(pixel_catalog_file(cat.catalog_base_dir, pixel)))
        for batch in pf.iter_batches(batch_size=batch_rows, columns=read):
            parts.append(_prepare_batch(pa.Table.from_batches([batch]), c, z_range))
            n_total += len(parts[-1]["z"])
            if max_rows and n_total >= max_rows:
                break
        if max_rows and n_total >= max_rows:
            break
    if not parts:
        raise SpecIRInputError(
            "catalog", f"{path} holds no usable rows", "check the catalog and the column mapping"
        )
    data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if max_rows:
        data = {k: v[:max_rows] for k, v in data.items()}
    return data


def _truth_block(table, names, n):
    """(n, len(names)) float array of the columns ``names``; NaN where a column is absent."""
    return np.stack([_float_col(table, m, n) for m in names], 1) if names else np.empty((n, 0))


def _mix64(x):
    """splitmix64 finaliser: a fixed, platform-independent hash of uint64 values."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def split_labels(
    hp29, *, order: int = 5, fractions: tuple = (0.8, 0.1, 0.1), seed: int = 42
) -> np.ndarray:
    """Split label (0 train, 1 val, 2 test) of each row from its HEALPix pixel at ``order``.

    Every row of one pixel gets the same label, so no pixel is in two splits.

    Examples
    --------
    >>> hp = np.array([0, 1, 2**40, 2**40 + 5])  # rows 2 and 3 share an order-5 pixel
    >>> lab = split_labels(hp, order=5)
    >>> bool(lab[2] == lab[3])
    True
    """
    pixel = np.asarray(hp29, dtype=np.int64) >> (2 * (29 - order))
    h = _mix64(pixel.astype(np.uint64) ^ _mix64(np.uint64(seed)))
    u = (h >> np.uint64(11)).astype(np.float64) / float(2**53)
    edges = np.cumsum(fractions)[:2]
    return np.searchsorted(edges, u, side="right").astype(np.int8)


def targets_from(data: dict, *, snr_detect: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Detection / upper-limit masks from AllWISE-style columns."""
    mag, err, snr = data["mag"], data["mag_err"], data["snr"]
    detected = np.isfinite(mag) & np.isfinite(err) & (err > 0) & ~(snr < snr_detect)
    upper = np.isfinite(mag) & ~detected
    return detected, upper


def true_targets(data: dict) -> dict:
    """``data`` with the WISE measurements replaced by the noise-free simulated magnitudes.

    On a simulated survey the heads can be fitted to ``wN_flux_true`` instead of the noisy,
    detection-limited measurements (``TrainConfig.targets = "true"``): every galaxy counts as
    detected, with error :data:`TRUE_MAG_ERR`. The other arrays are shared, not copied.

    Examples
    --------
    >>> data = {"mag": np.full((2, 4), 16.0), "mag_err": np.full((2, 4), 0.5),
    ...         "snr": np.full((2, 4), 1.0), "flux_true": [[309.54, 171.787, 31.674, 8.363]] * 2}
    >>> out = true_targets(data)
    >>> out["mag"][0].round(2).tolist(), bool(targets_from(out)[0].all())
    ([7.5, 7.5, 7.5, 7.5], True)
    >>> bool(targets_from(data)[0].any())  # S/N 1: every measurement an upper limit
    False
    """
    true = np.asarray(data.get("flux_true", np.full((1, N_BANDS), np.nan)), float)
    if not np.isfinite(true).any():
        raise SpecIRInputError(
            "targets",
            'is "true" but the catalog has no simulated true fluxes (wN_flux_true)',
            'use targets = "observed", or train on a simulated survey',
        )
    mag = mjy_to_mag(true)
    ok = np.isfinite(mag)
    return {
        **data,
        "mag": mag,
        "mag_err": np.where(ok, TRUE_MAG_ERR, np.nan),
        "snr": np.where(ok, np.inf, np.nan),
    }
