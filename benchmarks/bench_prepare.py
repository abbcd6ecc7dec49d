"""Throughput of prepare_spectra against specutils' resampler called one spectrum at a time.

Usage: python benchmarks/bench_prepare.py [--n 10000] [--n-reference 200] [--repeat 3]

Spectra are SDSS-like: each on SDSS's log-λ grid (1e-4 dex) with its own start and length, as
real SDSS spectra are. The reference loop is specutils' FluxConservingResampler onto the same
model grid, one spectrum at a time; it is timed on ``--n-reference`` spectra and expressed per
spectrum (it is linear in the number of spectra). Both timings come from the same run.
"""

import argparse
import statistics
import time

import astropy.units as u
import numpy as np
from astropy.nddata import InverseVariance
from machine import write_result
from specutils import Spectrum
from specutils.manipulation import FluxConservingResampler

from specir import prepare_spectra
from specir.grid import grid_wavelength

UNIT = u.Unit("1e-17 erg / (s cm2 Angstrom)")


def sdss_like(n, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        start = 3.5790 + 1e-4 * rng.integers(0, 40)
        npix = int(rng.integers(3800, 3861))
        wave = 10 ** (start + 1e-4 * np.arange(npix))
        flux = 10 + rng.normal(0, 1, npix)
        ivar = np.full(npix, 1.0)
        out.append(
            Spectrum(
                flux=flux * UNIT,
                spectral_axis=wave * u.AA,
                uncertainty=InverseVariance(ivar),
                redshift=float(rng.uniform(0.02, 0.3)),
            )
        )
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--n-reference", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    spectra = sdss_like(args.n)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        prep = prepare_spectra(spectra)
        times.append(time.perf_counter() - t0)
    assert len(prep) == args.n
    grid = grid_wavelength() * u.AA
    resampler = FluxConservingResampler(extrapolation_treatment="zero_fill")
    ref_times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        for s in spectra[: args.n_reference]:
            resampler(s, grid)
        ref_times.append((time.perf_counter() - t0) / args.n_reference)
    ours = args.n / statistics.median(times)
    ref = 1.0 / statistics.median(ref_times)
    result = {
        "n_spectra": args.n,
        "repeats": args.repeat,
        "prepare_spectra_seconds": times,
        "prepare_spectra_spectra_per_s_median": ours,
        "specutils_loop_n_timed": args.n_reference,
        "specutils_loop_seconds_per_spectrum": ref_times,
        "specutils_loop_spectra_per_s_median": ref,
        "speedup_median": ours / ref,
        "goal_speedup": 50,
    }
    path = write_result("prepare", result)
    print(
        f"prepare_spectra: {ours:,.0f} spectra/s; specutils loop: {ref:,.1f} spectra/s; "
        f"speed-up {ours / ref:,.0f}x -> {path}"
    )


if __name__ == "__main__":
    main()
