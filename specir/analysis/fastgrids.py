"""bagpipes' collapse of its model grids over the star-formation history, as matrix products.

At every likelihood call of a bagpipes fit, the stellar model sums its simple-stellar-population
grid over age, weighted by the star-formation and chemical-enrichment history, and the nebular
model does the same for its emission grids at two ionisation parameters. bagpipes forms each
product element by element and sums it, one metallicity at a time; profiled on a ``matched``
fit (:mod:`specir.analysis.sedfit`) these two were most of a likelihood call.
:func:`stellar_spectrum` and :func:`nebular_grid` compute the same sums as matrix–vector
products on the same grids, with the same split at the birth-cloud age and the same skipping of
metallicities without stars. They differ from bagpipes only in the order of the additions
(rounding; ``tests/analysis/test_fastgrids.py`` compares them with bagpipes' own).
:func:`use_in_bagpipes` makes bagpipes' models use them.
"""

import importlib

import numpy as np

__all__ = ["nebular_grid", "originals", "stellar_spectrum", "use_in_bagpipes"]


def _config():
    return importlib.import_module("bagpipes.config")


def _split(t_bc, config):
    """Index of the age bin holding ``t_bc`` (yr) and the share of that bin older than it."""
    index = int(np.count_nonzero(config.age_bins < t_bc))
    older = (config.age_bins[index] - t_bc) / config.age_widths[index - 1]
    return index, older


def _young(sfh, index, older):
    """Weights of the stars younger than the birth-cloud age (the bin holding it shared) and
    which metallicities have any."""
    young = sfh[:, :index].copy()
    young[:, -1] *= 1.0 - older
    return young, sfh[:, :index].sum(1) > 0


def _collapse(grid_of, weights, rows):
    """Sum over the metallicities ``rows`` of ``grid_of(i) @ weights[i]``."""
    out = None
    for i in np.flatnonzero(rows):
        term = grid_of(i) @ weights[i]
        out = term if out is None else out + term
    return out


def stellar_spectrum(self, sfh_ceh, t_bc=0.0):
    """``bagpipes.models.stellar_model.stellar.spectrum``: the same result, as products.

    Returns the spectrum of the stars younger than ``t_bc`` (Gyr) and that of the older ones,
    or only the latter where ``t_bc`` is 0; the age bin that holds ``t_bc`` is shared between
    the two in proportion to the ages on either side.
    """
    config = _config()
    t_bc = t_bc * 1e9
    index, older = _split(t_bc, config)
    index = max(index, 1)
    sfh = np.asarray(sfh_ceh, dtype=float)
    old = sfh[:, index - 1 :].copy()
    old[:, 0] *= older
    has_old = sfh[:, index - 1 :].sum(1) > 0  # as bagpipes: before the shared bin is split
    spectrum = _collapse(lambda i: self.grid[:, i, index - 1 :], old, has_old)
    spectrum = np.zeros_like(self.wavelengths) if spectrum is None else spectrum
    if t_bc == 0.0:
        return spectrum
    young, young_rows = _young(sfh, index, older)
    spectrum_young = _collapse(lambda i: self.grid[:, i, :index], young, young_rows)
    if spectrum_young is None:
        spectrum_young = np.zeros_like(self.wavelengths)
    return spectrum_young, spectrum


def nebular_grid(self, grid, sfh_ceh, t_bc, logU):
    """``bagpipes.models.nebular_model.nebular._interpolate_grid``: the same result, as products.

    Collapses ``grid`` (wavelength or line, metallicity, log U, age) over the stars younger
    than ``t_bc`` (Gyr) at the two tabulated log U around ``logU`` and interpolates between them.
    """
    config = _config()
    t_bc = t_bc * 1e9
    if logU == config.logU[0]:
        logU += 1e-10
    u_index = int(np.count_nonzero(config.logU < logU))
    u_weight = (config.logU[u_index] - logU) / (config.logU[u_index] - config.logU[u_index - 1])
    index, older = _split(t_bc, config)
    sfh = np.asarray(sfh_ceh, dtype=float)
    young, rows = _young(sfh, index, older)
    low = _collapse(lambda i: grid[:, i, u_index - 1, :index], young, rows)
    high = _collapse(lambda i: grid[:, i, u_index, :index], young, rows)
    if low is None:
        return np.zeros_like(grid[:, 0, 0, 0])
    return high * (1 - u_weight) + low * u_weight


_ORIGINALS = {}


def originals():
    """bagpipes' own ``stellar.spectrum`` and ``nebular._interpolate_grid`` (for comparison)."""
    stellar = importlib.import_module("bagpipes.models.stellar_model").stellar
    nebular = importlib.import_module("bagpipes.models.nebular_model").nebular
    _ORIGINALS.setdefault("stellar", stellar.spectrum)
    _ORIGINALS.setdefault("nebular", nebular._interpolate_grid)
    return _ORIGINALS["stellar"], _ORIGINALS["nebular"]


def use_in_bagpipes():
    """Make bagpipes' stellar and nebular models use these functions (idempotent)."""
    originals()  # keep bagpipes' own before replacing them
    importlib.import_module("bagpipes.models.stellar_model").stellar.spectrum = stellar_spectrum
    nebular = importlib.import_module("bagpipes.models.nebular_model").nebular
    nebular._interpolate_grid = nebular_grid
