"""Training cost of the default architecture: seconds per epoch, extrapolated to 100k spectra.

Runs one epoch of :func:`specir.fitting.fit` (forward, censored likelihood, backward, Adam, plus
the validation pass) on synthetic spectra of the real shape; the cost does not depend on the
data's content. The machine's load average is recorded, since shared machines skew it.

Usage::

    PYTHONPATH=. python benchmarks/bench_train.py --threads 2
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


def synthetic(n, seed=0):
    rng = np.random.default_rng(seed)
    mag = rng.normal([14, 13.8, 11, 8], 1.0, (n, 4))
    err = np.where(rng.random((n, 4)) < 0.8, 0.05, np.nan)
    return {
        "flux": (1 + 0.2 * rng.standard_normal((n, 3921))).astype(np.float32),
        "valid": np.ones((n, 3921), bool),
        "z": rng.uniform(0.02, 0.3, n),
        "norm": rng.uniform(5, 50, n),
        "mag": mag,
        "mag_err": err,
        "snr": np.where(np.isfinite(err), 20.0, 1.0),
        "log_lagn_true": np.where(rng.random(n) < 0.3, rng.normal(44, 1, n), np.nan),
        "agn_type_true": rng.integers(0, 3, n).astype(float),
        "q_pah_true": rng.uniform(0.5, 4.6, n),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from specir.dataset import targets_from
    from specir.fitting import fit, standardise_from
    from specir.model import SpecIRNet
    from specir.train import TrainConfig

    data = synthetic(args.n)
    cfg = TrainConfig(catalog="-", output="-", epochs=1, device="cpu")
    torch.manual_seed(0)
    net = SpecIRNet(cfg.model)
    n_train = int(0.9 * args.n)
    tr, va = np.arange(n_train), np.arange(n_train, args.n)
    standardise_from(net, data, targets_from(data)[0], tr)
    load_before = os.getloadavg()
    t = time.perf_counter()
    fit(net, data, tr, va, cfg, progress=False)
    dt = time.perf_counter() - t
    result = {
        "what": "one epoch of specir.fitting.fit (train + validation), default architecture, "
        f"batch {cfg.batch_size}, synthetic spectra of the real shape",
        "torch_threads": torch.get_num_threads(),
        "load_average_before_after": [load_before, os.getloadavg()],
        "n_train": n_train,
        "n_val": len(va),
        "seconds": round(dt, 2),
        "minutes_per_epoch_per_100k_train_spectra": round(dt / n_train * 1e5 / 60, 1),
    }
    path = write_result("train", result)
    print(path.read_text())


if __name__ == "__main__":
    main()
