"""ADQL 2.1 string and conversion functions: LOWER, UPPER, COALESCE, CAST and IN_UNIT.

The ADQL 2.0 grammar reserves LOWER, UPPER, COALESCE and CAST, so :func:`specir.tap.grammar.parse`
renames their calls to per-query user-defined function names; ``IN_UNIT`` is an ordinary
user-defined function call. :class:`FunctionsMixin` (part of
:class:`specir.tap.translator.Translator`) emits their DuckDB SQL.

``IN_UNIT(column, 'unit')`` converts a column to another unit with the column's unit from the
schema and :mod:`astropy.units`, and refuses units that are not convertible (ADQL 2.1,
section 2.3.6).
"""

import math
import re
import warnings

import astropy.units as u

from specir.tap.grammar import ADQLError

__all__ = ["CAST_TYPES", "FunctionsMixin", "conversion_factor"]

CAST_TYPES = {
    "SMALLINT": "SMALLINT",
    "INTEGER": "INTEGER",
    "BIGINT": "BIGINT",
    "REAL": "REAL",
    "DOUBLE PRECISION": "DOUBLE",
    "CHAR": "VARCHAR",
    "VARCHAR": "VARCHAR",
    "TIMESTAMP": "TIMESTAMP",
}
"""ADQL 2.1 CAST target types (section 2.3.8) and the DuckDB type each becomes."""


def _unit(text, what):
    unit = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)
        for fmt in ("vounit", "generic"):
            try:
                unit = u.Unit(text, format=fmt, parse_strict="raise")
                break
            except ValueError:
                continue
    if unit is None:
        raise ADQLError(
            f"IN_UNIT: {what} {text!r} is not a unit", "write it in VOUnit, e.g. 'km/s'"
        )
    if not isinstance(unit, u.UnitBase) or u.dex in unit.decompose().bases:
        raise ADQLError(
            f"IN_UNIT: {what} {text!r} is logarithmic (mag, dex), which no factor converts",
            "convert logarithmic values with arithmetic, e.g. POWER(10, x)",
        )
    return unit


def conversion_factor(from_unit, to_unit):
    """The factor that converts values in ``from_unit`` to ``to_unit`` (VOUnit strings).

    Examples
    --------
    >>> conversion_factor("deg", "arcsec")
    3600.0
    >>> conversion_factor("deg", "km")
    Traceback (most recent call last):
    ...
    specir.tap.grammar.ADQLError: QUERY: IN_UNIT: a value in 'deg' cannot be converted to 'km'...
    """
    source = _unit(from_unit, "the column's unit")
    target = _unit(to_unit, "the unit")
    try:
        factor = float(source.to(target))
    except u.UnitsError:
        raise ADQLError(
            f"IN_UNIT: a value in {from_unit!r} cannot be converted to {to_unit!r} "
            "(the units measure different quantities)",
            f"pick a unit of the same kind as {from_unit!r}",
        ) from None
    if not math.isfinite(factor) or factor == 0:
        raise ADQLError(f"IN_UNIT: {from_unit!r} to {to_unit!r} has no finite factor")
    return factor


class FunctionsMixin:
    """Translation of the ADQL 2.1 functions of this module (see the module docstring)."""

    def adql_function(self, node):
        """SQL for a renamed or ``IN_UNIT`` call, or None for another user-defined function."""
        alias = node.getChild(0).getText().lower()
        name = self.functions.get(alias, alias.upper())
        params = self.kids(node, "user_defined_function_param")
        if name in ("LOWER", "UPPER"):
            self._arity(name, params, 1)
            return f"{name.lower()}({self.emit(params[0])})"
        if name == "COALESCE":
            if len(params) < 2:
                raise ADQLError("COALESCE needs at least two arguments", "COALESCE(a, b, ...)")
            return "coalesce(" + ", ".join(self.emit(p) for p in params) + ")"
        if name == "CAST":
            return self._cast(params)
        if name == "IN_UNIT":
            self._arity(name, params, 2)
            return self._in_unit(node, params)
        return None

    def function_label(self, text):
        """The ADQL name of a function as written in the query (for default column names)."""
        return self.functions.get(text.lower(), text)

    @staticmethod
    def _arity(name, params, n):
        if len(params) != n:
            raise ADQLError(f"{name} takes {n} argument{'s' * (n > 1)}, not {len(params)}")

    def _cast(self, params):
        lit = self.only_child_chain(params[-1], "character_string_literal") if params else None
        if len(params) != 2 or lit is None:
            raise ADQLError("CAST needs a target type", "write CAST(expression AS type)")
        words = lit.getText()[1:-1]
        m = re.fullmatch(r"(\w+(?: PRECISION)?)(?:\((\d+)\))?", words)
        base = m.group(1) if m else words
        if base not in CAST_TYPES or (m.group(2) and base not in ("CHAR", "VARCHAR")):
            known = ", ".join(CAST_TYPES)
            raise ADQLError(f"CAST to {words!r} is not supported", f"cast to one of {known}")
        sql = f"CAST({self.emit(params[0])} AS {CAST_TYPES[base]})"
        return f"left({sql}, {int(m.group(2))})" if m.group(2) else sql

    def _in_unit(self, node, params):
        ref = self.only_child_chain(params[0], "column_reference")
        lit = self.only_child_chain(params[1], "character_string_literal")
        if lit is None:
            raise ADQLError("IN_UNIT needs the unit as a string literal", "IN_UNIT(col, 'km/s')")
        column = self._column_info(ref) if ref is not None else None
        if column is None:
            raise ADQLError(
                "IN_UNIT needs a column whose unit the schema gives (TAP_SCHEMA.columns.unit)",
                "pass a column of a published table that has a unit, e.g. IN_UNIT(ra, 'arcsec')",
            )
        target = lit.getText()[1:-1]
        name, unit, ucd = column
        factor = conversion_factor(unit, target)
        self.unit_meta[id(node)] = (target, ucd, f"{name} converted from {unit} to {target}")
        return f"({self.emit(params[0])} * {factor!r})"

    def _column_info(self, ref):
        """``(name, unit, ucd)`` of a column reference with a unit, from the FROM scopes."""
        col = self.kids(ref, "column_name")[-1].getText().strip('"').lower()
        quals = self.kids(ref, "qualifier")
        for scope in reversed(self.scopes):
            aliases = scope["aliases"]
            if quals:
                infos = [aliases.get(self._alias_of_qualifier(quals[0]).strip('"'))]
            else:
                infos = list(aliases.values())
            hits = [i.column(col) for i in infos if i is not None and i.column(col) is not None]
            if hits:
                return hits[0]
        return None

    def _record_computed(self, expr, out_name):
        super()._record_computed(expr, out_name)
        call = self.only_child_chain(expr, "user_defined_function")
        if call is not None and id(call) in self.unit_meta:
            self.computed[out_name.lower()] = self.unit_meta[id(call)]
