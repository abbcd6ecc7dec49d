"""Vectorised flux-conserving resampling with inverse-variance propagation.

The scheme is that of specutils' ``FluxConservingResampler`` (Carnall 2017,
arXiv:1705.05165): an output pixel's flux is the overlap-weighted mean of the input pixels it
covers, ``f_j = Σ_i p_ij f_i / Σ_i p_ij``, and its variance ``Σ_i p_ij² σ_i² / (Σ_i p_ij)²``,
where ``p_ij`` is the wavelength overlap of input pixel ``i`` with output pixel ``j``. Two
differences: masked input pixels (zero inverse variance) carry zero weight instead of
spreading infinite variance, and output pixels only partly covered by the input are averaged
over the covered part. The overlaps are held in one sparse matrix per input grid, so many
spectra on the same grid are resampled with a single sparse product.
"""

import numpy as np
from scipy import sparse

__all__ = ["edges_from_centres", "overlap_matrix", "resample"]


def edges_from_centres(centres):
    """Pixel edges from pixel centres, in specutils' convention.

    Interior edges are midpoints between neighbouring centres; the outer edges are placed half
    a neighbouring spacing beyond the first and last centre.

    Examples
    --------
    >>> edges_from_centres(np.array([1.0, 2.0, 4.0]))
    array([0.5, 1.5, 3. , 5. ])
    """
    c = np.asarray(centres, dtype=float)
    lo = np.concatenate([[2 * c[0] - c[1]], c])
    hi = np.concatenate([c, [2 * c[-1] - c[-2]]])
    return 0.5 * (lo + hi)


def overlap_matrix(in_edges, out_edges):
    """Sparse matrix ``P`` (n_out × n_in) of wavelength overlaps between pixels.

    Parameters
    ----------
    in_edges, out_edges : ndarray
        Increasing pixel edges (n_in + 1 and n_out + 1 values), in the same unit.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``P[j, i]`` is the length of the overlap of input pixel ``i`` with output pixel ``j``.
    """
    n_in, n_out = len(in_edges) - 1, len(out_edges) - 1
    lo = max(in_edges[0], out_edges[0])
    hi = min(in_edges[-1], out_edges[-1])
    if hi <= lo:
        return sparse.csr_matrix((n_out, n_in))
    cuts = np.union1d(in_edges, out_edges)
    cuts = cuts[(cuts >= lo) & (cuts <= hi)]
    width = np.diff(cuts)
    mid = 0.5 * (cuts[1:] + cuts[:-1])
    i = np.searchsorted(in_edges, mid) - 1
    j = np.searchsorted(out_edges, mid) - 1
    keep = (width > 0) & (i >= 0) & (i < n_in) & (j >= 0) & (j < n_out)
    return sparse.csr_matrix((width[keep], (j[keep], i[keep])), shape=(n_out, n_in))


def resample(in_wave, flux, ivar, out_wave):
    """Resample spectra that share one input grid onto ``out_wave``.

    Parameters
    ----------
    in_wave : ndarray, shape (m,)
        Increasing input pixel centres.
    flux, ivar : ndarray, shape (n, m)
        Flux and inverse variance; pixels with ``ivar <= 0`` carry no weight.
        ``flux`` must be finite wherever ``ivar > 0``.
    out_wave : ndarray, shape (k,)
        Increasing output pixel centres, same unit as ``in_wave``.

    Returns
    -------
    out_flux, out_ivar : ndarray, shape (n, k)
        Output pixels that no valid input pixel overlaps get flux 0 and ivar 0.

    Examples
    --------
    Two input pixels averaged into one output pixel halve the variance; an output pixel
    beyond the input's coverage gets zero weight:

    >>> f, iv = resample(np.array([1.0, 2.0]), np.array([[1.0, 3.0]]), np.array([[1.0, 1.0]]),
    ...                  np.array([1.5, 3.5]))
    >>> f, iv
    (array([[2., 0.]]), array([[2., 0.]]))
    """
    flux = np.atleast_2d(np.asarray(flux, dtype=float))
    ivar = np.atleast_2d(np.asarray(ivar, dtype=float))
    p = overlap_matrix(edges_from_centres(in_wave), edges_from_centres(out_wave))
    good = ivar > 0
    weight = good.astype(float)
    var = np.zeros_like(ivar)
    np.divide(1.0, ivar, out=var, where=good)
    fw = np.where(good, flux, 0.0)
    # (k, m) sparse @ (m, n) dense, transposed back to (n, k)
    den = (p @ weight.T).T
    num = (p @ fw.T).T
    vnum = (p.multiply(p).tocsr() @ var.T).T
    covered = den > 0
    out_flux = np.zeros_like(den)
    np.divide(num, den, out=out_flux, where=covered)
    out_ivar = np.zeros_like(den)
    ok = covered & (vnum > 0)
    np.divide(den**2, vnum, out=out_ivar, where=ok)
    return out_flux, out_ivar
