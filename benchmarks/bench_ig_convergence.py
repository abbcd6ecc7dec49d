"""Completeness of the integrated gradients against the cap on quadrature steps.

Attributes every output (the mean and σ of each band) of the first ``--n`` spectra of a
catalog with the shipped bundle, starting at 32 steps and doubling for the spectra that miss
1 % completeness, up to each cap in ``--caps``; records per cap the share of spectra within 1 %
(every output, and per output), the mean steps used and the wall time.

Usage::

    PYTHONPATH=. python benchmarks/bench_ig_convergence.py CATALOG --n 48 --threads 1
"""

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("catalog")
    parser.add_argument("--n", type=int, default=48)
    parser.add_argument("--caps", default="1024,4096")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from specir.analysis.attribute import OUTPUTS, integrated_gradients, relative_error
    from specir.bundle import load_bundle
    from specir.dataset import read_catalog_arrays

    bundle = load_bundle("default", device="cpu")
    d = read_catalog_arrays(args.catalog, max_rows=args.n, progress=False)
    runs = []
    for cap in (int(c) for c in args.caps.split(",")):
        start = time.perf_counter()
        res = integrated_gradients(
            bundle.model, d["flux"], d["valid"], d["z"], d["norm"], d["r_mag"],
            outputs=OUTPUTS, n_steps=32, max_steps=cap,
        )  # fmt: skip
        ok = relative_error(res) <= 0.01
        runs.append(
            {
                "max_steps": cap,
                "seconds": time.perf_counter() - start,
                "within_1pct_all_outputs": float(ok.all(axis=1).mean()),
                "within_1pct_per_output": dict(zip(OUTPUTS, ok.mean(0).tolist(), strict=True)),
                "mean_steps_per_output": dict(
                    zip(OUTPUTS, res["steps"].mean(0).tolist(), strict=True)
                ),
            }
        )
        print(runs[-1], flush=True)
    path = write_result(
        "ig_convergence",
        {"catalog": args.catalog, "n_spectra": len(d["z"]), "threads": args.threads, "runs": runs},
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
