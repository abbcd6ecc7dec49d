"""Sphere geometry for ADQL regions: validation, BOX corners, polygon edges and areas.

Coordinates are ICRS degrees. ``CIRCLE`` contains the points within its radius. ``POLYGON``
has great-circle edges and must be convex. ``BOX(c, ra, dec, w, h)`` is the convex polygon
whose corners are those of the ``w`` × ``h`` rectangle in the gnomonic tangent plane at its
centre. The SQL macros evaluate distances (haversine) and half-spaces in the engine.
"""

import math
from dataclasses import dataclass

from specir.tap.grammar import ADQLError

__all__ = [
    "MACROS",
    "Region",
    "box_vertices",
    "check_circle",
    "check_point",
    "normals",
    "polygon_area",
    "polygon_vertices",
]

MACROS = (
    "CREATE OR REPLACE MACRO adql_distance(ra1, dec1, ra2, dec2) AS degrees(2 * asin(least(1.0, "
    "sqrt(pow(sin(radians(dec2 - dec1) / 2), 2) + cos(radians(dec1)) * cos(radians(dec2)) "
    "* pow(sin(radians(ra2 - ra1) / 2), 2)))))",
    "CREATE OR REPLACE MACRO adql_halfspace(ra, dec, nx, ny, nz) AS "
    "nx * cos(radians(dec)) * cos(radians(ra)) + ny * cos(radians(dec)) * sin(radians(ra)) "
    "+ nz * sin(radians(dec)) >= -1e-12",
)
"""DuckDB macros the generated SQL calls (create them once per database)."""


@dataclass(frozen=True)
class Region:
    """A constant sky region that a query's rows must lie in (for HEALPix pruning)."""

    shape: str
    """``"circle"`` (``params`` = ra, dec, radius deg) or ``"polygon"`` (list of (ra, dec))."""
    params: tuple


def check_point(ra, dec, what="POINT"):
    """Refuse a constant position off the sphere (``None`` means not a constant).

    Examples
    --------
    >>> check_point(10.0, 95.0)
    Traceback (most recent call last):
    ...
    specir.tap.grammar.ADQLError: QUERY: POINT has declination 95.0, outside [-90, 90]. Fix: ...
    """
    if dec is not None and not -90.0 <= dec <= 90.0:
        raise ADQLError(f"{what} has declination {dec!r}, outside [-90, 90]", "give dec in degrees")
    if ra is not None and not math.isfinite(ra):
        raise ADQLError(f"{what} has right ascension {ra!r}", "give a finite ra in degrees")


def check_circle(ra, dec, radius):
    """Refuse a constant CIRCLE off the sphere or with a negative radius."""
    check_point(ra, dec, "CIRCLE centre")
    if radius is not None and not 0.0 <= radius <= 180.0:
        raise ADQLError(
            f"CIRCLE radius is {radius!r} degrees", "give a radius between 0 and 180 degrees"
        )


def polygon_vertices(numbers):
    """(ra, dec) pairs from a POLYGON's coordinate list, checked."""
    if len(numbers) % 2:
        raise ADQLError(
            f"POLYGON has {len(numbers)} coordinates, an odd number",
            "give one ra, dec pair per vertex",
        )
    pairs = list(zip(numbers[0::2], numbers[1::2], strict=True))
    for ra, dec in pairs:
        check_point(ra, dec, "a POLYGON vertex")
    return pairs


def _unit(ra, dec):
    ra, dec = math.radians(ra), math.radians(dec)
    return (math.cos(dec) * math.cos(ra), math.cos(dec) * math.sin(ra), math.sin(dec))


def _cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def box_vertices(ra, dec, w, h):
    """Corners of an ADQL BOX in the gnomonic tangent plane at its centre.

    Examples
    --------
    >>> [(round(a, 3), round(d, 3)) for a, d in box_vertices(0.0, 0.0, 2.0, 2.0)][:2]
    [(359.0, -1.0), (1.0, -1.0)]
    """
    check_point(ra, dec, "BOX centre")
    if not (0 < w < 180 and 0 < h < 180):
        raise ADQLError(
            f"BOX width and height are {w!r} and {h!r}", "give both between 0 and 180 degrees"
        )
    a0, d0 = math.radians(ra), math.radians(dec)
    out = []
    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        xi, eta = sx * math.tan(math.radians(w / 2)), sy * math.tan(math.radians(h / 2))
        den = math.cos(d0) - eta * math.sin(d0)
        a = a0 + math.atan2(xi, den)
        d = math.atan2(math.sin(d0) + eta * math.cos(d0), math.hypot(xi, den))
        out.append((math.degrees(a) % 360.0, math.degrees(d)))
    return out


def normals(vertices):
    """Inward great-circle normals of a convex spherical polygon; refuses a concave one."""
    if len(vertices) < 3:
        raise ADQLError("a POLYGON needs at least 3 vertices", "give 3 or more ra, dec pairs")
    vs = [_unit(*v) for v in vertices]
    centre = tuple(sum(c) for c in zip(*vs, strict=True))
    out = []
    for i, a in enumerate(vs):
        n = _cross(a, vs[(i + 1) % len(vs)])
        norm = math.sqrt(_dot(n, n))
        if norm < 1e-15:
            raise ADQLError(
                "POLYGON has two identical or antipodal consecutive vertices", "remove one"
            )
        n = tuple(c / norm for c in n)
        out.append(n if _dot(n, centre) >= 0 else tuple(-c for c in n))
    for n in out:
        if any(_dot(n, v) < -1e-9 for v in vs):
            raise ADQLError(
                "only convex POLYGONs are supported", "split the region into convex ones"
            )
    return out


def polygon_area(vertices):
    """Area of a convex spherical polygon in square degrees (Girard's theorem).

    Examples
    --------
    >>> round(polygon_area([(0, 0), (90, 0), (0, 90)]), 3)  # one octant
    5156.62
    """
    ns = normals(vertices)
    angles = sum(
        math.pi - math.acos(max(-1.0, min(1.0, _dot(ns[i - 1], ns[i])))) for i in range(len(ns))
    )
    return math.degrees(math.degrees(angles - (len(ns) - 2) * math.pi))
