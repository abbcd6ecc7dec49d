"""Shared fixtures for the model tests.

If the lead's ``specir.spectra`` (``prepare_grid_arrays``/``prepare_spectra``) is not on this
branch yet, a minimal stand-in that follows the documented interface is registered *inside the
tests only*; once the real module exists it is used instead.
"""

import importlib
import sys
import types
from dataclasses import dataclass

import numpy as np
import pytest


def _install_spectra_standin():
    from specir.grid import NORM_WINDOW, Flags, grid_wavelength

    @dataclass
    class PreparedSpectra:
        flux: np.ndarray
        ivar: np.ndarray
        z: np.ndarray
        norm: np.ndarray
        coverage: np.ndarray
        flags: np.ndarray

        def __len__(self):
            return len(self.z)

    def prepare_grid_arrays(
        flux, ivar, z, *, mask=None, z_range=(0.01, 0.35), min_coverage=0.8, min_snr=1.0
    ):
        flux = np.array(flux, dtype=np.float32, ndmin=2)
        ivar = np.array(ivar, dtype=np.float32, ndmin=2)
        z = np.atleast_1d(np.asarray(z, dtype=np.float64))
        flags = np.zeros(len(z), dtype=np.int64)
        bad = ~np.isfinite(flux) | ~np.isfinite(ivar)
        flags[bad.any(axis=1)] |= Flags.NONFINITE_MASKED
        valid = ~bad & (ivar > 0)
        if mask is not None:
            valid &= ~np.asarray(mask, dtype=bool)
        flux = np.where(valid, flux, 0).astype(np.float32)
        ivar = np.where(valid, ivar, 0).astype(np.float32)
        rest = grid_wavelength()[None, :] / (1 + z[:, None])
        win = valid & (rest >= NORM_WINDOW[0]) & (rest <= NORM_WINDOW[1])
        norm = np.array(
            [np.median(f[w]) if w.any() else np.nan for f, w in zip(flux, win, strict=True)]
        )
        fallback = ~win.any(axis=1)
        flags[fallback] |= Flags.NORM_FALLBACK
        for i in np.flatnonzero(fallback & valid.any(axis=1)):
            norm[i] = np.median(flux[i][valid[i]])
        coverage = valid.mean(axis=1)
        nodata = ~valid.any(axis=1) | ~(norm > 0)
        flags[nodata] |= Flags.NO_DATA
        flags[coverage < min_coverage] |= Flags.LOW_COVERAGE
        flags[(z < z_range[0]) | (z > z_range[1])] |= Flags.Z_OUT_OF_RANGE
        safe = np.where(norm > 0, norm, 1.0)
        snr = np.array(
            [
                np.median(np.abs(f[v]) * np.sqrt(iv[v])) if v.any() else 0
                for f, iv, v in zip(flux, ivar, valid, strict=False)
            ]
        )
        flags[snr < min_snr] |= Flags.LOW_SNR
        return PreparedSpectra(
            (flux / safe[:, None]).astype(np.float32),
            (ivar * safe[:, None] ** 2).astype(np.float32),
            z,
            np.where(nodata, np.nan, norm),
            coverage,
            flags,
        )

    mod = types.ModuleType("specir.spectra")
    mod.__doc__ = "TEST STAND-IN for the lead's specir.spectra (documented interface only)."
    mod.PreparedSpectra = PreparedSpectra
    mod.prepare_grid_arrays = prepare_grid_arrays
    sys.modules["specir.spectra"] = mod
    return mod


try:
    importlib.import_module("specir.spectra")
    SPECTRA_STANDIN = False
except ImportError:
    _install_spectra_standin()
    SPECTRA_STANDIN = True


@pytest.fixture(scope="session")
def fixture_catalog(tmp_path_factory):
    """A tiny HATS catalog written with lsdb (mechanics fixture, not science)."""
    from fixture_survey import write_fixture_catalog

    return write_fixture_catalog(tmp_path_factory.mktemp("cat") / "fixture", n=360, seed=1)


TINY_MODEL = dict(
    channels=(8, 16), kernels=(9, 5), strides=(8, 4), mlp_hidden=32, latent_dim=6, dropout=0.1
)


def tiny_config(catalog, output, **kw):
    """A training config small enough for tests (seconds on 2 cores)."""
    from specir.model import ModelConfig
    from specir.train import TrainConfig

    base = dict(
        catalog=str(catalog),
        output=str(output),
        epochs=4,
        batch_size=32,
        lr=3e-3,
        model=ModelConfig(**TINY_MODEL),
        split_order=2,
        split_fractions=(0.6, 0.2, 0.2),
        training_data={"description": "test fixture (mechanics check, not science)"},
    )
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="session")
def fixture_arrays(fixture_catalog):
    from specir.train import read_catalog_arrays

    return read_catalog_arrays(fixture_catalog, progress=False)


@pytest.fixture(scope="session")
def trained_bundle(fixture_catalog, fixture_arrays, tmp_path_factory):
    """A bundle trained for a few epochs on the mechanics fixture (never shipped)."""
    from specir.train import train

    out = tmp_path_factory.mktemp("bundle") / "tiny"
    return train(tiny_config(fixture_catalog, out), progress=False, data=fixture_arrays)
