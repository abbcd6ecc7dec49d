"""Helpers for specir's own tests and for users writing tests around specir."""

import os
from pathlib import Path

__all__ = ["desi_data_dir", "sdss_data_dir"]


def sdss_data_dir() -> Path | None:
    """Folder with the real SDSS test spectra, or ``None`` when it is absent.

    Looks at the environment variable ``SPECIR_TEST_DATA`` first (a folder holding
    ``spec-*.fits`` files), then at ``../shared/data/sdss`` beside the source checkout.
    """
    env = os.environ.get("SPECIR_TEST_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data" / "sdss")
    for c in candidates:
        if c.is_dir() and any(c.glob("spec-*.fits")):
            return c
    return None


def desi_data_dir():
    """Folder with the real DESI test files (``coadd-*.fits``, redrock, tractor), or ``None``.

    Looks at the environment variable ``SPECIR_TEST_DATA_DESI`` first, then at
    ``../shared/data/desi`` beside the source checkout.
    """
    env = os.environ.get("SPECIR_TEST_DATA_DESI")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data" / "desi")
    for c in candidates:
        if c.is_dir() and any(c.glob("coadd-*.fits")):
            return c
    return None
