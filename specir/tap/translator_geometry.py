"""Geometry in the ADQL translator: POINT, CIRCLE, BOX, POLYGON, CONTAINS, INTERSECTS,
DISTANCE, AREA, and the constant regions that HEALPix pruning uses (a mixin of
:class:`specir.tap.translator.Translator`)."""

from specir.tap.geometry import (
    Region,
    box_vertices,
    check_circle,
    check_point,
    normals,
    polygon_area,
    polygon_vertices,
)
from specir.tap.grammar import ADQLError, is_term
from specir.tap.grammar import numeric_constant as _const

__all__ = ["GeometryMixin"]

_COMPUTED = {
    "distance": ("deg", "pos.angDistance", "Great-circle distance (ADQL DISTANCE)"),
    "area": ("deg**2", "phys.angArea", "Area on the sky (ADQL AREA)"),
}


class GeometryMixin:
    """Geometry node handlers; needs ``rule``, ``kids``, ``find``, ``emit`` of the translator."""

    def _record_computed(self, expr, out_name):
        """Unit and UCD of a selected DISTANCE or AREA (other expressions get none)."""
        for rule, meta in _COMPUTED.items():
            if self.only_child_chain(expr, rule) is not None:
                self.computed[out_name.lower()] = meta

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
            raise ADQLError(
                f"{self.function_label(node.getChild(0).getText())} does not return a geometry"
            )
        systems = self.kids(node, "coord_sys")
        if not systems:
            raise ADQLError(
                f"{rule.upper()} is malformed: {node.getText()[:80]}",
                "give a coordinate system and complete ra, dec pairs (ADQL 2.1, section 2.4)",
            )
        self._coord_sys(systems[0])
        if rule == "point":
            c = self.kids(self.kids(node, "coordinates")[0])
            check_point(_const(c[0]), _const(c[1]))
            return ("point", self.emit(c[0]), self.emit(c[1]))
        if rule == "circle":
            c = self.kids(self.kids(self.kids(node, "circle_center")[0])[0])
            r = self.kids(node, "radius")[0]
            consts = tuple(_const(x) for x in (c[0], c[1], r))
            check_circle(*consts)
            return ("circle", self.emit(c[0]), self.emit(c[1]), self.emit(r), consts)
        if rule == "box":
            nums = [_const(x) for x in self._numeric_args(node)]
            if None in nums:
                raise ADQLError("BOX arguments must be numeric constants", "give numbers")
            return ("polygon", box_vertices(*nums))
        if rule == "polygon":
            nums = [_const(x) for x in self._numeric_args(node)]
            if None in nums:
                raise ADQLError("POLYGON vertices must be numeric constants", "give numbers")
            return ("polygon", polygon_vertices(nums))
        raise ADQLError(f"unsupported geometry {rule.upper()}")

    def _numeric_args(self, node):
        out = []

        def walk(n):
            if is_term(n):
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
            f"adql_halfspace({ra}, {dec}, {n[0]!r}, {n[1]!r}, {n[2]!r})" for n in normals(region[1])
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
            if is_term(c) or self.rule(c) == "comp_op":
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
            return repr(polygon_area(geo[1]))
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
