"""Published tables: HATS catalogs read from disk, and the TAP_SCHEMA that describes them.

A catalog's columns, their types and their unit/UCD/description come from the Arrow schema in
the catalog's ``dataset/_common_metadata`` (see :mod:`specir.columns` for the convention).
"""

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from specir.columns import column_metadata
from specir.dataset import open_hats
from specir.errors import SpecIRInputError

__all__ = [
    "CatalogSpec",
    "ColumnInfo",
    "PublishedTable",
    "load_catalog",
    "parse_catalog_spec",
    "schema_description",
    "tap_schema_tables",
    "votable_type",
]

log = logging.getLogger(__name__)

HIDDEN_COLUMNS = {"_healpix_29", "Norder", "Dir", "Npix"}
"""HATS bookkeeping columns that are not published."""


def votable_type(arrow_type):
    """VOTable ``(datatype, arraysize, xtype)`` of an Arrow type.

    Examples
    --------
    >>> import pyarrow as pa
    >>> votable_type(pa.float32()), votable_type(pa.string())
    (('float', None, None), ('char', '*', None))
    """
    t = arrow_type
    if pa.types.is_boolean(t):
        return "boolean", None, None
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return "short", None, None
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return "int", None, None
    if pa.types.is_integer(t):
        return "long", None, None
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return "float", None, None
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "double", None, None
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "char", "*", "timestamp"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        inner = votable_type(t.value_type)
        if inner[1] is None:
            return inner[0], "*", None
    return "char", "*", None


ADQL_RESERVED = {"size", "date", "time", "timestamp", "value", "position", "user", "first", "last"}


def adql_name(name):
    """The column name as published: ADQL reserved words are delimited (``"size"``)."""
    return f'"{name}"' if name.lower() in ADQL_RESERVED else name


@dataclass(frozen=True)
class ColumnInfo:
    """One published column."""

    name: str
    arrow_type: pa.DataType
    unit: str = ""
    ucd: str = ""
    description: str = ""
    principal: bool = False
    indexed: bool = False

    @property
    def datatype(self):
        return votable_type(self.arrow_type)[0]

    @property
    def arraysize(self):
        return votable_type(self.arrow_type)[1]

    @property
    def xtype(self):
        return votable_type(self.arrow_type)[2]


@dataclass
class PublishedTable:
    """A table queryable through TAP."""

    name: str
    """Qualified name, lower case (``specir.vac``)."""
    columns: list
    description: str = ""
    ra_column: str | None = None
    dec_column: str | None = None
    root: Path | None = None
    catalog: object = None
    """The ``hats`` catalog object (None for TAP_SCHEMA tables)."""
    data: pa.Table | None = None
    """Rows of an in-memory table (TAP_SCHEMA)."""
    nrows: int | None = None
    """Number of rows (from the HATS properties), if known."""
    _by_name: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._by_name = {c.name.lower(): c for c in self.columns}

    @property
    def sql(self):
        schema, table = self.name.split(".")
        return f'"{schema}"."{table}"'

    @property
    def glob(self):
        return str(self.root / "dataset" / "**" / "*.parquet")

    def column(self, name):
        return self._by_name.get(name.lower())

    def select(self, files):
        """SQL selecting the published columns from a glob or a list of Parquet files."""
        cols = ", ".join(f'"{c.name}"' for c in self.columns)
        src = repr(files) if isinstance(files, str) else repr([str(f) for f in files])
        return f"SELECT {cols} FROM read_parquet({src}, hive_partitioning=false)"

    def files_for(self, regions):
        """Parquet files of the HEALPix partitions overlapping all ``regions`` (None: all)."""
        if self.catalog is None:
            return None
        from hats.io.paths import pixel_catalog_file

        pixels = None
        for region in regions:
            if region.shape == "circle":
                ra, dec, radius = region.params
                if radius >= 180 or radius <= 0:
                    continue
                sub = self.catalog.filter_by_cone(ra, dec, radius * 3600.0)
            else:
                sub = self.catalog.filter_by_polygon(list(region.params))
            found = set(sub.get_healpix_pixels())
            pixels = found if pixels is None else pixels & found
        if pixels is None:
            return None
        return [pixel_catalog_file(self.catalog.catalog_base_dir, p) for p in sorted(pixels)]

    def create(self, db):
        """Create an in-memory table (TAP_SCHEMA) in a DuckDB connection."""
        schema, _ = self.name.split(".")
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        db.register("_incoming", self.data)
        db.execute(f"CREATE TABLE {self.sql} AS SELECT * FROM _incoming")
        db.unregister("_incoming")


_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_SPEC = re.compile(rf"^({_NAME})\.({_NAME})=(.+)$")


@dataclass(frozen=True)
class CatalogSpec:
    """A catalog to publish: its directory and, if chosen, its schema and table name."""

    path: Path
    schema: str | None = None
    table: str | None = None


def parse_catalog_spec(spec):
    """A :class:`CatalogSpec` from ``"PATH"`` or ``"SCHEMA.TABLE=PATH"``.

    A plain path publishes the catalog under the default schema with the catalog's own name;
    ``SCHEMA.TABLE=PATH`` publishes it as ``schema.table`` (names are lower-cased).

    Examples
    --------
    >>> parse_catalog_spec("sdss_dr17.specobj=/data/x")
    CatalogSpec(path=PosixPath('/data/x'), schema='sdss_dr17', table='specobj')
    >>> parse_catalog_spec("/data/my=catalog").table is None
    True
    """
    if isinstance(spec, CatalogSpec):
        return spec
    if isinstance(spec, tuple):
        name, path = spec
        return parse_catalog_spec(f"{name}={path}")
    m = _SPEC.match(str(spec))
    if m is None:
        return CatalogSpec(Path(spec))
    schema, table, path = m.groups()
    if schema.lower() == "tap_schema":
        raise SpecIRInputError(
            "CATALOG", f"{spec!r} publishes into TAP_SCHEMA", "choose another schema name"
        )
    return CatalogSpec(Path(path), schema.lower(), table.lower())


def _catalog_dir(path):
    path = Path(path).resolve()
    if not path.exists():
        raise SpecIRInputError("CATALOG", f"{path} does not exist", "pass a HATS catalog directory")
    cat = open_hats(path, field="CATALOG")
    return Path(str(cat.catalog_base_dir)).resolve(), cat


def load_catalog(path, *, schema="specir", table=None):
    """Describe a HATS catalog (or collection) as a :class:`PublishedTable`.

    ``table`` names it (default: the catalog's own name, made an ADQL identifier).
    """
    root, cat = _catalog_dir(path)
    common = root / "dataset" / "_common_metadata"
    if common.exists():
        arrow_schema = pq.read_schema(common)
    else:
        arrow_schema = pq.read_schema(next((root / "dataset").rglob("*.parquet")))
    info = cat.catalog_info
    name = table or re.sub(r"[^a-z0-9_]", "_", info.catalog_name.lower())
    if not re.match(r"[a-z_]", name):
        name = "t_" + name
    ra, dec = info.ra_column, info.dec_column
    columns = []
    for f in arrow_schema:
        if f.name in HIDDEN_COLUMNS:
            continue
        meta = column_metadata(f)
        columns.append(
            ColumnInfo(
                f.name,
                f.type,
                meta["unit"],
                meta["ucd"],
                meta["description"],
                principal=f.name in ("id", ra, dec),
                indexed=f.name in (ra, dec),
            )
        )
    desc = (arrow_schema.metadata or {}).get(b"description", b"").decode() or (
        f"HATS catalog {info.catalog_name} ({info.total_rows} rows), HEALPix-partitioned"
    )
    log.info("publishing %s.%s from %s (%d columns)", schema, name, root, len(columns))
    table = PublishedTable(f"{schema}.{name}", columns, desc, ra, dec, root, cat)
    table.nrows = info.total_rows
    return table


_S = pa.string()
_TAP_SCHEMA = {
    "schemas": [
        ("schema_name", _S, "Fully qualified schema name"),
        ("utype", _S, "UType of the schema"),
        ("description", _S, "Brief description of the schema"),
        ("schema_index", pa.int32(), "Recommended sort order when listing schemas"),
    ],
    "tables": [
        ("schema_name", _S, "The schema name from TAP_SCHEMA.schemas"),
        ("table_name", _S, "Fully qualified table name"),
        ("table_type", _S, "One of: table, view"),
        ("utype", _S, "UType of the table"),
        ("description", _S, "Brief description of the table"),
        ("table_index", pa.int32(), "Recommended sort order when listing tables"),
    ],
    "columns": [
        ("table_name", _S, "Table name from TAP_SCHEMA.tables"),
        ("column_name", _S, "Column name"),
        ("utype", _S, "UType of the column"),
        ("ucd", _S, "UCD of the column"),
        ("unit", _S, "Unit in VO standard format"),
        ("description", _S, "Brief description of the column"),
        ("datatype", _S, "ADQL datatype as in section 2.5 of the TAP specification"),
        ("arraysize", _S, "Length of variable length datatypes"),
        ("xtype", _S, "A DALI or custom extended type annotation"),
        ("size", pa.int32(), "Length of variable length datatypes (deprecated)"),
        ("principal", pa.int32(), "A principal column; 1 means true, 0 false"),
        ("indexed", pa.int32(), "An indexed column; 1 means true, 0 false"),
        ("std", pa.int32(), "A standard column; 1 means true, 0 false"),
        ("column_index", pa.int32(), "Recommended sort order when listing columns"),
    ],
    "keys": [
        ("key_id", _S, "Unique key identifier"),
        ("from_table", _S, "Fully qualified table name"),
        ("target_table", _S, "Fully qualified table name"),
        ("utype", _S, "UType of the key"),
        ("description", _S, "Brief description of the key"),
    ],
    "key_columns": [
        ("key_id", _S, "Key identifier from TAP_SCHEMA.keys"),
        ("from_column", _S, "Key column name in the from_table"),
        ("target_column", _S, "Key column name in the target_table"),
    ],
}


TAP_SCHEMA_KEYS = [
    ("tap_schema.tables", "tap_schema.schemas", "schema_name", "schema_name"),
    ("tap_schema.columns", "tap_schema.tables", "table_name", "table_name"),
    ("tap_schema.keys", "tap_schema.tables", "from_table", "table_name"),
    ("tap_schema.keys", "tap_schema.tables", "target_table", "table_name"),
    ("tap_schema.key_columns", "tap_schema.keys", "key_id", "key_id"),
]


def schema_description(schema):
    """The description of a published schema (TAP_SCHEMA.schemas and VOSI tables).

    Examples
    --------
    >>> schema_description("tap_schema")
    'TAP metadata: the schemas, tables, columns and keys published here (TAP 1.1)'
    """
    if schema == "tap_schema":
        return "TAP metadata: the schemas, tables, columns and keys published here (TAP 1.1)"
    return f"HEALPix-partitioned (HATS) catalogs published by specir in schema {schema}"


def tap_schema_tables(tables):
    """The five TAP_SCHEMA tables describing ``tables`` and themselves."""
    tables = list(tables)
    meta = []
    for tname, cols in _TAP_SCHEMA.items():
        columns = [ColumnInfo(n, t, "", "", d, principal=True, indexed=False) for n, t, d in cols]
        meta.append(PublishedTable(f"tap_schema.{tname}", columns, f"TAP_SCHEMA {tname} (TAP 1.1)"))
    everything = tables + meta
    schemas = {t.name.split(".")[0] for t in everything}
    rows = {
        "schemas": [(s, None, schema_description(s), i) for i, s in enumerate(sorted(schemas))],
        "tables": [
            (t.name.split(".")[0], t.name, "table", None, t.description, i)
            for i, t in enumerate(everything)
        ],
        "columns": [
            (
                t.name,
                adql_name(c.name),
                None,
                c.ucd or None,
                c.unit or None,
                c.description or None,
                c.datatype,
                c.arraysize,
                c.xtype,
                None,
                int(c.principal),
                int(c.indexed),
                int(t.name.startswith("tap_schema.")),
                j,
            )
            for t in everything
            for j, c in enumerate(t.columns)
        ],
        "keys": [
            (f"ts{i}", f, tt, None, "TAP_SCHEMA link")
            for i, (f, tt, _, _) in enumerate(TAP_SCHEMA_KEYS)
        ],
        "key_columns": [(f"ts{i}", fc, tc) for i, (_, _, fc, tc) in enumerate(TAP_SCHEMA_KEYS)],
    }
    for t in meta:
        cols = _TAP_SCHEMA[t.name.split(".")[1]]
        schema = pa.schema([(n, ty) for n, ty, _ in cols])
        data = rows[t.name.split(".")[1]]
        arrays = list(zip(*data, strict=True)) if data else [[] for _ in cols]
        t.data = pa.table(
            [pa.array(list(a), type=ty) for a, (_, ty, _) in zip(arrays, cols, strict=True)],
            schema=schema,
        )
        t.nrows = t.data.num_rows
    return meta
