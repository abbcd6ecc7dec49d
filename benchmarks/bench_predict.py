"""Throughput of ``predict_prepared`` (the model part of ``predict_ir``) at batch 1 and 1024.

Speed does not depend on the weight values, so this uses the default architecture with random
initial weights, written to a temporary bundle (never shipped). It also records the FLOPs per
spectrum (torch.utils.flop_counter) and the ratio of achieved FLOP/s to this machine's measured
float32 matrix-multiply peak.

Usage::

    PYTHONPATH=. python benchmarks/bench_predict.py --threads 2
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

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
    rng = np.random.default_rng(seed)
    flux = (1 + 0.2 * rng.standard_normal((n, 3921))).astype(np.float32)
    return SimpleNamespace(
        flux=flux,
        ivar=np.full_like(flux, 25.0),
        z=rng.uniform(0.02, 0.3, n),
        norm=rng.uniform(5, 50, n),
        coverage=np.ones(n),
        flags=np.zeros(n, dtype=np.int64),
    )


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
    from specir.bundle import load_bundle, save_bundle
    from specir.model import ModelConfig, SpecIRNet, flops_per_spectrum

    torch.manual_seed(0)
    net = SpecIRNet(ModelConfig()).eval()
    flops = flops_per_spectrum(net)
    card = {
        "name": "benchmark-random-init",
        "training_data": {"description": "NONE: random initial weights, for timing only"},
        "z_range": [0.01, 0.35],
        "heads_trained": {"mag": True, "log_lagn": True, "q_pah": True},
        "ood": {"latent_mean": [0.0] * 8, "latent_cov": np.eye(8).tolist(), "threshold_d2": 30},
    }
    result = {
        "what": "predict_prepared (network + output table) on spectra already on the grid; "
        "default architecture with RANDOM weights (speed does not depend on weight values)",
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": os.getloadavg(),
        "note": "the 2-core machine is shared; a load average above ~1 slows these numbers",
        "architecture": ModelConfig().to_dict(),
        "n_parameters": sum(p.numel() for p in net.parameters()),
        "flops_per_spectrum": flops,
        "flop_counter": "torch.utils.flop_counter.FlopCounterMode (conv + matmul only)",
        "devices": {},
    }
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    with tempfile.TemporaryDirectory() as tmp:
        save_bundle(net, card, Path(tmp) / "b")
        for device in devices:
            bundle = load_bundle(Path(tmp) / "b", device=device)
            big = 8192 if device == "cpu" else 200_000
            r1 = throughput(bundle, 256 if device == "cpu" else 2048, 1, 2)
            r1024 = throughput(bundle, big, 1024, 3)
            rbig = throughput(bundle, big, None, 3) if device == "cuda" else None
            peak = matmul_peak(device)
            result["devices"][device] = {
                "spectra_per_s_batch1": round(r1, 1),
                "spectra_per_s_batch1024": round(r1024, 1),
                "spectra_per_s_default_batch": None if rbig is None else round(rbig, 1),
                "achieved_flop_per_s_batch1024": r1024 * flops,
                "matmul_peak_flop_per_s": peak,
                "matmul_peak_how": "best of 10 float32 2048x2048 torch matmuls",
                "ratio_achieved_to_peak": r1024 * flops / peak,
                "sdss_main_sample_900k_minutes": round(9e5 / r1024 / 60, 1),
            }
    path = write_result("predict", result)
    print(path.read_text())


if __name__ == "__main__":
    main()
