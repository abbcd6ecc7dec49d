"""The ADQL-to-DuckDB translator: statements, names, literals and functions.

Every node of the parse tree is emitted by rule: identifiers are quoted, table names are looked
up among the published tables (anything else is refused), only the ADQL functions are mapped
(no user-defined or engine function is reachable). Geometry is in
:mod:`specir.tap.translator_geometry`; the entry point is :func:`specir.tap.adql.translate`.
"""

from specir.tap.functions import FunctionsMixin
from specir.tap.grammar import ADQLError, is_term
from specir.tap.translator_geometry import GeometryMixin

__all__ = ["Translator", "source_placeholder"]

_MATH = {
    "ABS": "abs",
    "CEILING": "ceil",
    "DEGREES": "degrees",
    "EXP": "exp",
    "FLOOR": "floor",
    "LOG": "ln",
    "LOG10": "log10",
    "PI": "pi",
    "POWER": "pow",
    "RADIANS": "radians",
    "SQRT": "sqrt",
    "ACOS": "acos",
    "ASIN": "asin",
    "ATAN": "atan",
    "ATAN2": "atan2",
    "COS": "cos",
    "COT": "cot",
    "SIN": "sin",
    "TAN": "tan",
}


def source_placeholder(i):
    """The marker standing for the relation of the ``i``-th table read (filled in later)."""
    return f"\x00{i}\x00"


class Translator(FunctionsMixin, GeometryMixin):
    """Emits DuckDB SQL for one parse tree (use once per query)."""

    def __init__(self, parser, tables, literals=None, functions=None):
        self.names = parser.ruleNames
        self.tables = tables
        self.used = []
        self.ctes = set()
        self.origins = {}
        self.scopes = []  # per select_query: dict alias -> TableInfo, list of regions
        self.literals = literals or {}
        self.functions = functions or {}  # per-query name -> ADQL 2.1 function (grammar.parse)
        self.unit_meta = {}  # id(IN_UNIT call node) -> (unit, ucd, description)
        self.sources = []  # (TableInfo, regions) per table read; SQL holds placeholders
        self.computed = {}  # output name -> (unit, ucd, description) of computed columns

    # -- generic machinery -------------------------------------------------------------
    def rule(self, node):
        return self.names[node.getRuleIndex()]

    def emit(self, node):
        if is_term(node):
            text = node.getText()
            return self.literals.get(text, text)
        handler = getattr(self, "_" + self.rule(node), None)
        if handler is not None:
            return handler(node)
        return " ".join(s for s in (self.emit(c) for c in node.getChildren()) if s)

    def kids(self, node, name=None):
        out = [c for c in node.getChildren() if not is_term(c)]
        return out if name is None else [c for c in out if self.rule(c) == name]

    def find(self, node, name):
        """First descendant (or self) of rule ``name``, depth first."""
        if is_term(node):
            return None
        if self.rule(node) == name:
            return node
        for c in node.getChildren():
            hit = self.find(c, name)
            if hit is not None:
                return hit
        return None

    def only_child_chain(self, node, name):
        """The node of rule ``name`` reached by single-child steps from ``node``, or None."""
        while not is_term(node):
            if self.rule(node) == name:
                return node
            if node.getChildCount() != 1:
                return None
            node = node.getChild(0)
        return None

    # -- statements ----------------------------------------------------------------------
    def _query(self, node):
        return self.emit(node.getChild(0))

    def _with_query(self, node):
        name = self.kids(node, "query_name")[0]
        self.ctes.add(name.getText().lower())
        body = self.kids(node)[-1]
        return f'"{name.getText().lower()}" AS ({self.emit(body)})'

    def _query_specification(self, node):
        withs = self.kids(node, "with_query")
        for w in withs:
            self.ctes.add(self.kids(w, "query_name")[0].getText().lower())
        sel = self.emit(self.kids(node, "select_query")[0])
        if withs:
            return "WITH " + ", ".join(self.emit(w) for w in withs) + " " + sel
        return sel

    def _select_query(self, node):
        texpr = self.kids(node, "table_expression")[0]
        parts = {self.rule(c): c for c in self.kids(texpr)}
        self.scopes.append({"aliases": {}, "regions": self._regions(parts.get("where_clause"))})
        self.scopes[-1]["n_tables"] = self._count_tables(parts["from_clause"])
        try:
            out = ["SELECT"]
            quant = self.kids(node, "set_quantifier")
            if quant:
                out.append(quant[0].getText().upper())
            # FROM first so that aliases are known when the select list is emitted
            tail = [self.emit(parts["from_clause"])]
            for name in ("where_clause", "group_by_clause", "having_clause", "order_by_clause"):
                if name in parts:
                    tail.append(self.emit(parts[name]))
            out.append(self.emit(self.kids(node, "select_list")[0]))
            out.extend(tail)
            limit = self.kids(node, "set_limit")
            if limit:
                out.append("LIMIT " + str(int(limit[0].getChild(1).getText())))
            if "offset_clause" in parts:
                out.append("OFFSET " + str(int(parts["offset_clause"].getChild(1).getText())))
            return " ".join(out)
        finally:
            self.scopes.pop()

    def _count_tables(self, from_clause):
        count = 0

        def walk(n):
            nonlocal count
            if is_term(n) or self.rule(n) in ("subquery", "derived_table"):
                return
            if self.rule(n) == "table_name":
                count += 1
            for c in n.getChildren():
                walk(c)

        walk(from_clause)
        return count

    def _select_list(self, node):
        return ", ".join(self.emit(c) for c in self.kids(node)) if self.kids(node) else "*"

    def _select_sublist(self, node):
        if node.getChildCount() == 3:  # qualifier . *
            return self.emit(node.getChild(0)) + ".*"
        return self.emit(node.getChild(0))

    def _derived_column(self, node):
        expr = self.emit(node.getChild(0))
        as_clause = self.kids(node, "as_clause")
        ref = self.only_child_chain(node.getChild(0), "column_reference")
        if as_clause:
            name = self._ident(self.find(as_clause[0], "identifier"))
            out_name = name.strip('"')
        elif ref is not None:
            return expr + self._record_origin(ref, None)
        else:
            first = node.getChild(0)
            while not is_term(first):
                first = first.getChild(0)
            label = self.function_label(first.getText())
            base = label.lower() if label.replace("_", "").isalpha() else "col"
            out_name = base
            taken = self.origins
            i = 1
            while out_name in taken:
                i += 1
                out_name = f"{base}{i}"
            self.origins[out_name] = (None, None)
            name = f'"{out_name}"'
        if ref is not None:
            self._record_origin(ref, out_name)
        self._record_computed(node.getChild(0), out_name)
        return f"{expr} AS {name}"

    def _record_origin(self, ref, out_name):
        col = self.kids(ref, "column_name")[-1].getText().strip('"').lower()
        quals = self.kids(ref, "qualifier")
        table = None
        scope = self.scopes[-1]["aliases"] if self.scopes else {}
        if quals:
            info = scope.get(self._alias_of_qualifier(quals[0]).strip('"'))
            table = info.name if info else None
        elif len(scope) == 1:
            info = next(iter(scope.values()))
            table = info.name if info else None
        self.origins[(out_name or col).lower()] = (table, col)
        return ""

    # -- names ---------------------------------------------------------------------------
    def _ident(self, node):
        child = node.getChild(0)
        if self.rule(child) == "delimited_identifier":
            return self.literals.get(child.getText(), child.getText())
        return '"' + child.getText().lower() + '"'

    def _identifier(self, node):
        return self._ident(node)

    def _column_name(self, node):
        return self._ident(self.find(node, "identifier"))

    def _correlation_name(self, node):
        return self._ident(self.find(node, "identifier"))

    def _resolve(self, table_name):
        name = table_name.getText().replace('"', "").lower()
        if name in self.ctes:
            return name, None
        info = self.tables.get(name)
        if info is None:
            known = ", ".join(sorted(self.tables))
            raise ADQLError(
                f"table {name!r} does not exist", f"query one of the published tables: {known}"
            )
        if info.name not in self.used:
            self.used.append(info.name)
        return name, info

    def _alias_of_qualifier(self, qualifier):
        child = qualifier.getChild(0)
        if self.rule(child) == "table_name":
            return '"' + child.getText().replace('"', "").lower().split(".")[-1] + '"'
        return self.emit(child)

    def _qualifier(self, node):
        return self._alias_of_qualifier(node)

    def _column_reference(self, node):
        col = self.emit(self.kids(node, "column_name")[-1])
        quals = self.kids(node, "qualifier")
        return f"{self.emit(quals[0])}.{col}" if quals else col

    def _table_reference(self, node):
        first = node.getChild(0)
        if is_term(first) or self.rule(first) != "table_name":
            return " ".join(self.emit(c) for c in node.getChildren())
        name, info = self._resolve(first)
        corr = self.kids(node, "correlation_specification")
        alias = (
            self.emit(self.find(corr[0], "correlation_name"))
            if corr
            else '"' + name.split(".")[-1] + '"'
        )
        if self.scopes:
            self.scopes[-1]["aliases"][alias.strip('"')] = info
        if info is None:
            return f'"{name}" AS {alias}'
        regions = [
            r
            for q, ra, dec, r in (self.scopes[-1]["regions"] if self.scopes else [])
            if (q == alias.strip('"') or (q is None and self.scopes[-1]["n_tables"] == 1))
            and (ra, dec) == (info.ra_column, info.dec_column)
        ]
        self.sources.append((info, tuple(regions)))
        return f"{source_placeholder(len(self.sources) - 1)} AS {alias}"

    # -- literals and operators ----------------------------------------------------------
    def _unsigned_hexadecimal(self, node):
        return str(int(node.getText(), 16))

    def _comp_op(self, node):
        return "<>" if node.getText() == "!=" else node.getText()

    def _math_function(self, node):
        fname = node.getChild(0).getText().upper()
        args = [self.emit(c) for c in self.kids(node)]
        if fname == "MOD":
            return f"({args[0]} % {args[1]})"
        if fname == "RAND":
            return "random()"
        if fname == "ROUND":
            return f"round({args[0]}, {args[1] if len(args) > 1 else 0})"
        if fname == "TRUNCATE":
            digits = args[1] if len(args) > 1 else "0"
            return f"(trunc(({args[0]}) * pow(10, {digits})) / pow(10, {digits}))"
        return f"{_MATH[fname]}({', '.join(args)})"

    _trig_function = _math_function

    def _user_defined_function(self, node):
        fname = node.getChild(0).getText().upper()
        params = self.kids(node, "user_defined_function_param")
        if fname in ("COORD1", "COORD2") and len(params) == 1:
            inner = self.find(params[0], "geometry_value_expression")
            if inner is None:
                raise ADQLError(f"{fname} needs a POINT", f"write {fname}(POINT('ICRS', ra, dec))")
            geo = self.geometry(inner)
            if geo[0] != "point":
                raise ADQLError(f"{fname} needs a POINT", f"write {fname}(POINT('ICRS', ra, dec))")
            return f"({geo[1] if fname == 'COORD1' else geo[2]})"
        if fname == "COORDSYS" and len(params) == 1:
            return "'ICRS'"
        sql = self.adql_function(node)
        if sql is not None:
            return sql
        raise ADQLError(
            f"function {fname} is not available",
            "use the ADQL math, trigonometric, string, aggregate and geometry functions",
        )
