"""Database-engine errors rephrased in ADQL terms: no DuckDB message, setting or path reaches
a user. The engine's own text is logged for the operator."""

import logging
import re

import duckdb

from specir.errors import SpecIRQueryError, SpecIRServiceError

__all__ = ["engine_error"]

log = logging.getLogger(__name__)

_RULES = (
    (
        r'Referenced column "([^"]+)" not found',
        "column {0!r} does not exist in the tables of the FROM clause",
        "check its spelling (TAP_SCHEMA.columns lists every column) or qualify it",
    ),
    (
        r'Referenced table "([^"]+)" not found',
        "table or alias {0!r} is not in the FROM clause",
        "add it to FROM or use the alias given there",
    ),
    (
        r"Ambiguous reference to column name \"([^\"]+)\"",
        "column {0!r} is in more than one table of the FROM clause",
        "qualify it with its table or alias (t.{0})",
    ),
    (
        r"Division by zero",
        "a division (or MOD) by zero",
        "guard the divisor, e.g. CASE WHEN b <> 0 THEN a / b END",
    ),
    (
        r"logarithm of (zero|a negative number)",
        "LOG or LOG10 of {0}",
        "restrict the argument to positive values",
    ),
    (
        r"square root of a negative number",
        "SQRT of a negative number",
        "restrict the argument to values >= 0",
    ),
    (
        r"(ACOS|ASIN) is undefined outside",
        "{0} of a value outside [-1, 1]",
        "restrict the argument to [-1, 1]",
    ),
    (
        r"must appear in the GROUP BY clause|must be part of an aggregate",
        "a selected column is neither grouped nor aggregated",
        "add it to GROUP BY or wrap it in an aggregate (COUNT, AVG, MIN, MAX, SUM)",
    ),
    (
        r"No function matches|Could not choose a best candidate|Cannot compare values",
        "a function or operator got arguments of the wrong type",
        "compare numbers with numbers and strings with strings (CAST if needed)",
    ),
    (
        r"Could not convert|Conversion Error|Cannot cast|Could not cast",
        "a value could not be converted to the type the expression needs",
        "compare numbers with numbers and strings with strings",
    ),
    (
        r"Out of Range|out of range|Overflow",
        "a number is outside the range of its type",
        "use smaller values or a floating-point expression",
    ),
    (
        r"ORDER BY .* not in the select list|ORDER BY term out of range",
        "ORDER BY refers to something that is not selected",
        "order by a selected column or its position",
    ),
)


def engine_error(exc):
    """The :class:`~specir.errors.SpecIRError` to show for a DuckDB error.

    Examples
    --------
    >>> import duckdb
    >>> err = duckdb.BinderException('Binder Error: Referenced column "x" not found in FROM '
    ...                              'clause!')
    >>> str(engine_error(err))
    "QUERY: column 'x' does not exist in the tables of the FROM clause. Fix: check ..."
    """
    text = str(exc)
    log.info("engine refused a query: %s", text.splitlines()[0] if text else type(exc).__name__)
    if isinstance(exc, duckdb.OutOfMemoryException):
        return SpecIRServiceError(
            "the query needs more memory than the service allows: add constraints or TOP"
        )
    for pattern, problem, fix in _RULES:
        m = re.search(pattern, text)
        if m:
            groups = [g.lower() for g in m.groups()] if m.groups() else []
            return SpecIRQueryError("QUERY", problem.format(*groups), fix.format(*groups))
    return SpecIRQueryError(
        "QUERY",
        "the query could not be run (an unsupported combination of types or functions)",
        "simplify it; /tap/examples shows queries that work",
    )
