"""Throughput of ``predict_ir`` and of its model part ``predict_prepared`` at batch 1 and 1024.

Uses the shipped default bundle. ``predict_ir`` is timed end to end on specutils ``Spectrum``
objects (SDSS-like log-λ spectra sharing one grid, so the resampler's sparse matrix is built once
and applied to all; given the total r magnitude); ``predict_prepared`` on spectra already on the
grid. It also records the FLOPs per spectrum (torch.utils.flop_counter) and the ratio of
achieved FLOP/s to this machine's measured float32 matrix-multiply peak.

Usage::

    PYTHONPATH=. python benchmarks/bench_predict.py --threads 2
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result


def matmul_peak(device, n=2048, repeats=10):
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    best = np.inf
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        a @ b
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def fake_prepared(n, seed=0):
    from specir.spectra import PreparedSpectra

    rng = np.random.default_rng(seed)
    flux = (1 + 0.2 * rng.standard_normal((n, 3921))).astype(np.float32)
    return PreparedSpectra(
        flux=flux,
        ivar=np.full_like(flux, 25.0),
        z=rng.uniform(0.02, 0.3, n),
        norm=rng.uniform(5, 50, n),
        coverage=np.ones(n),
        flags=np.zeros(n, dtype=np.int64),
    )


def sdss_like_spectra(n, seed=0):
    """``n`` SDSS-like specutils spectra on one log-λ grid (continuum, lines, noise)."""
    import astropy.units as u
    from astropy.nddata import InverseVariance
    from specutils import Spectrum

    rng = np.random.default_rng(seed)
    wave = 10 ** (3.5800 + 1e-4 * np.arange(3850))
    z = rng.uniform(0.03, 0.25, n)
    rest = wave[None, :] / (1 + z[:, None])
    cont = 20.0 * (rest / 5500.0) ** 0.5 * np.where(rest < 4000, 0.6, 1.0)
    lines = sum(
        a * np.exp(-0.5 * ((rest - c) / 2.5) ** 2)
        for c, a in [(3727, 30), (4861, 20), (5007, 45), (6563, 80)]
    )
    sigma = 0.5 + 0.02 * cont
    flux = cont + lines + rng.normal(size=cont.shape) * sigma
    unit = u.Unit("1e-17 erg / (s cm2 Angstrom)")
    spec = Spectrum(
        flux=flux * unit,
        spectral_axis=wave * u.AA,
        uncertainty=InverseVariance(1 / sigma**2, unit=unit**-2),
    )
    return spec, z, rng.uniform(14.5, 17.7, n)


def predict_ir_throughput(bundle, n, batch_size, repeats):
    from specir.predict import predict_ir

    spec, z, r = sdss_like_spectra(n)
    predict_ir(spec[:8], z=z[:8], r_mag=r[:8], model=bundle)  # warm-up
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        predict_ir(spec, z=z, r_mag=r, model=bundle, batch_size=batch_size)
        best = min(best, time.perf_counter() - t)
    return n / best


def throughput(bundle, n, batch_size, repeats):
    from specir.predict import predict_prepared

    p = fake_prepared(n)
    predict_prepared(fake_prepared(min(n, 64)), model=bundle, batch_size=batch_size)  # warm-up
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        predict_prepared(p, model=bundle, batch_size=batch_size)
        best = min(best, time.perf_counter() - t)
    return n / best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from specir.bundle import load_bundle
    from specir.model import flops_per_spectrum

    bundle_cpu = load_bundle("default", device="cpu")
    net = bundle_cpu.model
    flops = flops_per_spectrum(net)
    result = {
        "what": "predict_ir (specutils spectra -> table) and predict_prepared (network + output "
        "table on spectra already on the grid) with the shipped default bundle",
        "model_sha256": bundle_cpu.card["sha256"],
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": os.getloadavg(),
        "note": "the 2-core machine is shared; a load average above ~1 slows these numbers",
        "n_parameters": sum(p.numel() for p in net.parameters()),
        "flops_per_spectrum": flops,
        "flop_counter": "torch.utils.flop_counter.FlopCounterMode (conv + matmul only)",
        "devices": {},
    }
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        bundle = load_bundle("default", device=device)
        big = 8192 if device == "cpu" else 200_000
        r1 = throughput(bundle, 256 if device == "cpu" else 2048, 1, 2)
        r1024 = throughput(bundle, big, 1024, 3)
        rbig = throughput(bundle, big, None, 3) if device == "cuda" else None
        ir1 = predict_ir_throughput(bundle, 128, 1, 2)
        ir1024 = predict_ir_throughput(bundle, 4096, 1024, 3)
        peak = matmul_peak(device)
        result["devices"][device] = {
            "predict_ir_spectra_per_s_batch1": round(ir1, 1),
            "predict_ir_spectra_per_s_batch1024": round(ir1024, 1),
            "spectra_per_s_batch1": round(r1, 1),
            "spectra_per_s_batch1024": round(r1024, 1),
            "spectra_per_s_default_batch": None if rbig is None else round(rbig, 1),
            "achieved_flop_per_s_batch1024": r1024 * flops,
            "matmul_peak_flop_per_s": peak,
            "matmul_peak_how": "best of 10 float32 2048x2048 torch matmuls",
            "ratio_achieved_to_peak": r1024 * flops / peak,
            "sdss_main_sample_900k_minutes_predict_ir": round(9e5 / ir1024 / 60, 1),
            "sdss_main_sample_900k_minutes_model_only": round(9e5 / r1024 / 60, 1),
        }
    path = write_result("predict", result)
    print(path.read_text())


if __name__ == "__main__":
    main()
