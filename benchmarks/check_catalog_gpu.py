"""The value-added catalog job on a GPU machine: CUDA workers against CPU workers.

Runs ``run_job`` twice on the same input, on the same machine: once with ``device="auto"``
(CUDA when present) and once with ``device="cpu"``, one local Dask worker each, and records the
largest difference between the two catalogs per column, the wall times and the machine. A
difference that is small but not zero shows that the CUDA path ran and agrees with the CPU.

Usage (the input is any spectra HATS catalog; results go to benchmarks/results/)::

    PYTHONPATH=. python benchmarks/check_catalog_gpu.py --input SPECTRA --work /tmp/gpu_check
"""

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result


def _run(recipe):
    from specir.catalog.job import run_job

    t0 = time.perf_counter()
    run_job(recipe, workers=1)
    return time.perf_counter() - t0


def main():
    import lsdb
    import torch

    from specir.catalog.job import Recipe

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True)
    parser.add_argument("--work", default="/tmp/specir_gpu_check")
    parser.add_argument("--name", default="catalog_gpu")
    args = parser.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    tables, seconds = {}, {}
    for device in ("auto", "cpu"):
        recipe = Recipe(input=args.input, output=str(work / device), device=device)
        seconds[device] = round(_run(recipe), 2)
        tables[device] = lsdb.open_catalog(work / device).compute().sort_values("id")
    a, b = tables["auto"], tables["cpu"]
    floats = [c for c in a.columns if a[c].dtype.kind == "f"]
    diff = {
        c: float(np.nanmax(np.abs(a[c].to_numpy(float) - b[c].to_numpy(float)))) for c in floats
    }
    result = {
        "what": "run_job with device='auto' vs device='cpu', one local Dask worker each, "
        "same input and machine; the default bundle",
        "input": args.input,
        "n_rows": len(a),
        "cuda_available": torch.cuda.is_available(),
        "same_ids": bool((a["id"].to_numpy() == b["id"].to_numpy()).all()),
        "same_flags": bool((a["flags"].to_numpy() == b["flags"].to_numpy()).all()),
        "max_abs_diff_auto_vs_cpu": diff,
        "wall_s": seconds,
        "note": "wall times include starting the local cluster and loading the model; the input "
        "is small, so they measure fixed costs, not throughput (benchmarks/bench_gpu.py)",
    }
    write_result(args.name, result)
    print(result)


if __name__ == "__main__":
    main()
