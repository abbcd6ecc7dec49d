"""Query results and errors as VOTable 1.4 (BINARY2 or TABLEDATA) or CSV, via astropy."""

import io
import warnings
from xml.sax.saxutils import escape

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from specir.errors import SpecIRQueryError
from specir.tap.schema import votable_type

__all__ = ["FORMATS", "error_votable", "read_upload", "write_result"]

FORMATS = {
    "votable": ("application/x-votable+xml", "binary2"),
    "application/x-votable+xml": ("application/x-votable+xml", "binary2"),
    "text/xml": ("text/xml", "binary2"),
    "votable/b2": ("application/x-votable+xml;serialization=BINARY2", "binary2"),
    "application/x-votable+xml;serialization=binary2": (
        "application/x-votable+xml;serialization=BINARY2",
        "binary2",
    ),
    "votable/td": ("application/x-votable+xml;serialization=TABLEDATA", "tabledata"),
    "application/x-votable+xml;serialization=tabledata": (
        "application/x-votable+xml;serialization=TABLEDATA",
        "tabledata",
    ),
    "csv": ("text/csv", "csv"),
    "text/csv": ("text/csv", "csv"),
}
"""RESPONSEFORMAT values -> (content type, serialisation)."""

_NUMPY = {
    "boolean": bool,
    "short": np.int16,
    "int": np.int32,
    "long": np.int64,
    "float": np.float32,
    "double": np.float64,
}


def _column_array(col, datatype, arraysize):
    """A (data, mask) pair for one Arrow column, in the VOTable field's NumPy type."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    mask = col.is_null().to_numpy(zero_copy_only=False)
    if arraysize == "*" and datatype not in ("char", "unicodeChar"):
        data = np.empty(len(col), dtype=object)
        for i, v in enumerate(col.to_pylist()):
            data[i] = np.asarray([np.nan if x is None else x for x in (v or [])], _NUMPY[datatype])
        return data, mask
    if datatype in ("char", "unicodeChar"):
        if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
            col = pc.strftime(col, "%Y-%m-%dT%H:%M:%S")  # DALI timestamp form
        elif not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            col = pc.cast(col, pa.string())
        data = np.array([("" if v is None else v) for v in col.to_pylist()], dtype=object)
        return data, mask
    if pa.types.is_decimal(col.type):
        col = pc.cast(col, pa.float64())
    dtype = _NUMPY[datatype]
    if datatype == "boolean":
        data = np.asarray(col.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    elif datatype in ("float", "double"):
        data = np.asarray(col.to_numpy(zero_copy_only=False), dtype=dtype)
        data = np.where(mask, np.nan, data).astype(dtype)
    else:
        data = np.asarray(col.fill_null(0).to_numpy(zero_copy_only=False), dtype=dtype)
    return data, mask


def _ascii(col, col_type):
    """False for a string column holding a non-ASCII value."""
    if not (pa.types.is_string(col_type) or pa.types.is_large_string(col_type)):
        return True
    return pc.all(pc.string_is_ascii(col)).as_py() is not False


def _votable(result, infos):
    from astropy.io.votable.tree import Field, Info, Resource, TableElement, VOTableFile
    from astropy.units import UnrecognizedUnit

    vot = VOTableFile(version="1.4")
    res = Resource()
    res.type = "results"
    vot.resources.append(res)
    res.infos.append(Info(name="QUERY_STATUS", value="OK"))
    for name, value in infos:
        res.infos.append(Info(name=name, value=value))
    table = TableElement(vot)
    res.tables.append(table)
    names = set()
    for meta, col_type in zip(result.columns, result.table.schema.types, strict=True):
        datatype, arraysize, xtype = votable_type(col_type)
        if datatype == "char" and not _ascii(result.table.column(len(names)), col_type):
            datatype = "unicodeChar"  # VOTable char is ASCII only
        name = meta["name"] or "col"
        while name.lower() in names:
            name += "_"
        names.add(name.lower())
        f = Field(
            vot,
            name=name,
            ID=None,
            datatype=datatype,
            arraysize=arraysize,
            unit=None,
            ucd=meta["ucd"] or None,
            xtype=xtype,
        )
        if meta["unit"]:
            # keep the catalog's unit string as written (astropy would rewrite e.g. dex)
            f._unit = UnrecognizedUnit(meta["unit"])
        if meta["description"]:
            f.description = meta["description"]
        table.fields.append(f)
    n = result.table.num_rows
    table.create_arrays(n)
    for f, col in zip(table.fields, result.table.columns, strict=True):
        data, mask = _column_array(col, f.datatype, f.arraysize)
        if n:
            table.array.data[f.name] = data
            table.array.mask[f.name] = mask
    return vot


def write_result(result, serialization, *, infos=()):
    """Serialise a :class:`~specir.tap.engine.QueryResult` and return bytes."""
    if serialization == "csv":
        buf = io.BytesIO()
        table = result.table.rename_columns([c["name"] for c in result.columns])
        pacsv.write_csv(table, buf)
        return buf.getvalue()
    vot = _votable(result, infos)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vot.to_xml(buf, tabledata_format=serialization)
    xml = buf.getvalue()
    if result.overflow:
        marker = b"</TABLE>"
        at = xml.rfind(marker) + len(marker)
        xml = xml[:at] + b'\n<INFO name="QUERY_STATUS" value="OVERFLOW"/>' + xml[at:]
    return xml


def error_votable(message):
    """A VOTable error document (QUERY_STATUS=ERROR) with ``message``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        '<RESOURCE type="results">\n'
        f'<INFO name="QUERY_STATUS" value="ERROR">{escape(message)}</INFO>\n'
        "</RESOURCE>\n</VOTABLE>\n"
    ).encode()


def _timestamps(array):
    """ISO 8601 strings as an Arrow timestamp column (kept as strings if they do not parse)."""
    try:
        text = pc.replace_substring(array.cast(pa.string()), "T", " ")
        return pc.cast(text, pa.timestamp("ms"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return array


def read_upload(data, name, *, max_rows):
    """A pyarrow Table from an uploaded VOTable (``TAP_UPLOAD.name``); refuses bad ones.

    A column's unit is kept as the field metadata ``unit`` (for ``IN_UNIT``).
    """
    from astropy.io.votable import parse

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            element = parse(io.BytesIO(data)).get_first_table()
            table = element.to_table()
    except Exception as exc:  # astropy raises many types for a malformed document
        raise SpecIRQueryError(
            f"UPLOAD {name}", f"is not a readable VOTable ({type(exc).__name__})", "send VOTable"
        ) from None
    if len(table) > max_rows:
        raise SpecIRQueryError(
            f"UPLOAD {name}", f"has {len(table)} rows", f"upload at most {max_rows} rows"
        )
    xtypes = {f.name: f.xtype for f in element.fields}
    arrays, fields = [], []
    for col in table.itercols():
        values = np.ma.getdata(col)
        mask = np.ma.getmaskarray(col) if hasattr(col, "mask") else None
        if values.dtype.kind in "OSU":
            values = np.array([str(v) for v in values], dtype=object)
        elif values.ndim > 1:
            raise SpecIRQueryError(
                f"UPLOAD {name}", f"column {col.name} holds arrays", "upload scalar columns only"
            )
        array = pa.array(values, mask=mask)
        if xtypes.get(col.name) == "timestamp":
            array = _timestamps(array)
        arrays.append(array)
        unit = {"unit": col.unit.to_string()} if col.unit is not None else None
        fields.append(pa.field(col.name.lower(), array.type, metadata=unit))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
