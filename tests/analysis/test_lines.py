import itertools

import numpy as np
import pytest

from specir.analysis.lines import LINES, identify, in_windows


def test_line_windows_are_ordered_and_hold_their_centres():
    lines = [f for f in LINES if f.kind != "break"]
    centres = [f.wavelength for f in lines]
    assert centres == sorted(centres)
    for f in LINES:
        assert f.lo < f.wavelength < f.hi
    for a, b in itertools.pairwise(lines):
        assert a.hi <= b.lo, (a.name, b.name)


@pytest.mark.parametrize(
    ("wave", "name"),
    [
        (3729.0, "[O II] 3727"),
        (3934.8, "Ca II K"),  # 3933.66 Å in air
        (4078.9, "Sr II 4077"),  # inside the D4000 window, but the narrower feature wins
        (4030.0, "D4000 break"),
        (4862.7, "Hβ"),
        (6549.9, "Hα + [N II]"),
        (6585.3, "Hα + [N II]"),
        (8544.4, "Ca II triplet"),
    ],
)
def test_identify(wave, name):
    assert identify(wave).name == name


def test_identify_continuum_and_kinds():
    assert identify(4600.0) is None
    assert identify(3934.8, kinds=("emission",)) is None
    mask = in_windows(np.array([3728.5, 3934.8, 6564.6]))
    assert mask.tolist() == [True, False, True]
