"""VOSI and DALI documents: capabilities (with TAPRegExt), tables, availability, examples, and
the landing page. Every URL in them starts with the configured public base URL."""

from xml.sax.saxutils import escape, quoteattr

from specir.tap.functions import conversion_factor
from specir.tap.grammar import ADQLError
from specir.tap.schema import TAP_SCHEMA_KEYS, adql_name

__all__ = ["availability", "capabilities", "example_queries", "examples", "landing", "tables"]

_XML = '<?xml version="1.0" encoding="UTF-8"?>\n'
_GEO = ("POINT", "CIRCLE", "BOX", "POLYGON", "CONTAINS", "INTERSECTS", "DISTANCE", "AREA")
_GEO += ("COORD1", "COORD2", "COORDSYS")
_FORMATS = (
    ("output-votable-binary2", "application/x-votable+xml", "votable"),
    ("output-votable-td", "application/x-votable+xml;serialization=TABLEDATA", "votable/td"),
    (None, "text/csv", "csv"),
)


def _access(base, path, use="full"):
    return f'<accessURL use="{use}">{escape(base)}/{path}</accessURL>'


def _cap(std, base, path):
    return (
        f'<capability standardID="{std}"><interface xsi:type="vs:ParamHTTP">'
        f"{_access(base, path)}</interface></capability>"
    )


def _tap_capability(base, engine_cfg, server_cfg):
    limits = server_cfg.limits
    geo = "".join(f"<feature><form>{g}</form></feature>" for g in _GEO)
    formats = "".join(
        "<outputFormat"
        + (f' ivo-id="ivo://ivoa.net/std/TAPRegExt#{i}"' if i else "")
        + f"><mime>{escape(m)}</mime><alias>{a}</alias></outputFormat>"
        for i, m, a in _FORMATS
    )
    return (
        '<capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">'
        '<interface xsi:type="vs:ParamHTTP" role="std" version="1.1">'
        f'<accessURL use="base">{escape(base)}</accessURL></interface>'
        "<language><name>ADQL</name>"
        '<version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version>'
        "<description>ADQL 2.0 with the ADQL 2.1 comments, Unicode literals and identifiers, "
        "numeric literal forms, OFFSET, ILIKE, LOWER, UPPER, COALESCE, CAST and IN_UNIT; "
        "geometry on the ICRS sphere</description>"
        f'<languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-adqlgeo">{geo}'
        "</languageFeatures></language>"
        f"{formats}"
        '<uploadMethod ivo-id="ivo://ivoa.net/std/TAPRegExt#upload-inline"/>'
        '<uploadMethod ivo-id="ivo://ivoa.net/std/TAPRegExt#upload-http"/>'
        '<uploadMethod ivo-id="ivo://ivoa.net/std/TAPRegExt#upload-https"/>'
        f"<retentionPeriod><default>{int(limits.retention_s)}</default>"
        f"<hard>{int(limits.max_retention_s)}</hard></retentionPeriod>"
        f"<executionDuration><default>{int(engine_cfg.timeout_s)}</default>"
        f"<hard>{int(engine_cfg.timeout_s)}</hard></executionDuration>"
        f'<outputLimit><default unit="row">{engine_cfg.default_maxrec}</default>'
        f'<hard unit="row">{engine_cfg.max_maxrec}</hard></outputLimit>'
        f'<uploadLimit><hard unit="byte">{server_cfg.max_upload_bytes}</hard></uploadLimit>'
        "</capability>"
    )


def capabilities(base, engine_cfg, server_cfg):
    """The VOSI capabilities document (limits from the engine and server configurations)."""
    return (
        f"{_XML}"
        '<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
        'xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0">'
        + _tap_capability(base, engine_cfg, server_cfg)
        + _cap("ivo://ivoa.net/std/VOSI#capabilities", base, "capabilities")
        + _cap("ivo://ivoa.net/std/VOSI#availability", base, "availability")
        + _cap("ivo://ivoa.net/std/VOSI#tables-1.1", base, "tables")
        + _cap("ivo://ivoa.net/std/DALI#examples", base, "examples")
        + _cap("ivo://ivoa.net/std/ConeSearch", base, "scs?")
        + "</vosi:capabilities>\n"
    )


def availability(available, note):
    """The VOSI availability document."""
    return (
        f"{_XML}"
        '<avail:availability xmlns:avail="http://www.ivoa.net/xml/VOSIAvailability/v1.0">'
        f"<avail:available>{'true' if available else 'false'}</avail:available>"
        f"<avail:note>{escape(note)}</avail:note></avail:availability>\n"
    )


def _column(c):
    out = [f"<column><name>{escape(adql_name(c.name))}</name>"]
    if c.description:
        out.append(f"<description>{escape(c.description)}</description>")
    if c.unit:
        out.append(f"<unit>{escape(c.unit)}</unit>")
    if c.ucd:
        out.append(f"<ucd>{escape(c.ucd)}</ucd>")
    size = f' arraysize="{c.arraysize}"' if c.arraysize else ""
    out.append(f'<dataType xsi:type="vod:VOTableType"{size}>{c.datatype}</dataType>')
    out += ["<flag>indexed</flag>"] if c.indexed else []
    out += ["<flag>principal</flag>"] if c.principal else []
    return "".join(out) + "</column>"


def _table(t):
    out = [
        f'<table type="table"><name>{escape(t.name)}</name>'
        f"<description>{escape(t.description)}</description>"
    ]
    if t.nrows is not None:
        out.append(f"<nrows>{int(t.nrows)}</nrows>")
    out += [_column(c) for c in t.columns]
    for src, target, fcol, tcol in TAP_SCHEMA_KEYS:
        if src == t.name:
            out.append(
                f"<foreignKey><targetTable>{target}</targetTable><fkColumn>"
                f"<fromColumn>{fcol}</fromColumn><targetColumn>{tcol}</targetColumn>"
                "</fkColumn></foreignKey>"
            )
    return "".join(out) + "</table>"


def tables(engine, schema_descriptions):
    """The VOSI tableset (units, UCDs, descriptions, row counts, foreign keys)."""
    by_schema = {}
    for t in engine.tables.values():
        by_schema.setdefault(t.name.split(".")[0], []).append(t)
    out = [
        f"{_XML}"
        '<vosi:tableset xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0" '
        'xmlns:vod="http://www.ivoa.net/xml/VODataService/v1.1" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    ]
    for schema, members in by_schema.items():
        desc = schema_descriptions.get(schema, "")
        out.append(f"<schema><name>{escape(schema)}</name>")
        out.append(f"<description>{escape(desc)}</description>" if desc else "")
        out += [_table(t) for t in members]
        out.append("</schema>")
    out.append("</vosi:tableset>\n")
    return "".join(out)


def _unit_example(t, point):
    """An IN_UNIT example, when the table's position columns have a unit convertible to arcsec."""
    column = t.column(t.ra_column)
    try:
        conversion_factor(column.unit, "arcsec")
    except ADQLError:
        return []
    return [
        (
            "units",
            "Positions in arcseconds",
            "IN_UNIT converts a column to another unit, using the unit the schema gives it.",
            f"SELECT TOP 10 IN_UNIT({t.ra_column}, 'arcsec') AS ra_arcsec, "
            f"IN_UNIT({t.dec_column}, 'arcsec') AS dec_arcsec FROM {t.name} "
            f"WHERE 1 = CONTAINS({point}, CIRCLE('ICRS', 180.0, 2.5, 1.0))",
        )
    ]


def example_queries(engine):
    """(id, title, explanation, ADQL) of the examples, on the first published catalog."""
    t = next(t for t in engine.tables.values() if t.ra_column)
    ra, dec = t.ra_column, t.dec_column
    point = f"POINT('ICRS', {ra}, {dec})"
    return [
        (
            "cone",
            "Cone search with distances",
            "Rows within 1 degree of a position, nearest first (DISTANCE in degrees).",
            f"SELECT TOP 100 *, DISTANCE({point}, POINT('ICRS', 180.0, 2.5)) AS dist "
            f"FROM {t.name} WHERE 1 = CONTAINS({point}, CIRCLE('ICRS', 180.0, 2.5, 1.0)) "
            "ORDER BY dist",
        ),
        (
            "columns",
            "Columns with units and UCDs",
            "The TAP_SCHEMA lists every published column with its unit, UCD and description.",
            "SELECT column_name, unit, ucd, description FROM TAP_SCHEMA.columns "
            f"WHERE table_name = '{t.name}'",
        ),
        (
            "count",
            "Counting rows in a box",
            "How many rows lie in a 2 x 2 degree BOX.",
            f"SELECT COUNT(*) AS n FROM {t.name} "
            f"WHERE 1 = CONTAINS({point}, BOX('ICRS', 180.0, 2.5, 2.0, 2.0))",
        ),
        *_unit_example(t, point),
        (
            "upload",
            "Crossmatch with an uploaded table",
            "Upload a VOTable as TAP_UPLOAD.mine (columns ra, dec) and match within 5 arcsec.",
            f"SELECT m.ra AS ra_mine, m.dec AS dec_mine, t.* FROM TAP_UPLOAD.mine AS m "
            f"JOIN {t.name} AS t ON 1 = CONTAINS(POINT('ICRS', t.{ra}, t.{dec}), "
            "CIRCLE('ICRS', m.ra, m.dec, 5.0 / 3600.0))",
        ),
    ]


def examples(engine):
    """The DALI examples document (XHTML with RDFa), for ``/examples``."""
    parts = []
    for key, title, text, adql in example_queries(engine):
        parts.append(
            f'<div typeof="example" id="{key}" resource="#{key}">'
            f'<h2 property="name">{escape(title)}</h2><p>{escape(text)}</p>'
            f'<pre property="query">{escape(adql)}</pre></div>'
        )
    return (
        f"{_XML}"
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML+RDFa 1.1//EN" '
        '"http://www.w3.org/MarkUp/DTD/xhtml-rdfa-2.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" version="XHTML+RDFa 1.1">'
        "<head><title>specir TAP examples</title></head>"
        '<body vocab="http://www.ivoa.net/rdf/examples#"><h1>Example queries</h1>'
        + "".join(parts)
        + "</body></html>\n"
    )


def landing(base, title, description):
    """A small HTML page linking the service's resources."""
    links = ["sync", "async", "tables", "capabilities", "availability", "examples", "scs"]
    items = "".join(f"<li><a href={quoteattr(base + '/' + x)}>{escape(x)}</a></li>" for x in links)
    return (
        f"<html><head><title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
        f"<p>{escape(description)}</p><p>TAP URL: <code>{escape(base)}</code></p>"
        f"<ul>{items}</ul></body></html>"
    )
