"""Sphere geometry (specir.tap.geometry): validation with ADQL-phrased errors, BOX, areas."""

import math

import numpy as np
import pytest

from specir.tap.geometry import (
    box_vertices,
    check_circle,
    normals,
    polygon_area,
    polygon_vertices,
)
from specir.tap.grammar import ADQLError


@pytest.mark.parametrize(
    ("args", "words"),
    [((10.0, 20.0, -1.0), "radius is -1.0"), ((10.0, 95.0, 1.0), "declination 95.0")],
)
def test_circle_off_the_sphere_is_refused(args, words):
    with pytest.raises(ADQLError, match=words):
        check_circle(*args)


def test_polygon_needs_pairs_on_the_sphere():
    with pytest.raises(ADQLError, match="odd number"):
        polygon_vertices([10, 20, 11, 20, 11])
    with pytest.raises(ADQLError, match="declination 95"):
        polygon_vertices([10, 20, 11, 20, 11, 95])
    assert polygon_vertices([1, 2, 3, 4, 5, 6]) == [(1, 2), (3, 4), (5, 6)]


def test_concave_polygon_is_refused():
    with pytest.raises(ADQLError, match="convex"):
        normals([(0, 0), (10, 0), (1, 1), (0, 10)])


def test_box_corners_are_at_half_width_in_the_tangent_plane():
    corners = np.array(box_vertices(30.0, 40.0, 2.0, 1.0))
    # the centre lies inside the four great-circle edges
    assert len(normals(list(map(tuple, corners)))) == 4
    assert np.allclose(corners[:, 1].mean(), 40.0, atol=0.01)


def test_polygon_area_matches_the_cap_formula_for_a_fine_polygon():
    # a 360-gon on the 10-degree small circle around the pole: area of a spherical cap
    verts = [(a, 80.0) for a in np.arange(0, 360, 1.0)]
    cap = 2 * math.pi * (1 - math.cos(math.radians(10))) * (180 / math.pi) ** 2
    assert polygon_area(verts) == pytest.approx(cap, rel=1e-3)
