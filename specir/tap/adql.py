"""ADQL 2.0 to DuckDB SQL, by walking the parse tree of queryparser's ADQL grammar.

Every node of the parse tree is emitted by rule: identifiers are quoted, table names are looked
up among the published tables (anything else is refused), only the ADQL functions are mapped
(no user-defined or engine function is reachable), and the geometry functions are expanded into
spherical trigonometry. A single statement is accepted; the parser must consume the whole text.

Spherical meaning
-----------------
``DISTANCE`` is the great-circle distance (haversine) in degrees. ``CIRCLE`` contains the points
within its radius. ``POLYGON`` has great-circle edges and must be convex. ``BOX(c, ra, dec, w, h)``
is the convex polygon whose sides are great circles through the points at ``w/2`` and ``h/2``
from the centre along the RA and Dec directions (its corners in the gnomonic tangent plane at
the centre). Coordinates are ICRS degrees.

Examples
--------
>>> tables = {"cat.t": TableInfo("cat.t", '"cat"."t"', "ra", "dec")}
>>> tr = translate("SELECT TOP 3 id FROM cat.t WHERE z > 0.1", tables)
>>> tr.sql
'SELECT "id" FROM "cat"."t" AS "t" WHERE "z" > 0.1 LIMIT 3'
"""

import math
from dataclasses import dataclass, field

import antlr4
from antlr4.atn.PredictionMode import PredictionMode
from antlr4.error.ErrorListener import ErrorListener
from antlr4.error.Errors import ParseCancellationException
from antlr4.error.ErrorStrategy import BailErrorStrategy
from queryparser.adql.ADQLLexer import ADQLLexer
from queryparser.adql.ADQLParser import ADQLParser

__all__ = ["ADQLError", "Region", "TableInfo", "Translation", "translate"]


class ADQLError(ValueError):
    """An ADQL query that cannot be run; the message says what to change."""


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


@dataclass(frozen=True)
class Region:
    """A constant sky region that a query's rows must lie in (for HEALPix pruning)."""

    shape: str
    """``"circle"`` (``params`` = ra, dec, radius deg) or ``"polygon"`` (list of (ra, dec))."""
    params: tuple


@dataclass
class Translation:
    """The result of :func:`translate`."""

    sql: str
    tables: list = field(default_factory=list)
    """Published table names the query reads."""
    origins: dict = field(default_factory=dict)
    """Output column name (lower case) -> (table name or None, column name)."""


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

MACROS = (
    "CREATE OR REPLACE MACRO adql_distance(ra1, dec1, ra2, dec2) AS degrees(2 * asin(least(1.0, "
    "sqrt(pow(sin(radians(dec2 - dec1) / 2), 2) + cos(radians(dec1)) * cos(radians(dec2)) "
    "* pow(sin(radians(ra2 - ra1) / 2), 2)))))",
    "CREATE OR REPLACE MACRO adql_halfspace(ra, dec, nx, ny, nz) AS "
    "nx * cos(radians(dec)) * cos(radians(ra)) + ny * cos(radians(dec)) * sin(radians(ra)) "
    "+ nz * sin(radians(dec)) >= -1e-12",
)
"""DuckDB macros the generated SQL calls (create them once per database)."""


class _Raise(ErrorListener):
    def syntaxError(self, recognizer, offendingSymbol, line, column, msg, e):
        near = getattr(offendingSymbol, "text", None)
        where = f" near {near!r}" if near and near != "<EOF>" else ""
        raise ADQLError(f"ADQL syntax error at line {line}, column {column + 1}{where}: {msg}")


def _parse(adql):
    if not adql or not adql.strip():
        raise ADQLError("QUERY is empty: pass an ADQL SELECT statement")
    lexer = ADQLLexer(antlr4.InputStream(adql))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_Raise())
    tokens = antlr4.CommonTokenStream(lexer)
    tokens.fill()
    semis = [t for t in tokens.tokens if t.type == ADQLParser.SEMI]
    visible = [t for t in tokens.tokens if t.channel == 0 and t.type != antlr4.Token.EOF]
    if len(semis) > 1 or (semis and visible[-1] is not semis[0]):
        raise ADQLError("only one ADQL statement per query is allowed: remove the ';' chain")
    text = adql if semis else adql.rstrip() + ";"
    # two-stage parse: fast SLL prediction, then full LL (and its error message) on failure
    for mode in (PredictionMode.SLL, PredictionMode.LL):
        lexer = ADQLLexer(antlr4.InputStream(text))
        lexer.removeErrorListeners()
        lexer.addErrorListener(_Raise())
        stream = antlr4.CommonTokenStream(lexer)
        parser = ADQLParser(stream)
        parser.removeErrorListeners()
        parser._interp.predictionMode = mode
        if mode == PredictionMode.SLL:
            parser._errHandler = BailErrorStrategy()
        else:
            parser.addErrorListener(_Raise())
        try:
            tree = parser.query()
            break
        except ParseCancellationException:
            continue
    if stream.LA(1) != antlr4.Token.EOF:
        raise ADQLError("unexpected text after the end of the query: send a single SELECT")
    return tree, parser


def _is_term(node):
    return isinstance(node, antlr4.tree.Tree.TerminalNode)


def _const(node):
    try:
        return float(node.getText())
    except ValueError:
        return None


def _unit(ra, dec):
    ra, dec = math.radians(ra), math.radians(dec)
    return (math.cos(dec) * math.cos(ra), math.cos(dec) * math.sin(ra), math.sin(dec))


def _cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _box_vertices(ra, dec, w, h):
    """Corners of an ADQL BOX in the gnomonic tangent plane at its centre."""
    if not (0 < w < 180 and 0 < h < 180):
        raise ADQLError("BOX width and height must lie between 0 and 180 degrees")
    a0, d0 = math.radians(ra), math.radians(dec)
    out = []
    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        xi, eta = sx * math.tan(math.radians(w / 2)), sy * math.tan(math.radians(h / 2))
        den = math.cos(d0) - eta * math.sin(d0)
        a = a0 + math.atan2(xi, den)
        d = math.atan2(math.sin(d0) + eta * math.cos(d0), math.hypot(xi, den))
        out.append((math.degrees(a) % 360.0, math.degrees(d)))
    return out


def _normals(vertices):
    """Inward great-circle normals of a convex spherical polygon; refuses a concave one."""
    if len(vertices) < 3:
        raise ADQLError("a POLYGON needs at least 3 vertices")
    vs = [_unit(*v) for v in vertices]
    centre = tuple(sum(c) for c in zip(*vs, strict=True))
    normals = []
    for i, a in enumerate(vs):
        n = _cross(a, vs[(i + 1) % len(vs)])
        norm = math.sqrt(_dot(n, n))
        if norm < 1e-15:
            raise ADQLError("POLYGON has two identical or antipodal consecutive vertices")
        n = tuple(c / norm for c in n)
        normals.append(n if _dot(n, centre) >= 0 else tuple(-c for c in n))
    for n in normals:
        if any(_dot(n, v) < -1e-9 for v in vs):
            raise ADQLError("only convex POLYGONs are supported: split the region into convex ones")
    return normals


class _Translator:
    def __init__(self, parser, tables):
        self.names = parser.ruleNames
        self.tables = tables
        self.used = []
        self.ctes = set()
        self.origins = {}
        self.scopes = []  # per select_query: dict alias -> TableInfo, list of regions

    # -- generic machinery -------------------------------------------------------------
    def rule(self, node):
        return self.names[node.getRuleIndex()]

    def emit(self, node):
        if _is_term(node):
            return node.getText()
        handler = getattr(self, "_" + self.rule(node), None)
        if handler is not None:
            return handler(node)
        return " ".join(s for s in (self.emit(c) for c in node.getChildren()) if s)

    def kids(self, node, name=None):
        out = [c for c in node.getChildren() if not _is_term(c)]
        return out if name is None else [c for c in out if self.rule(c) == name]

    def find(self, node, name):
        """First descendant (or self) of rule ``name``, depth first."""
        if _is_term(node):
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
        while not _is_term(node):
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
            if _is_term(n) or self.rule(n) in ("subquery", "derived_table"):
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
            while not _is_term(first):
                first = first.getChild(0)
            base = first.getText().lower() if first.getText().isalpha() else "col"
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
            return child.getText()
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
            raise ADQLError(f"table {name!r} does not exist; published tables: {known}")
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
        if _is_term(first) or self.rule(first) != "table_name":
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
        source = info.sql
        if regions and self.source is not None:
            source = self.source(info, regions)
        return f"{source} AS {alias}"

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
                raise ADQLError(f"{fname} needs a POINT")
            geo = self.geometry(inner)
            if geo[0] != "point":
                raise ADQLError(f"{fname} needs a POINT")
            return f"({geo[1] if fname == 'COORD1' else geo[2]})"
        if fname == "COORDSYS" and len(params) == 1:
            return "'ICRS'"
        raise ADQLError(
            f"function {fname} is not available: use the ADQL 2.0 math, trigonometric, "
            "aggregate and geometry functions"
        )

    # -- geometry ------------------------------------------------------------------------
    def _coord_sys(self, node):
        lit = self.find(node, "character_string_literal")
        if lit is None or node.getText() != lit.getText():
            raise ADQLError("the coordinate system must be a string literal such as 'ICRS'")
        system = lit.getText()[1:-1].strip().upper()
        if system and not system.startswith("ICRS"):
            raise ADQLError(f"coordinate system {system!r} is not supported: use 'ICRS' or ''")

    def geometry(self, node):
        """A geometry node as a tuple: ('point', ra, dec), ('circle', ra, dec, r, consts),
        ('polygon', vertices) with constant vertices."""
        rule = self.rule(node)
        if rule in ("geometry_value_expression", "coord_value", "point_value"):
            child = self.kids(node)[0]
            if self.rule(child) == "column_reference":
                raise ADQLError("geometry-valued columns are not published; use POINT(ra, dec)")
            return self.geometry(child)
        if rule == "user_defined_function":
            raise ADQLError(f"{node.getChild(0).getText()} does not return a geometry")
        self._coord_sys(self.kids(node, "coord_sys")[0])
        if rule == "point":
            c = self.kids(self.kids(node, "coordinates")[0])
            return ("point", self.emit(c[0]), self.emit(c[1]))
        if rule == "circle":
            c = self.kids(self.kids(self.kids(node, "circle_center")[0])[0])
            r = self.kids(node, "radius")[0]
            consts = tuple(_const(x) for x in (c[0], c[1], r))
            return ("circle", self.emit(c[0]), self.emit(c[1]), self.emit(r), consts)
        if rule == "box":
            nums = [_const(x) for x in self._numeric_args(node)]
            if None in nums:
                raise ADQLError("BOX arguments must be numeric constants")
            return ("polygon", _box_vertices(*nums))
        if rule == "polygon":
            nums = [_const(x) for x in self._numeric_args(node)]
            if None in nums:
                raise ADQLError("POLYGON vertices must be numeric constants")
            return ("polygon", list(zip(nums[0::2], nums[1::2], strict=True)))
        raise ADQLError(f"unsupported geometry {rule.upper()}")

    def _numeric_args(self, node):
        out = []

        def walk(n):
            if _is_term(n):
                return
            if self.rule(n) == "numeric_value_expression":
                out.append(n)
                return
            for c in n.getChildren():
                walk(c)

        for c in self.kids(node)[1:]:
            walk(c)
        return out

    def _inside(self, point, region):
        ra, dec = point[1], point[2]
        if region[0] == "circle":
            _, cra, cdec, r, _ = region
            return (
                f"({dec} BETWEEN ({cdec}) - ({r}) AND ({cdec}) + ({r}) "
                f"AND adql_distance({ra}, {dec}, {cra}, {cdec}) <= ({r}))"
            )
        terms = [
            f"adql_halfspace({ra}, {dec}, {n[0]!r}, {n[1]!r}, {n[2]!r})"
            for n in _normals(region[1])
        ]
        return "(" + " AND ".join(terms) + ")"

    def _predicate_bool(self, node):
        """Boolean SQL of a CONTAINS or INTERSECTS node."""
        kind = self.rule(node)
        a, b = (self.geometry(g) for g in self.kids(node, "geometry_value_expression"))
        if kind == "intersects" and b[0] == "point":
            a, b = b, a
        if a[0] == "point" and b[0] in ("circle", "polygon"):
            return self._inside(a, b)
        if a[0] == "circle" and b[0] == "circle":
            d = f"adql_distance({a[1]}, {a[2]}, {b[1]}, {b[2]})"
            if kind == "intersects":
                return f"({d} <= ({a[3]}) + ({b[3]}))"
            return f"({d} + ({a[3]}) <= ({b[3]}))"
        raise ADQLError(
            f"{kind.upper()}({a[0].upper()}, {b[0].upper()}) is not supported: use a POINT "
            "in a CIRCLE/BOX/POLYGON, or two CIRCLEs"
        )

    def _contains(self, node):
        return f"CAST({self._predicate_bool(node)} AS INTEGER)"

    _intersects = _contains

    def _contains_predicate(self, node):
        geo = self.find(node, "contains") or self.find(node, "intersects")
        op, value = self._pred_op_value(node)
        boolean = self._predicate_bool(geo)
        if op == "=" and value in (0, 1):
            return boolean if value == 1 else f"(NOT {boolean})"
        if op == "<>" and value in (0, 1):
            return boolean if value == 0 else f"(NOT {boolean})"
        return f"(CAST({boolean} AS INTEGER) {op} {value:g})"

    def _pred_op_value(self, node):
        op, value = "=", None
        for c in node.getChildren():
            if _is_term(c) or self.rule(c) == "comp_op":
                if _const(c) is not None:
                    value = _const(c)
                elif c.getText() in ("=", "<>", "!=", "<", ">", "<=", ">="):
                    op = "<>" if c.getText() == "!=" else c.getText()
        if value is None:
            raise ADQLError("compare CONTAINS/INTERSECTS with a number: CONTAINS(...) = 1")
        return op, value

    def _intersects_predicate(self, node):
        return self._contains_predicate(node)

    def _distance(self, node):
        p, q = (self.geometry(c) for c in self.kids(node, "coord_value"))
        if p[0] != "point" or q[0] != "point":
            raise ADQLError("DISTANCE needs two POINTs")
        return f"adql_distance({p[1]}, {p[2]}, {q[1]}, {q[2]})"

    def _area(self, node):
        geo = self.geometry(self.kids(node)[0])
        if geo[0] == "circle":
            return f"(2 * pi() * (1 - cos(radians({geo[3]}))) * pow(180 / pi(), 2))"
        if geo[0] == "polygon":
            n = len(geo[1])
            normals = _normals(geo[1])
            # Girard: area = sum of interior angles - (n - 2) pi
            angles = 0.0
            for i in range(n):
                n1, n2 = normals[i - 1], normals[i]
                angles += math.pi - math.acos(max(-1.0, min(1.0, _dot(n1, n2))))
            return repr(math.degrees(math.degrees(angles - (n - 2) * math.pi)))
        raise ADQLError("AREA needs a CIRCLE, BOX or POLYGON")

    def _point(self, node):
        raise ADQLError("geometry values cannot be selected: select their coordinates instead")

    _circle = _box = _polygon = _point

    # -- HEALPix pruning -----------------------------------------------------------------
    def _regions(self, where):
        """(qualifier, ra col, dec col, Region) for each top-level AND-ed POINT-in-region."""
        if where is None:
            return []
        factors = []

        def conj(cond):  # search_condition: boolean_term [OR ...]
            if cond.getChildCount() != 1:
                return
            terms(cond.getChild(0))

        def terms(t):  # boolean_term: boolean_factor | boolean_term AND boolean_factor
            for c in self.kids(t):
                if self.rule(c) == "boolean_term":
                    terms(c)
                elif self.rule(c) == "boolean_factor" and c.getChildCount() == 1:
                    prim = c.getChild(0)
                    inner = self.kids(prim, "search_condition")
                    if inner:
                        conj(inner[0])
                    else:
                        factors.append(prim)

        conj(self.kids(where, "search_condition")[0])
        out = []
        for prim in factors:
            pred = self.find(prim, "contains_predicate") or self.find(prim, "intersects_predicate")
            if pred is None or pred.parentCtx.parentCtx is not prim:
                continue
            try:
                if self._pred_op_value(pred) != ("=", 1):
                    continue
            except ADQLError:
                continue
            geo = self.find(pred, "contains") or self.find(pred, "intersects")
            try:
                a, b = (self.geometry(g) for g in self.kids(geo, "geometry_value_expression"))
            except ADQLError:
                continue
            if self.rule(geo) == "intersects" and b[0] == "point":
                a, b = b, a
            if a[0] != "point":
                continue
            cols = self._point_columns(geo)
            if cols is None:
                continue
            if b[0] == "circle" and None not in b[4]:
                region = Region("circle", b[4])
            elif b[0] == "polygon":
                region = Region("polygon", tuple(b[1]))
            else:
                continue
            out.append((*cols, region))
        return out

    def _point_columns(self, geo):
        """(qualifier, ra column, dec column) when the POINT is made of two column references."""
        point = self.find(geo, "point")
        coords = self.kids(self.kids(point, "coordinates")[0])
        found = []
        for c in coords:
            ref = self.only_child_chain(self.kids(c)[0], "column_reference")
            if ref is None:
                return None
            quals = self.kids(ref, "qualifier")
            q = self._alias_of_qualifier(quals[0]).strip('"') if quals else None
            found.append((q, self.kids(ref, "column_name")[-1].getText().strip('"').lower()))
        if found[0][0] != found[1][0]:
            return None
        return found[0][0], found[0][1], found[1][1]


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
    tree, parser = _parse(adql)
    tr = _Translator(parser, tables)
    tr.source = source
    sql = tr.emit(tree)
    origins = {k: v for k, v in tr.origins.items() if v != (None, None)}
    return Translation(sql=sql, tables=tr.used, origins=origins)
