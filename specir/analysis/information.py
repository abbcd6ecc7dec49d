"""Where a simulated survey carries each band's infrared information: lines or stellar light.

Integrated gradients say which features *the network* uses; on a simulated survey, where the
truth is known, one can also ask which features *carry* the information at all, independently
of any network. :func:`feature_strengths` measures, on each (noisy, observed) spectrum, the
strength of every feature of :data:`specir.analysis.lines.LINES` — the mean flux in its window
over the mean of two side bands, minus one — plus two measures of the continuum shape: the
narrow 4000 Å break Dn4000 (Balogh et al. 1999, ApJ 527, 54: 4000–4100 Å over 3850–3950 Å) and
the red-to-blue continuum ratio (6000–6300 Å over 4500–4800 Å).

:func:`information_table` then predicts each band's true colour W − r (the noiseless simulated
flux against the total r magnitude: what the network predicts once r is given) from each
family of features alone — emission lines, absorption features, continuum shape — and from all
of them, with gradient-boosted trees, and reports the cross-validated R² per galaxy class. A
family with the higher R² carries more of the band's information in that survey; a network is
free to read redundant information from either.
"""

import numpy as np

from specir.analysis.lines import LINES
from specir.bands import BAND_NAMES, mjy_to_mag
from specir.grid import GRID_DLOGLAM, GRID_LOGLAM0, GRID_NPIX

__all__ = ["CONTINUUM", "FAMILIES", "feature_strengths", "information_table"]

SIDEBAND = (10.0, 50.0)
"""Side bands of a feature window: from 10 to 50 Å beyond each edge."""
CONTINUUM = {
    "Dn4000": ((4000.0, 4100.0), (3850.0, 3950.0)),
    "red/blue continuum": ((6000.0, 6300.0), (4500.0, 4800.0)),
}
"""Continuum-shape measures: (numerator window, denominator window), rest Å."""
FAMILIES = ("emission", "absorption", "continuum", "all")
"""Feature families of :func:`information_table`, in order."""
MIN_ROWS = 100
"""Classes with fewer galaxies (with a finite colour) are left out of the table."""


def _window_mean(flux, valid, rest, lo, hi):
    m = valid & (rest >= lo) & (rest <= hi)
    count = m.sum(axis=1)
    total = np.where(m, flux, 0.0).sum(axis=1)
    return np.where(count >= 3, total / np.maximum(count, 1), np.nan)


def feature_strengths(flux, valid, z) -> dict:
    """Per spectrum, each feature's strength (see the module docstring), NaN where not covered.

    Parameters
    ----------
    flux, valid : ndarray, shape (n, 3921)
        Normalised flux and pixel mask on the model grid (observed frame).
    z : ndarray, shape (n,)

    Returns
    -------
    dict of str to ndarray
        ``{feature name: (n,)}`` for the features of ``LINES`` bluer than 7000 Å, then the
        measures of :data:`CONTINUUM`.

    Examples
    --------
    >>> from specir.grid import GRID_DLOGLAM, GRID_LOGLAM0, GRID_NPIX
    >>> wave = 10 ** (GRID_LOGLAM0 + GRID_DLOGLAM * np.arange(GRID_NPIX))
    >>> flux = 1 + 4 * np.exp(-0.5 * ((wave - 6564.6) / 2.0) ** 2)  # an Hα line at z = 0
    >>> s = feature_strengths(flux[None], np.ones((1, GRID_NPIX), bool), np.zeros(1))
    >>> bool(s["Hα + [N II]"][0] > 0.2), round(float(s["Mg b"][0]), 3)
    (True, 0.0)
    """
    flux = np.asarray(flux, np.float64)
    valid = np.asarray(valid, bool) & np.isfinite(flux)
    wave = 10 ** (GRID_LOGLAM0 + GRID_DLOGLAM * np.arange(GRID_NPIX))
    rest = wave[None, :] / (1.0 + np.asarray(z, float))[:, None]
    near, far = SIDEBAND
    out = {}
    for f in LINES:
        if f.hi > 7000.0:
            continue
        inside = _window_mean(flux, valid, rest, f.lo, f.hi)
        blue = _window_mean(flux, valid, rest, f.lo - far, f.lo - near)
        red = _window_mean(flux, valid, rest, f.hi + near, f.hi + far)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f.name] = inside / (0.5 * (blue + red)) - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, (num, den) in CONTINUUM.items():
            num_mean = _window_mean(flux, valid, rest, *num)
            out[name] = num_mean / _window_mean(flux, valid, rest, *den)
    # a side band or window averaging to zero gives ±inf: unmeasured, like an uncovered one
    return {k: np.where(np.isfinite(v), v, np.nan) for k, v in out.items()}


def _families(names):
    kinds = {f.name: f.kind for f in LINES}
    fam = {
        "emission": [i for i, n in enumerate(names) if kinds.get(n) == "emission"],
        "absorption": [i for i, n in enumerate(names) if kinds.get(n) in ("absorption", "break")],
        "continuum": [i for i, n in enumerate(names) if n in CONTINUUM],
    }
    fam["all"] = list(range(len(names)))
    return fam


def information_table(data, classes, *, bands=BAND_NAMES, folds=5, seed=0) -> dict:
    """Cross-validated R² of the true W − r from each feature family, per class and band.

    Parameters
    ----------
    data : dict
        Arrays of :func:`specir.dataset.read_catalog_arrays` with the simulated truths
        (``flux_true``) and total r magnitudes.
    classes : ndarray of str, shape (n,)
        The galaxy class of each row (for example
        :func:`specir.analysis.attribute_run.galaxy_class`).
    bands : sequence of str
    folds : int
        Cross-validation folds (shuffled with ``seed``).

    Returns
    -------
    dict
        ``{class: {"n": int, band: {family: R²}}}`` for the classes with at least
        :data:`MIN_ROWS` galaxies; empty without truths.
    """
    if "flux_true" not in data or classes is None:
        return {}
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold, cross_val_score

    strengths = feature_strengths(data["flux"], data["valid"], data["z"])
    names = list(strengths)
    x = np.stack([strengths[k] for k in names], axis=1)
    colour = mjy_to_mag(np.asarray(data["flux_true"], float)) - data["r_mag"][:, None]
    cv = KFold(folds, shuffle=True, random_state=seed)
    out = {}
    for cls in sorted(set(classes)):
        entry = {}
        for b in bands:
            t = colour[:, BAND_NAMES.index(b)]
            sel = (classes == cls) & np.isfinite(t)
            if sel.sum() < MIN_ROWS:
                continue
            entry["n"] = int(sel.sum())
            entry[b] = {}
            for fam, cols in _families(names).items():
                model = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05)
                r2 = cross_val_score(model, x[sel][:, cols], t[sel], cv=cv, scoring="r2")
                entry[b][fam] = float(np.mean(r2))
        if entry:
            out[str(cls)] = entry
    return out
