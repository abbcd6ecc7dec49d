"""Galaxy spectral energy distributions from bagpipes (BC03 + Cloudy + Draine & Li dust).

One :class:`GalaxySED` per worker process builds a bagpipes ``model_galaxy`` once (loading and
resampling the grids takes about two seconds) and then only calls ``model_galaxy.update``
per galaxy (about 10 ms). The physics is bagpipes' own: stellar populations, nebular lines
and continuum, Calzetti attenuation with extra birth-cloud attenuation, and Draine & Li (2007)
dust emission (q_PAH, U_min, gamma) normalised by energy balance to the absorbed luminosity.

bagpipes is GPL-3.0 licensed; it is imported only here, only when a simulation runs.
"""

import contextlib
import functools
import io
import logging
import os
import tempfile
import warnings

import numpy as np

from specir.grid import grid_wavelength
from specir.sim.agb import CircumstellarDust
from specir.sim.photometry import filter_wavelength_aa

__all__ = ["GalaxySED", "air_to_vacuum", "vacuum_to_air"]

logger = logging.getLogger(__name__)

R_SPEC = 5000.0
"""bagpipes sampling R over the optical (0.23 grid pixels; lines resolved before smoothing)."""
R_PHOT = 300.0
"""bagpipes sampling R from 0.93 to 28 µm (resolves the PAH features inside W3)."""


def air_to_vacuum(wave):
    """Air to vacuum wavelengths in Å above 2000 Å (below: unchanged, already vacuum).

    The conversion is specutils' ``air_to_vac`` with Morton (2000), the IAU standard.

    Examples
    --------
    >>> round(float(air_to_vacuum(6562.80)), 2)
    6564.61
    """
    import astropy.units as u
    from specutils.utils.wcs_utils import air_to_vac

    wave = np.asarray(wave, dtype=float)
    out = wave.copy()
    air = wave > 2000.0
    if np.any(air):
        out[air] = air_to_vac(wave[air] * u.AA, method="Morton2000", scheme="inversion").value
    return out


def vacuum_to_air(wave):
    """Vacuum to air wavelengths in Å above 2000 Å, the inverse of :func:`air_to_vacuum`.

    bagpipes' models are sampled in air above 2000 Å; a spectrum in vacuum wavelengths handed
    to a bagpipes fit must be converted, or its lines sit 83 km/s off the model's.

    Examples
    --------
    >>> round(float(vacuum_to_air(air_to_vacuum(6562.80))), 3)
    6562.8
    """
    import astropy.units as u
    from specutils.utils.wcs_utils import vac_to_air

    wave = np.asarray(wave, dtype=float)
    out = wave.copy()
    vac = wave > 2000.0
    if np.any(vac):
        out[vac] = vac_to_air(wave[vac] * u.AA, method="Morton2000").value
    return out


@functools.cache
def _filter_files():
    """WISE curves written as bagpipes filter files (Å), only to set bagpipes' IR sampling."""
    import speclite.filters

    folder = tempfile.mkdtemp(prefix="specir-bp-filters-")
    files = []
    for f in speclite.filters.load_filters("wise2010-*"):
        path = os.path.join(folder, f"{f.name}.dat")
        np.savetxt(path, np.c_[filter_wavelength_aa(f), f.response])
        files.append(path)
    return tuple(files)


def _components(p):
    return {
        "redshift": float(p["z"]),
        "t_bc": 0.01,
        "delayed": {
            "age": float(p["age"]),
            "tau": float(p["tau"]),
            "massformed": float(p["log_massformed"]),
            "metallicity": float(p["z_star"]),
        },
        "dust": {
            "type": "Calzetti",
            "Av": float(p["av"]),
            "eta": float(p["eta"]),
            "qpah": float(p["qpah"]),
            "umin": float(p["umin"]),
            "gamma": float(p["gamma"]),
        },
        "nebular": {"logU": float(p["log_u"]), "metallicity": float(p["z_gas"])},
    }


class GalaxySED:
    """A reusable bagpipes model; :meth:`compute` gives one galaxy's SED.

    The rest-frame wavelength sampling (:attr:`wave_rest`, vacuum Å) is fixed: uniform in
    log λ at R=5000 over the optical part that the SDSS grid sees at any redshift, R=300 in the
    infrared, coarser elsewhere.
    """

    def __init__(self):
        chatter = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stdout(chatter):
            warnings.simplefilter("ignore")
            import bagpipes
            from bagpipes import config
        if chatter.getvalue().strip():
            logger.debug("bagpipes: %s", chatter.getvalue().strip())

        config.max_redshift = 1.0
        config.R_spec = R_SPEC
        config.R_phot = R_PHOT
        p0 = {
            "z": 0.1,
            "age": 5.0,
            "tau": 3.0,
            "log_massformed": 10.0,
            "z_star": 1.0,
            "av": 0.3,
            "eta": 2.0,
            "qpah": 2.5,
            "umin": 1.0,
            "gamma": 0.01,
            "log_u": -3.0,
            "z_gas": 1.0,
        }
        self._model = bagpipes.model_galaxy(
            _components(p0), filt_list=list(_filter_files()), spec_wavs=grid_wavelength()
        )
        # we resample, convolve and integrate bandpasses ourselves: skip bagpipes' versions
        self._model.spec_wavs = None
        self._model.filt_list = None
        self._model._calculate_uvj_mags = lambda: None  # rest-frame UVJ: not needed
        self.wave_rest = air_to_vacuum(self._model.wavelengths)
        w = self._model.wavelengths
        dlog = np.diff(np.log(w))
        self.spec_slice = np.flatnonzero(np.isclose(dlog, np.log1p(0.5 / R_SPEC), rtol=1e-6))
        """Indices of the uniformly sampled optical region (for convolution)."""
        self.dlnlam = float(np.log1p(0.5 / R_SPEC))
        self.agb = CircumstellarDust(self.wave_rest)

    def compute(self, params):
        """Observed-frame f_λ (erg/s/cm²/Å) at ``wave_rest * (1 + z)`` and bagpipes' truths.

        Returns
        -------
        flux : ndarray
        info : dict
            ``log_mstar`` (surviving stellar mass), ``log_sfr`` (100 Myr average).

        ``params["agb_ratio"]`` (0 if absent) adds the circumstellar dust of AGB stars with that
        ratio of its rest-frame W3 luminosity to the photospheres' (:mod:`specir.sim.agb`).
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._model.update(_components(params))
        sfh = self._model.sfh
        flux = np.array(self._model.spectrum_full, dtype=float)
        flux += self.agb.flux(self._model, float(params.get("agb_ratio", 0.0)), float(params["z"]))
        return flux, {
            "log_mstar": float(sfh.stellar_mass),
            "log_sfr": float(np.log10(max(sfh.sfr, 1e-6))),
        }
