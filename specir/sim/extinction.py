"""The infrared extinction curve of Milky Way dust, shared by the simulator's dust models.

Gordon et al. (2021, ApJ 916, 33) measured the average Milky Way extinction from 1 to 32 µm,
with its 10 and 18 µm silicate features (``dust_extinction``'s ``G21_MWAvg``). The
circumstellar dust of AGB stars (:mod:`specir.sim.agb`) takes its opacity from it, and the
torus of a type 2 AGN (:mod:`specir.sim.agn`) its extinction.

Examples
--------
>>> import numpy as np
>>> a = mir_extinction(np.array([2.2e4, 9.7e4, 4.0e4]))  # A_λ / A_V at 2.2, 9.7, 4 µm
>>> bool(a[0] > a[1] > a[2])  # K band above the silicate peak above the 4 µm minimum
True
"""

import functools
import warnings

import numpy as np

__all__ = ["G21_RANGE_UM", "mir_extinction"]

G21_RANGE_UM = (1.0, 32.0)
"""Wavelength range (µm) over which Gordon et al. (2021) measured the curve."""


@functools.cache
def _model():
    from dust_extinction.averages import G21_MWAvg

    return G21_MWAvg()


def mir_extinction(wave_aa):
    """A_λ / A_V of the average Milky Way dust at wavelengths ``wave_aa`` (Å).

    Measured over :data:`G21_RANGE_UM`; beyond 32 µm it falls as λ^-2 (the opacity of large
    grains far from their features), and below 1 µm, outside the measurement, it is 0: the
    callers use it only where dust emits (the infrared).
    """
    from dust_extinction.warnings import SpectralUnitsWarning

    lo_um, hi_um = G21_RANGE_UM
    um = np.asarray(wave_aa, float) / 1e4
    inside = np.clip(um, lo_um * 1.0001, hi_um * 0.9999)
    with warnings.catch_warnings():  # the model warns on its own unitless internals
        warnings.simplefilter("ignore", SpectralUnitsWarning)
        curve = np.asarray(_model()(1.0 / inside), float)  # x in inverse microns
    return np.where(um > hi_um, curve * (um / hi_um) ** -2.0, np.where(um < lo_um, 0.0, curve))
