"""ADQL to DuckDB SQL: the entry point (:func:`translate`) and what it returns.

The text is checked and read by :mod:`specir.tap.grammar`, emitted by
:class:`specir.tap.translator.Translator` (geometry in :mod:`specir.tap.translator_geometry`,
sphere arithmetic in :mod:`specir.tap.geometry`). A single statement is accepted; the parser
must consume the whole text. :func:`translate_template` does the CPU-heavy part and returns
picklable SQL with one placeholder per table read, so that it can run in a parse worker
process; :meth:`Translation.render` fills the placeholders (HEALPix pruning) afterwards.

Examples
--------
>>> tables = {"cat.t": TableInfo("cat.t", '"cat"."t"', "ra", "dec")}
>>> tr = translate("SELECT TOP 3 id FROM cat.t WHERE z > 0.1", tables)
>>> tr.sql
'SELECT "id" FROM "cat"."t" AS "t" WHERE "z" > 0.1 LIMIT 3'
"""

from dataclasses import dataclass, field

from specir.tap.geometry import MACROS, Region
from specir.tap.grammar import MAX_CHARS, MAX_DEPTH, ADQLError, parse, prepare
from specir.tap.translator import Translator, source_placeholder

__all__ = [
    "MACROS",
    "ADQLError",
    "Region",
    "TableInfo",
    "Translation",
    "translate",
    "translate_template",
]


@dataclass(frozen=True)
class TableInfo:
    """A published table, as the translator sees it."""

    name: str
    """Qualified ADQL name, lower case (``"specir.vac"``)."""
    sql: str
    """The DuckDB relation it reads (``'"specir"."vac"'``)."""
    ra_column: str | None = None
    """Column holding ICRS right ascension (enables HEALPix pruning), if any."""
    dec_column: str | None = None
    """Column holding ICRS declination."""
    units: tuple = ()
    """``(column name in lower case, unit, ucd)`` of each column with a unit (for IN_UNIT)."""

    def column(self, name):
        """The ``(name, unit, ucd)`` of a column with a unit, or None."""
        return next((c for c in self.units if c[0] == name.lower()), None)


@dataclass
class Translation:
    """The result of :func:`translate` (or, with placeholders, :func:`translate_template`)."""

    sql: str
    tables: list = field(default_factory=list)
    """Published table names the query reads."""
    origins: dict = field(default_factory=dict)
    """Output column name (lower case) -> (table name or None, column name)."""
    computed: dict = field(default_factory=dict)
    """Output column name (lower case) -> (unit, ucd, description) of a computed column."""
    sources: list = field(default_factory=list)
    """(TableInfo, regions) of each table read, for the placeholders of a template."""

    @property
    def pruned(self):
        """True when every catalog table read is confined to a constant region."""
        return all(regions or info.ra_column is None for info, regions in self.sources)

    def render(self, source=None):
        """The translation with each table's relation filled in.

        ``source(table_info, regions) -> str`` gives the relation of a table whose rows the
        WHERE clause confines to ``regions`` (HEALPix pruning); without it, or without
        regions, the table's own relation is read.
        """
        sql = self.sql
        for i, (info, regions) in enumerate(self.sources):
            rel = source(info, list(regions)) if (regions and source is not None) else info.sql
            sql = sql.replace(source_placeholder(i), rel)
        return Translation(sql, self.tables, self.origins, self.computed, [])


def translate_template(adql, tables, *, max_chars=MAX_CHARS, max_depth=MAX_DEPTH):
    """Translate ADQL into DuckDB SQL with one placeholder per table read.

    Raises
    ------
    ADQLError
        For a syntax error, an unknown table or function, or an unsupported construct.
    """
    prepared = prepare(adql, max_chars=max_chars, max_depth=max_depth)
    tree, parser = parse(prepared)
    tr = Translator(parser, tables, prepared.literals, prepared.functions)
    try:
        sql = tr.emit(tree)
    except RecursionError:
        raise ADQLError("the query is nested too deeply", "simplify it") from None
    origins = {k: v for k, v in tr.origins.items() if v != (None, None)}
    return Translation(sql, tr.used, origins, tr.computed, tr.sources)


def translate(adql, tables, *, source=None):
    """Translate one ADQL query into DuckDB SQL.

    Parameters
    ----------
    adql : str
        The ADQL query (one SELECT statement; a trailing ``;`` is allowed).
    tables : mapping of str to TableInfo
        Published tables by lower-case qualified name (and, if wanted, bare name).
    source : callable, optional
        ``source(table_info, regions) -> str``: the DuckDB relation to read for a table whose
        rows the WHERE clause confines to the given :class:`Region` list (HEALPix pruning).

    Returns
    -------
    Translation

    Raises
    ------
    ADQLError
        For a syntax error, an unknown table or function, or an unsupported construct.
    """
    return translate_template(adql, tables).render(source)
