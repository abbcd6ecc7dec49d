"""Definitions of the value-added catalog's columns: one place for names, units, UCDs, types.

The catalog job writes these definitions into the Parquet schema of the HATS catalog it
produces, and the TAP service (``specir serve``) reads them back to describe every column.

Metadata convention
-------------------
Each Arrow field of a catalog's Parquet schema may carry field-level key-value metadata with
the (UTF-8, byte-string) keys

``unit``
    The unit as a VOUnit string (``"mJy"``, ``"deg"``, ``"erg/s"``, ``"%"``); empty when
    dimensionless.
``ucd``
    The IVOA UCD1+ word list (``"phot.flux.density;em.IR.3-4um"``).
``description``
    One sentence a person can read.

The schema that counts is the one in the catalog's ``dataset/_common_metadata`` file (the
catalog-wide Parquet schema that HATS writes); :func:`write_column_metadata` rewrites that file
(and ``dataset/_metadata`` when present) with the annotations. Readers fall back to the
definitions in :data:`VAC_COLUMNS` for a known column name whose field carries no metadata.

Examples
--------
>>> COLUMNS["w1_flux"].unit, COLUMNS["w1_flux"].ucd
('mJy', 'phot.flux.density;em.IR.3-4um')
>>> import pyarrow as pa
>>> schema = annotate_schema(pa.schema([("ra", pa.float64()), ("other", pa.int32())]))
>>> column_metadata(schema.field("ra"))["unit"]
'deg'
>>> column_metadata(schema.field("other"))
{'unit': '', 'ucd': '', 'description': ''}
"""

from dataclasses import dataclass
from pathlib import Path

from specir.bands import WISE_BANDS

__all__ = [
    "AGN_THRESHOLD",
    "COLUMNS",
    "IDENTITY_COLUMNS",
    "PREDICTION_COLUMNS",
    "VAC_COLUMNS",
    "ColumnDef",
    "annotate_schema",
    "column_metadata",
    "write_column_metadata",
]

METADATA_KEYS = ("unit", "ucd", "description")


@dataclass(frozen=True)
class ColumnDef:
    """One column of the value-added catalog."""

    name: str
    """Column name."""
    dtype: str
    """Arrow/NumPy type name (``"int64"``, ``"float64"``, ``"float32"``)."""
    unit: str
    """VOUnit string; empty when dimensionless."""
    ucd: str
    """IVOA UCD1+."""
    description: str
    """Human-readable description."""


def _band_columns():
    out = []
    for b in WISE_BANDS:
        em, what = b.ucd, b.label
        for quantity, unit, ucd, noun in (
            ("flux", "mJy", "phot.flux.density", "flux density"),
            ("mag", "mag", "phot.mag", "Vega magnitude"),
        ):
            out.append(
                ColumnDef(
                    f"{b.name}_{quantity}",
                    "float32",
                    unit,
                    f"{ucd};{em}",
                    f"Predicted {what} {noun}",
                )
            )
            out.append(
                ColumnDef(
                    f"{b.name}_{quantity}_err",
                    "float32",
                    unit,
                    f"stat.error;{ucd};{em}",
                    f"1-sigma uncertainty of the predicted {what} {noun}",
                )
            )
        out.append(
            ColumnDef(
                f"{b.name}_mag_ci68",
                "float32",
                "mag",
                f"stat.error;phot.mag;{em}",
                f"Half-width of the central 68% predictive interval of the {what} Vega magnitude "
                f"({b.name}_mag +- {b.name}_mag_ci68; narrower than the 1-sigma error where the "
                "residuals are heavy-tailed)",
            )
        )
    # catalog order: all fluxes (with errors) first, then all magnitudes
    return sorted(out, key=lambda c: ("_mag" in c.name, c.name[:2]))


def _colour(a, b):
    return ColumnDef(
        f"{a.name}_{b.name}",
        "float32",
        "mag",
        f"phot.color;{a.ucd};{b.ucd}",
        f"Predicted {a.name.upper()}-{b.name.upper()} colour",
    )


AGN_THRESHOLD = 0.5
"""``log_lagn`` is reported where ``p_agn >= AGN_THRESHOLD`` and is NaN elsewhere.

The more-likely-than-not decision of the AGN head, a classifier trained with binary cross-entropy
on a visible AGN (:data:`AGN_VISIBLE_SHARE`; see :func:`specir.likelihood.ir_loss`).
"""

AGN_VISIBLE_SHARE = 0.1
"""An AGN counts as present (``p_agn``'s label) where it supplies at least this share of the
noise-free light in one of the WISE bands (``agn_ir_share_true`` of a simulated survey). A
fainter AGN leaves the infrared as its host makes it, and its luminosity is not constrained.
Surveys without the share (simulated before it existed) count every AGN."""

IDENTITY_COLUMNS = (
    ColumnDef("id", "int64", "", "meta.id;meta.main", "Object identifier"),
    ColumnDef("ra", "float64", "deg", "pos.eq.ra;meta.main", "Right ascension (ICRS)"),
    ColumnDef("dec", "float64", "deg", "pos.eq.dec;meta.main", "Declination (ICRS)"),
    ColumnDef("z", "float64", "", "src.redshift", "Spectroscopic redshift"),
)
"""The columns that say which galaxy a row is (copied from the input catalog)."""

VAC_COLUMNS = (
    *IDENTITY_COLUMNS,
    *_band_columns(),
    _colour(WISE_BANDS[0], WISE_BANDS[1]),
    _colour(WISE_BANDS[1], WISE_BANDS[2]),
    ColumnDef(
        "p_agn",
        "float32",
        "",
        "stat.probability;src.class",
        "Predicted probability that an active galactic nucleus contributes to the spectrum",
    ),
    ColumnDef(
        "log_lagn",
        "float32",
        "log(erg/s)",
        "phys.luminosity",
        "Predicted log10 AGN bolometric luminosity, given an AGN; "
        f"NaN where p_agn < {AGN_THRESHOLD:g}",
    ),
    ColumnDef(
        "log_lagn_err",
        "float32",
        "dex",
        "stat.error;phys.luminosity",
        "1-sigma uncertainty of log_lagn",
    ),
    ColumnDef(
        "q_pah",
        "float32",
        "%",
        "phys.abund;phys.composition",
        "Predicted PAH mass fraction q_PAH of the dust",
    ),
    ColumnDef("q_pah_err", "float32", "%", "stat.error;phys.abund", "1-sigma uncertainty of q_pah"),
    ColumnDef(
        "flags",
        "int64",
        "",
        "meta.code.qual",
        "Quality bits (specir.Flags); 0 means clean",
    ),
)
"""The value-added columns, in catalog order."""

COLUMNS = {c.name: c for c in VAC_COLUMNS}
""":data:`VAC_COLUMNS` by name."""

PREDICTION_COLUMNS = tuple(c.name for c in VAC_COLUMNS[len(IDENTITY_COLUMNS) :])
"""Names of the predicted columns, in order: the columns of ``predict_ir``'s table."""


def column_metadata(field) -> dict[str, str]:
    """Unit, UCD and description of one Arrow field (``""`` where unknown).

    Field metadata wins; a known value-added column name without metadata falls back to
    :data:`COLUMNS`.
    """
    meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
    known = COLUMNS.get(field.name)
    out = {}
    for key in METADATA_KEYS:
        value = meta.get(key)
        if value is None and known is not None:
            value = getattr(known, key)
        out[key] = value or ""
    return out


def annotate_schema(schema, definitions: "dict[str, ColumnDef] | None" = None):
    """Return ``schema`` with unit/UCD/description field metadata for the columns it knows.

    Parameters
    ----------
    schema : pyarrow.Schema
    definitions : mapping of str to ColumnDef, optional
        Defaults to :data:`COLUMNS`.
    """
    definitions = COLUMNS if definitions is None else definitions
    fields = []
    for field in schema:
        d = definitions.get(field.name)
        if d is not None:
            meta = dict(field.metadata or {})
            meta.update({k.encode(): getattr(d, k).encode() for k in METADATA_KEYS})
            field = field.with_metadata(meta)
        fields.append(field)
    import pyarrow as pa

    return pa.schema(fields, metadata=schema.metadata)


def write_column_metadata(
    catalog_dir: str | Path, definitions: "dict[str, ColumnDef] | None" = None
) -> None:
    """Write the column annotations into a HATS catalog's ``dataset/_common_metadata``.

    Parameters
    ----------
    catalog_dir : str or path-like
        The HATS catalog directory (the one holding ``hats.properties``).
    definitions : mapping of str to ColumnDef, optional
        Defaults to :data:`COLUMNS`.
    """
    import pyarrow.parquet as pq

    from specir.errors import SpecIRInputError

    dataset = Path(catalog_dir) / "dataset"
    common = dataset / "_common_metadata"
    if not common.exists():
        raise SpecIRInputError(
            "catalog_dir",
            f"has no {common}",
            "pass the HATS catalog directory (the one with hats.properties), not a collection",
        )
    pq.write_metadata(annotate_schema(pq.read_schema(common), definitions), common)
