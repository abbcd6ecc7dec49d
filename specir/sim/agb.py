"""Circumstellar dust of asymptotic-giant-branch (AGB) stars: the mid-infrared excess of old
stellar populations.

BC03 stellar spectra are photospheres. Real old populations also shine in the mid-infrared
through the dust that AGB stars shed: Mazzei & De Zotti (1994, ApJ 426, 97;
arXiv:astro-ph/9402005) find that the IRAS 12 µm light of nearby ellipticals is 50–60 %
photospheric, 30–40 % circumstellar and under 10 % diffuse interstellar dust; Bressan et al.
(2006, ApJ 639, L55) see the broad 10 µm silicate emission of these envelopes in 76 % of
passive Virgo early types, and Temi et al. (2005, arXiv:astro-ph/0412102) find the
mid-infrared to optical ratio of ellipticals independent of age beyond a few Gyr. Here every
galaxy gets a circumstellar component whose luminosity in the rest-frame W3 band is ``ratio``
times that of its stellar photospheres (``ratio`` between 0.30/0.60 and 0.40/0.50, the range
Mazzei & De Zotti's fractions allow).

Its spectrum is that of an optically thin dusty wind (constant mass loss, ρ ∝ r^-2) around
the star: grains condense at T_in = 1000 K and cool outwards as T ∝ r^-0.4, the radiative
equilibrium of grains whose opacity falls as λ^-1, T ∝ r^(-2/(4+β)) with β = 1 (Ivezić &
Elitzur 1997, MNRAS 287, 799), out to 1000 r_in; the opacity κ_λ is the Milky Way's average
mid-infrared extinction curve with its 10 and 18 µm silicate features (Gordon et al. 2021, ApJ
916, 33; ``dust_extinction``'s ``G21_MWAvg``), extended beyond 32 µm as λ^-2. Then
L_λ ∝ κ_λ ∫ B_λ(T(r)) dr.

Examples
--------
>>> import numpy as np
>>> wave = np.geomspace(2e4, 4e5, 400)  # Å
>>> shape = circumstellar_shape(wave)
>>> bool(8.5e4 < wave[np.argmax(shape * wave)] < 11e4)  # νL_ν peaks on the silicate band
True
"""

import functools

import numpy as np

from specir.sim.extinction import mir_extinction

__all__ = ["AGB_RATIO_RANGE", "T_CONDENSATION", "CircumstellarDust", "circumstellar_shape"]

AGB_RATIO_RANGE = (0.30 / 0.60, 0.40 / 0.50)
"""Circumstellar / photospheric luminosity in the rest-frame W3 band: the range of the 12 µm
fractions of ellipticals in Mazzei & De Zotti (1994)."""
T_CONDENSATION = 1000.0
"""Dust temperature (K) at the inner edge of the wind, where silicate grains condense."""
_T_SLOPE = 0.4  # T ∝ r^-0.4: grains with κ ∝ λ^-1 in radiative equilibrium (2 / (4 + 1))
_R_OUT = 1000.0  # outer radius of the wind in units of the condensation radius
_H, _C, _K = 6.62607015e-27, 2.99792458e10, 1.380649e-16  # cgs


@functools.lru_cache(maxsize=4)
def _shape_cached(wave_key):
    wave = np.frombuffer(wave_key, dtype=float)
    radius = np.geomspace(1.0, _R_OUT, 400)
    temp = T_CONDENSATION * radius**-_T_SLOPE
    lam = wave[:, None] * 1e-8
    x = np.minimum(_H * _C / (lam * _K * temp[None, :]), 700.0)
    planck = lam**-5 / np.expm1(x)
    emission = np.trapezoid(planck, radius, axis=1)  # ∫ B_λ(T(r)) dr, ρ r² constant
    shape = mir_extinction(wave) * emission
    return shape / shape.max()


def circumstellar_shape(wave_aa):
    """Spectral shape L_λ (peak 1) of AGB circumstellar dust at rest wavelengths in Å.

    Zero below 1 µm (the opacity curve's range; the dust emits nothing there).
    """
    wave = np.ascontiguousarray(wave_aa, dtype=float)
    return _shape_cached(wave.tobytes()).copy()


class CircumstellarDust:
    """The circumstellar emission of a bagpipes model's stars, on its wavelength sampling.

    Parameters
    ----------
    wave_rest : array_like
        The model's rest-frame wavelengths (vacuum Å), those of ``model.wavelengths``.
    """

    def __init__(self, wave_rest):
        import speclite.filters

        from specir.sim.photometry import filter_wavelength_aa

        w3 = speclite.filters.load_filter("wise2010-W3")
        wave = np.asarray(wave_rest, float)
        self.wave_rest = wave
        resp = np.interp(wave, filter_wavelength_aa(w3), w3.response, left=0.0, right=0.0)
        self._idx = np.flatnonzero(resp > 0)
        self._weight = (resp * wave * np.gradient(wave))[self._idx]  # photon counting
        self.shape = circumstellar_shape(wave)
        self._shape_w3 = float(self._weight @ self.shape[self._idx])

    def w3_luminosity(self, spectrum):
        """Rest-frame W3 band average of ``spectrum`` (any f_λ on the model's sampling)."""
        return float(self._weight @ np.asarray(spectrum)[self._idx])

    def flux(self, model, ratio, z):
        """Observed f_λ (erg/s/cm²/Å) of the dust around ``model``'s stars after its update.

        ``ratio``: circumstellar / photospheric light in the rest-frame W3 band; ``model`` a
        bagpipes ``model_galaxy`` just updated (its star-formation history and distance).
        """
        if not (np.isfinite(ratio) and ratio >= 0.0):
            from specir.errors import SpecIRInputError

            raise SpecIRInputError("agb_ratio", f"is {ratio!r}", "give a finite ratio >= 0")
        if ratio == 0.0:
            return np.zeros_like(self.shape)
        grid = model.stellar.grid[self._idx]  # (wave, metallicity, age), L_sun/Å per M_sun
        photosphere = np.einsum("wma,ma->w", grid, model.sfh.ceh.grid)
        scale = ratio * float(self._weight @ photosphere) / self._shape_w3
        return scale * self.shape * 3.826e33 / (model.lum_flux * (1.0 + z))
