"""Shared fixtures for specir's tests."""

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import InverseVariance

from specir.testing import desi_data_dir, sdss_data_dir

SDSS_UNIT = u.Unit("1e-17 erg / (s cm2 Angstrom)")


@pytest.fixture(scope="session")
def sdss_dir():
    """The real SDSS spectra in ../shared/data/sdss (skipped when absent)."""
    d = sdss_data_dir()
    if d is None:
        pytest.skip("real SDSS spectra not found: set SPECIR_TEST_DATA or add ../shared/data/sdss")
    return d


@pytest.fixture(scope="session")
def desi_dir():
    """The real DESI coadds, redrock and tractor files in ../shared/data/desi (else skipped)."""
    d = desi_data_dir()
    if d is None:
        pytest.skip(
            "real DESI files not found: set SPECIR_TEST_DATA_DESI or add ../shared/data/desi"
        )
    return d


@pytest.fixture(scope="session")
def sdss_files(sdss_dir):
    return sorted(sdss_dir.glob("spec-*.fits"))


def galaxy_like(n_pix=3850, loglam0=3.5800, seed=0, z=0.08):
    """A synthetic SDSS-like spectrum: a red continuum, a 4000 Å break, emission lines, noise.

    Returns wavelength (Å, vacuum), flux and ivar in 1e-17 erg/s/cm²/Å units.
    """
    rng = np.random.default_rng(seed)
    wave = 10 ** (loglam0 + 1e-4 * np.arange(n_pix))
    rest = wave / (1 + z)
    cont = 20.0 * (rest / 5500.0) ** 0.5 * np.where(rest < 4000, 0.6, 1.0)
    lines = sum(
        a * np.exp(-0.5 * ((rest - c) / 2.5) ** 2)
        for c, a in [(3727, 30), (4861, 20), (5007, 45), (6563, 80), (6584, 30)]
    )
    sigma = 0.5 + 0.02 * cont
    flux = cont + lines + rng.normal(0, sigma)
    return wave, flux, 1.0 / sigma**2


def make_spectrum(seed=0, z=0.08, **kw):
    from specutils import Spectrum

    wave, flux, ivar = galaxy_like(seed=seed, z=z, **kw)
    return Spectrum(
        flux=flux * SDSS_UNIT,
        spectral_axis=wave * u.AA,
        uncertainty=InverseVariance(ivar, unit=SDSS_UNIT**-2),
        redshift=z,
    )


# ---- model tests: a tiny HATS fixture catalog (a MECHANICS check, not science) ----
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


@pytest.fixture
def train_config(fixture_catalog):
    """``train_config(output, **overrides)``: a tiny training config on the fixture catalog."""

    def make(output, **kw):
        return tiny_config(fixture_catalog, output, **kw)

    return make


@pytest.fixture(scope="session")
def fixture_arrays(fixture_catalog):
    from specir.dataset import read_catalog_arrays

    return read_catalog_arrays(fixture_catalog, progress=False)


@pytest.fixture(scope="session")
def trained_bundle(fixture_catalog, fixture_arrays, tmp_path_factory):
    """A bundle trained for a few epochs on the mechanics fixture (never shipped)."""
    from specir.train import train

    out = tmp_path_factory.mktemp("bundle") / "tiny"
    return train(tiny_config(fixture_catalog, out), progress=False, data=fixture_arrays)
