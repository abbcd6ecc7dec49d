"""Spectra as astronomers will bring them: cut, gapped and noisier than the training survey.

:func:`augment_batch` degrades a training batch at random, the same way for every epoch's
shuffled batches (a seeded :class:`torch.Generator`): rest-frame truncations of the blue end,
the red end or both (other spectrographs, dichroic gaps, redshift pushing lines off the red
end), masked chunks (bad columns) and added noise (lower S/N). After the masking it
renormalises each spectrum exactly as :func:`specir.spectra.prepare_grid_arrays` would
(median flux in rest-frame :data:`~specir.grid.NORM_WINDOW`, else the median of all valid
pixels), so that the network sees at training time what ``predict_ir`` gives it later.
:func:`cut_rest_frame` makes the deterministic cuts of the robustness evaluation.

Examples
--------
>>> cfg = AugmentConfig(probability=1.0)
>>> cfg.probability, cfg.blue_cut_aa
(1.0, (3400.0, 4300.0))
"""

from dataclasses import dataclass

import numpy as np

from specir.errors import SpecIRInputError
from specir.grid import NORM_WINDOW, grid_wavelength

__all__ = ["AugmentConfig", "augment_batch", "cut_rest_frame", "renormalise"]


@dataclass(frozen=True)
class AugmentConfig:
    """How often and how hard :func:`augment_batch` degrades training spectra.

    ``probability`` is the fraction of rows degraded at all; a degraded row is then cut (blue,
    red or both ends, ``p_cut``), gapped (``p_gap``) and made noisier (``p_noise``), each
    independently. 0 turns augmentation off (the default, as for bundles trained before it).
    """

    probability: float = 0.0
    p_cut: float = 0.7
    blue_cut_aa: tuple = (3400.0, 4300.0)
    """Range of the new blue end (rest frame, Å) of a blue-cut spectrum."""
    red_cut_aa: tuple = (5900.0, 7500.0)
    """Range of the new red end (rest frame, Å) of a red-cut spectrum."""
    p_gap: float = 0.4
    max_gaps: int = 3
    gap_aa: tuple = (30.0, 400.0)
    """Range of the rest-frame width (Å) of a masked chunk."""
    p_noise: float = 0.5
    noise: tuple = (0.02, 0.3)
    """Range of the added Gaussian noise per pixel, in units of the spectrum's normalisation."""

    def __post_init__(self):
        for name in ("probability", "p_cut", "p_gap", "p_noise"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SpecIRInputError(f"augment.{name}", f"is {value}", "use 0 <= value <= 1")
        for name in ("blue_cut_aa", "red_cut_aa", "gap_aa", "noise"):
            pair = tuple(float(v) for v in getattr(self, name))
            if len(pair) != 2 or not 0 <= pair[0] <= pair[1]:
                raise SpecIRInputError(f"augment.{name}", f"is {pair}", "give [low, high]")
            object.__setattr__(self, name, pair)
        if self.blue_cut_aa[1] >= self.red_cut_aa[0]:
            raise SpecIRInputError(
                "augment.blue_cut_aa", "overlaps red_cut_aa", "keep blue cuts below red cuts"
            )


def _rest(z, torch):
    lam = torch.as_tensor(grid_wavelength(), dtype=torch.float32, device=z.device)
    return lam[None, :] / (1.0 + z.to(torch.float32))[:, None]


def renormalise(flux, valid, z, norm):
    """Normalise again after pixels were masked, as :mod:`specir.spectra` does (torch).

    Returns the new ``flux`` and ``norm``; a row left without any valid pixel keeps its own.
    """
    import torch

    rest = _rest(z, torch)
    window = valid & (rest >= NORM_WINDOW[0]) & (rest <= NORM_WINDOW[1])
    nan = torch.full_like(flux, float("nan"))
    med = torch.nanquantile(torch.where(window, flux, nan), 0.5, dim=1)  # numpy's median
    fallback = ~(med > 0)
    med_all = torch.nanquantile(torch.where(valid, flux, nan), 0.5, dim=1)
    med = torch.where(fallback, med_all, med)
    med = torch.where(med > 0, med, torch.ones_like(med))
    return flux / med[:, None], norm * med.to(norm.dtype)


def _uniform(n, lo, hi, gen, device):
    import torch

    return lo + (hi - lo) * torch.rand(n, generator=gen).to(device)


def augment_batch(batch: dict, cfg: AugmentConfig, gen) -> dict:
    """Degrade a fraction of a training batch in place of the clean spectra.

    ``batch`` holds tensors ``flux`` (normalised), ``valid`` (0/1), ``z`` and ``norm``;
    the returned dict has them replaced (other keys untouched). Random numbers come from the
    CPU generator ``gen`` only, so a seeded run repeats exactly.
    """
    import torch

    if cfg.probability <= 0:
        return batch
    flux, valid, z, norm = (batch[k] for k in ("flux", "valid", "z", "norm"))
    n, dev = len(z), flux.device
    keep = valid > 0
    rest = _rest(z, torch)
    hit = torch.rand(n, generator=gen).to(dev) < cfg.probability

    def chance(p):
        return hit & (torch.rand(n, generator=gen).to(dev) < p)

    cut = chance(cfg.p_cut)
    side = torch.randint(0, 3, (n,), generator=gen).to(dev)  # 0 blue, 1 red, 2 both
    blue = _uniform(n, *cfg.blue_cut_aa, gen, dev)
    red = _uniform(n, *cfg.red_cut_aa, gen, dev)
    lo = torch.where(cut & (side != 1), blue, torch.zeros_like(blue))
    hi = torch.where(cut & (side != 0), red, torch.full_like(red, float("inf")))
    keep = keep & (rest >= lo[:, None]) & (rest <= hi[:, None])
    gapped = chance(cfg.p_gap)
    for _ in range(cfg.max_gaps):
        centre = _uniform(n, 3000.0, 9000.0, gen, dev)
        half = 0.5 * _uniform(n, *cfg.gap_aa, gen, dev)
        inside = (rest - centre[:, None]).abs() <= half[:, None]
        keep = keep & ~(gapped[:, None] & inside)
    noisy = chance(cfg.p_noise)
    sigma = torch.where(noisy, _uniform(n, *cfg.noise, gen, dev), torch.zeros(n, device=dev))
    noise = torch.randn(flux.shape, generator=gen).to(dev) * sigma[:, None]
    empty = ~keep.any(dim=1)  # never leave a row with nothing: keep its clean spectrum
    keep = torch.where(empty[:, None], valid > 0, keep)
    new = torch.where(keep, flux + torch.where(empty[:, None], 0.0, noise), torch.zeros_like(flux))
    new, new_norm = renormalise(new, keep, z, norm)
    new = torch.where(hit[:, None], new, flux)  # untouched rows stay exactly as they were
    new_norm = torch.where(hit, new_norm, norm)
    keep = torch.where(hit[:, None], keep, valid > 0)
    return {**batch, "flux": new, "valid": keep.to(valid.dtype), "norm": new_norm}


def cut_rest_frame(flux, valid, z, norm, lo_aa, hi_aa):
    """Keep only rest-frame ``lo_aa``–``hi_aa`` of prepared spectra (numpy), renormalised.

    Returns ``(flux, valid, norm)`` as :func:`specir.spectra.prepare_grid_arrays` would give
    them for spectra that covered only that range.

    Examples
    --------
    >>> f = np.ones((1, 3921), np.float32)
    >>> f2, v2, n2 = cut_rest_frame(f, f > 0, np.array([0.1]), np.array([2.0]), 3700, 6000)
    >>> int(v2.sum()) < 3921, float(n2[0])
    (True, 2.0)
    """
    import torch

    rest = grid_wavelength()[None, :] / (1.0 + np.asarray(z, float))[:, None]
    keep = np.asarray(valid, bool) & (rest >= lo_aa) & (rest <= hi_aa)
    cut = np.where(keep, flux, 0.0).astype(np.float32)
    t = torch.as_tensor
    new, new_norm = renormalise(t(cut), t(keep), t(np.asarray(z, float)), t(np.asarray(norm)))
    return new.numpy().astype(np.float32), keep, new_norm.numpy()
