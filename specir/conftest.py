"""pytest hooks for the doctests in specir's modules (tests/conftest.py holds the fixtures).

Doctests that read the real SDSS or DESI files (their examples call ``sdss_data_dir()`` or
``desi_data_dir()``) are skipped with a reason when the data are absent: the check runs at
collection, never when a module is imported.
"""

import pytest


def pytest_collection_modifyitems(config, items):
    from specir.testing import desi_data_dir, sdss_data_dir

    missing = {
        "sdss_data_dir()": sdss_data_dir() is None,
        "desi_data_dir()": desi_data_dir() is None,
    }
    for call, absent in missing.items():
        if not absent:
            continue
        skip = pytest.mark.skip(reason=f"real data for {call} not found: set SPECIR_TEST_DATA")
        for item in items:
            test = getattr(item, "dtest", None)
            if test is not None and any(call in ex.source for ex in test.examples):
                item.add_marker(skip)
