"""End-to-end throughput of the value-added catalog job against ``predict_ir``'s raw speed.

One run measures, on the same machine and input:

- raw: ``predict_prepared`` on all spectra already in memory (the model part of ``predict_ir``,
  torch using every core), rows per second;
- the job (``run_job``: lsdb read, Dask tasks, staging, ``write_catalog``) with 1 and with 2
  local workers, rows per second end to end, including the start of the Dask cluster;
- the peak resident memory of each worker process (sampled every 0.2 s with psutil).

Job overhead = 1 − job rows/s ÷ raw rows/s, for 1 worker (torch on every core, reading not
overlapped with computing) and for 2 workers (one per core of the 2-core machine, so one reads
while the other computes). The model is the shipped default bundle.

Usage::

    PYTHONPATH=. python benchmarks/bench_catalog.py --input data/sim/heldout --repeats 3
"""

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result


class PeakMemory:
    """Peak RSS per child process of this one (the Dask workers), sampled in a thread."""

    def __init__(self, every=0.2):
        import psutil

        self.me, self.every, self.peak = psutil.Process(), every, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psutil

        while not self._stop.is_set():
            for child in self.me.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                except psutil.Error:
                    continue
                self.peak[child.pid] = max(self.peak.get(child.pid, 0), rss)
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def raw_rate(input_path, repeats):
    """Best-of-``repeats`` rows/s of prepare + model, one partition in memory at a time."""
    import lsdb
    import torch

    from specir.bundle import load_bundle
    from specir.predict import predict_prepared
    from specir.spectra import prepare_grid_arrays

    torch.set_num_threads(os.cpu_count() or 1)
    bundle = load_bundle("default", device="cpu")
    cat = lsdb.open_catalog(input_path, columns=["z", "flux", "ivar", "mask", "modelmag_r"])
    n, best_model, best_total = 0, np.inf, np.inf
    for rep in range(repeats):
        t_model = t_total = 0.0
        for part in cat.partitions:
            df = part.compute()
            flux = np.stack(df["flux"].to_numpy()).astype(np.float32)
            ivar = np.stack(df["ivar"].to_numpy()).astype(np.float32)
            mask = np.stack(df["mask"].to_numpy()).astype(bool)
            z, r = df["z"].to_numpy(np.float64), df["modelmag_r"].to_numpy(np.float64)
            t0 = time.perf_counter()
            prep = prepare_grid_arrays(flux, ivar, z, mask=mask)
            t1 = time.perf_counter()
            predict_prepared(prep, r_mag=r, model=bundle)
            t2 = time.perf_counter()
            t_model, t_total = t_model + t2 - t1, t_total + t2 - t0
            n += len(z) if rep == 0 else 0
        best_model, best_total = min(best_model, t_model), min(best_total, t_total)
    return n, n / best_model, n / best_total


def job_rate(input_path, workers, repeats):
    from specir.catalog.job import Recipe, run_job

    times, peaks = [], []
    for _ in range(repeats):
        tmp = Path(tempfile.mkdtemp(prefix="bench_vac_"))
        try:
            recipe = Recipe(input=str(input_path), output=str(tmp / "vac"), device="cpu")
            with PeakMemory() as mem:
                t = time.perf_counter()
                run_job(recipe, workers=workers)
                times.append(time.perf_counter() - t)
            peaks.append(sorted(mem.peak.values(), reverse=True)[:workers])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    i = int(np.argsort(times)[len(times) // 2])
    return float(np.median(times)), peaks[i]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True, help="HATS spectra catalog (simulated)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n, raw_model, raw_prep_model = raw_rate(args.input, args.repeats)
    result = {
        "what": "value-added catalog job (run_job) vs predict_prepared on the same spectra; "
        "default bundle; input is a SIMULATED survey",
        "input": str(args.input),
        "n_rows": n,
        "load_average_at_start": os.getloadavg(),
        "raw_rows_per_s_model": round(raw_model, 1),
        "raw_rows_per_s_prepare_and_model": round(raw_prep_model, 1),
        "jobs": {},
    }
    for workers in (1, 2):
        wall, peaks = job_rate(args.input, workers, args.repeats)
        result["jobs"][str(workers)] = {
            "median_wall_s": round(wall, 2),
            "rows_per_s": round(n / wall, 1),
            "peak_rss_per_worker_mib": [round(p / 2**20) for p in peaks],
        }
    one, two = result["jobs"]["1"]["rows_per_s"], result["jobs"]["2"]["rows_per_s"]
    result["overhead_vs_raw_prepare_and_model_1_worker"] = round(1 - one / raw_prep_model, 3)
    # the raw pass uses every core; so does the job with one worker per core
    result["overhead_vs_raw_prepare_and_model_2_workers"] = round(1 - two / raw_prep_model, 3)
    result["speedup_1_to_2_workers"] = round(two / one, 3)
    result["note"] = (
        "medians of --repeats runs (wall time includes starting the local Dask cluster); "
        "the raw figures are the best of the same number of repeats"
    )
    path = write_result("catalog", result)
    print(path.read_text())


if __name__ == "__main__":
    main()
