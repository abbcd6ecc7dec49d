"""The rest-frame optical lines and features that specir's analyses identify (one list).

Wavelengths are vacuum Å (the model grid is in vacuum). Absorption features are the Lick /
SDSS names with their usual air wavelengths converted to vacuum (Morton 2000); emission lines
are the vacuum wavelengths the simulator uses (:mod:`specir.sim.agn`). A blend (Hα + [N II],
Ca II H & K, Mg b, Na D, the Ca triplet) is one feature whose window covers its members.

Examples
--------
>>> identify(6566.0).name
'Hα + [N II]'
>>> identify(4500.0) is None
True
>>> [f.name for f in LINES if f.kind == "emission"][:3]
['[O II] 3727', '[Ne III] 3869', 'Hδ']
"""

from dataclasses import dataclass

import numpy as np

from specir.sim.sed import air_to_vacuum

__all__ = ["LINES", "Feature", "identify", "in_windows"]


def _vac(air):
    return float(air_to_vacuum(air))


@dataclass(frozen=True)
class Feature:
    """One rest-frame feature: its name, kind and window ``[lo, hi]`` (vacuum Å)."""

    name: str
    kind: str
    """``"emission"``, ``"absorption"`` or ``"break"``; Balmer lines that are seen in
    emission in star-forming galaxies and in absorption in older ones count as emission."""
    wavelength: float
    lo: float
    hi: float

    def contains(self, wave):
        """Whether rest wavelength(s) ``wave`` fall in the window."""
        wave = np.asarray(wave, float)
        return (wave >= self.lo) & (wave <= self.hi)


def _f(name, kind, centre, half=None, lo=None, hi=None):
    half = 12.0 if half is None else half
    return Feature(
        name, kind, float(centre), float(lo or centre - half), float(hi or centre + half)
    )


LINES = (
    _f("[O II] 3727", "emission", 3728.5, 12.0),
    _f("[Ne III] 3869", "emission", 3869.9, 10.0),
    _f("Ca II K", "absorption", _vac(3933.66), 12.0),
    _f("Ca II H", "absorption", _vac(3968.47), 10.0),
    _f("D4000 break", "break", 4000.0, lo=3850.0, hi=4100.0),
    _f("Sr II 4077", "absorption", _vac(4077.71), 8.0),
    _f("Hδ", "emission", 4102.9, 10.0),
    _f("G band 4304", "absorption", _vac(4304.4), 12.0),
    _f("Hγ", "emission", 4341.7, 10.0),
    _f("Fe I 4383", "absorption", _vac(4383.5), 10.0),
    _f("Hβ", "emission", 4862.7, 12.0),
    _f("[O III] 4960", "emission", 4960.3, 8.0),
    _f("[O III] 5008", "emission", 5008.2, 10.0),
    _f("Mg b", "absorption", _vac(5175.0), 15.0),
    _f("Fe I 5270", "absorption", _vac(5270.0), 12.0),
    _f("Fe I 5335", "absorption", _vac(5335.0), 12.0),
    _f("Na D", "absorption", _vac(5892.9), 12.0),
    _f("[O I] 6300", "emission", 6302.0, 8.0),
    _f("Hα + [N II]", "emission", 6564.6, lo=6538.0, hi=6598.0),
    _f("[S II] 6718,6733", "emission", 6725.0, lo=6708.0, hi=6743.0),
    _f("Ca II triplet", "absorption", _vac(8600.0), lo=8485.0, hi=8680.0),
)
"""Every feature, in order of wavelength (windows of the line features do not overlap)."""


def identify(wave, *, kinds=None):
    """The feature whose window holds rest wavelength ``wave`` (the narrowest), or None.

    ``kinds`` limits the search (``("emission",)``). The D4000 break window spans Ca II H & K,
    Sr II and Hδ; a wavelength inside one of those narrower windows is identified as it.
    """
    hits = [f for f in LINES if f.contains(wave) and (kinds is None or f.kind in kinds)]
    return min(hits, key=lambda f: f.hi - f.lo) if hits else None


def in_windows(wave, *, kinds=("emission",), names=None):
    """Boolean mask of rest wavelengths inside any window of the given kinds (or names)."""
    wave = np.asarray(wave, float)
    out = np.zeros(wave.shape, bool)
    for f in LINES:
        if (names is not None and f.name in names) or (names is None and f.kind in kinds):
            out |= f.contains(wave)
    return out
