"""specir: a galaxy's infrared light predicted from its optical spectrum.

Following Jespersen, Melchior, Spergel et al. (2025, arXiv:2503.03816), specir summarises an
SDSS-like optical spectrum with a spender-style encoder and predicts the four WISE bands
(W1 3.4 µm, W2 4.6 µm, W3 12 µm, W4 22 µm) with calibrated uncertainties, the AGN bolometric
luminosity and the PAH mass fraction q_PAH.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from specir.errors import (
    SpecIRError,
    SpecIRFileError,
    SpecIRInputError,
    SpecIRModelError,
    SpecIRQueryError,
    SpecIRServiceError,
    SpecIRWarning,
)
from specir.grid import Flags, grid_wavelength

try:
    __version__ = version("specir")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

# Public names that pull heavier modules are imported on first use.
_LAZY = {
    "read_sdss": "specir.sdss",
    "read_desi": "specir.desi",
    "prepare_spectra": "specir.spectra",
    "PreparedSpectra": "specir.spectra",
    "predict_ir": "specir.predict",
}

__all__ = [
    "Flags",
    "SpecIRError",
    "SpecIRFileError",
    "SpecIRInputError",
    "SpecIRModelError",
    "SpecIRQueryError",
    "SpecIRServiceError",
    "SpecIRWarning",
    "grid_wavelength",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'specir' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
