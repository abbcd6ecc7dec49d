"""The shipped model on a GPU: throughput of the network and agreement with the CPU.

Needs only torch, numpy and safetensors (no astropy), so it runs on a bare GPU machine. Spectra
are random normalised spectra made on the host; the timed loop includes the host → GPU copy of
each batch and the copy of the outputs back, as ``predict_ir`` does. It also checks that the CUDA
outputs equal the CPU outputs (float32) for the same inputs.

Usage::

    SPECIR_BENCH_OUT=$OUT PYTHONPATH=. python benchmarks/bench_gpu.py
"""

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result


def inputs(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    flux = 1 + 0.2 * torch.randn(n, 3921, generator=g)
    valid = torch.ones(n, 3921)
    z = 0.02 + 0.28 * torch.rand(n, generator=g)
    norm = 5 + 45 * torch.rand(n, generator=g)
    r_mag = 14.5 + 3.2 * torch.rand(n, generator=g)
    return flux, valid, z, norm, r_mag


def rate(model, device, n, batch, repeats=3):
    x = inputs(n)
    best = np.inf
    for _ in range(repeats + 1):  # the first pass warms up
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.inference_mode():
            for s in range(0, n, batch):
                out = model(*(a[s : s + batch].to(device, non_blocking=True) for a in x))
                out = {k: v.cpu() for k, v in out.items()}
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return n / best


def main():
    from specir.bundle import load_bundle
    from specir.model import flops_per_spectrum

    assert torch.cuda.is_available(), "no CUDA device"
    cpu = load_bundle("default", device="cpu").model
    gpu = load_bundle("default", device="cuda").model
    x = inputs(512, seed=1)
    with torch.inference_mode():
        a = cpu(*x)
        b = gpu(*(t.cuda() for t in x))
    diff = {k: float((a[k] - b[k].cpu()).abs().max()) for k in ("mag_mu", "mag_logsig", "lagn_mu")}
    # the path predict_ir takes (specir.inference.run_network), CUDA against CPU
    from specir.inference import run_network

    arrays = [t.numpy() for t in x]
    ra, rb = run_network(cpu, arrays, batch_size=100), run_network(gpu, arrays, batch_size=100)
    diff_run_network = {k: float(np.abs(ra[k] - rb[k]).max()) for k in ("mag_mu", "mag_logsig")}
    flops = flops_per_spectrum(cpu)
    peak_n = 8192
    m1, m2 = torch.randn(peak_n, peak_n, device="cuda"), torch.randn(peak_n, peak_n, device="cuda")
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(10):
        m1 @ m2
    torch.cuda.synchronize()
    peak = 10 * 2 * peak_n**3 / (time.perf_counter() - t)
    result = {
        "what": "shipped default network on CUDA, float32, host->GPU copies included",
        "max_abs_diff_cuda_vs_cpu": diff,
        "max_abs_diff_cuda_vs_cpu_run_network": diff_run_network,
        "flops_per_spectrum": flops,
        "spectra_per_s": {
            f"batch{bs}": round(rate(gpu, "cuda", n, bs), 1)
            for bs, n in ((1, 2000), (1024, 200_000), (8192, 400_000), (65536, 900_000))
        },
        "matmul_peak_flop_per_s_fp32": peak,
        "matmul_peak_how": "10 float32 8192x8192 torch matmuls (TF32 off)",
    }
    best = max(result["spectra_per_s"].values())
    result["ratio_achieved_to_peak_best"] = best * flops / peak
    result["sdss_main_sample_900k_seconds_best"] = round(9e5 / best, 1)
    print(write_result("gpu", result).read_text())


if __name__ == "__main__":
    main()
