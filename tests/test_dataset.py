"""Spectra list columns to 2-D arrays (``specir.dataset.grid_rows``), as the readers use it."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from specir.dataset import grid_rows
from specir.errors import SpecIRInputError

NPIX = 5


@pytest.fixture
def rows():
    return np.arange(3 * NPIX, dtype=np.float32).reshape(3, NPIX)


@pytest.mark.parametrize(
    "make",
    [
        lambda r: pa.array(list(r), type=pa.list_(pa.float32(), NPIX)),  # fixed-size list
        lambda r: pa.chunked_array([pa.array(list(r[:1])), pa.array(list(r[1:]))]),  # chunks
        lambda r: pa.array(list(r)).slice(0, 3),  # variable list
        lambda r: pd.Series(pd.arrays.ArrowExtensionArray(pa.array(list(r)))),  # as lsdb gives
        lambda r: pd.Series(list(r)),  # numpy-backed, one array per row
    ],
)
def test_every_column_kind_gives_the_same_array(rows, make):
    np.testing.assert_array_equal(grid_rows(make(rows), "flux", NPIX), rows)


def test_sliced_arrow_array_keeps_its_offset(rows):
    column = pa.array(list(rows)).slice(1, 2)
    np.testing.assert_array_equal(grid_rows(column, "flux", NPIX), rows[1:])


@pytest.mark.parametrize(
    "column",
    [
        pa.array([[1.0] * NPIX, [1.0] * (NPIX - 1)]),  # a short row
        pa.array([[1.0] * NPIX, None]),  # a null row
        pd.Series([np.ones(NPIX), np.ones(NPIX + 1)]),
    ],
)
def test_rows_off_the_grid_are_refused_naming_the_column(column):
    with pytest.raises(SpecIRInputError, match="'ivar'"):
        grid_rows(column, "ivar", NPIX)
