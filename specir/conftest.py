"""pytest hooks for the doctests in specir's modules (tests/conftest.py holds the fixtures).

Doctests that read the real SDSS spectra (their examples call ``sdss_data_dir()``) are skipped
with a reason when the data are absent: the check runs at collection, never when a module is
imported.
"""

import pytest


def pytest_collection_modifyitems(config, items):
    from specir.testing import sdss_data_dir

    if sdss_data_dir() is not None:
        return
    skip = pytest.mark.skip(reason="real SDSS spectra not found: set SPECIR_TEST_DATA")
    for item in items:
        test = getattr(item, "dtest", None)
        if test is not None and any("sdss_data_dir()" in ex.source for ex in test.examples):
            item.add_marker(skip)
