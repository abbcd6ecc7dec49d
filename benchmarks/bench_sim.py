"""Throughput of the simulated survey generator (``specir.sim``).

Usage: python benchmarks/bench_sim.py [--n 200] [--log PATH ...] [--hats-from CATALOG]

Times :func:`specir.sim.simulate` in one process (after the once-per-process bagpipes set-up,
which is timed separately), gives galaxies per second per core (after the r < 17.77 cut, so
rejected candidates are included in the cost) and extrapolates the wall time of a
100,000-galaxy survey on all cores of this machine. ``--log`` adds measured runs: the
``specir simulate`` log files (tqdm's last "simulating" line and the first/last time stamps).
``--hats-from`` times the HATS step alone (lsdb ``from_dataframe`` per group, ``concat``,
``write_catalog``) on the rows of an existing simulated catalog rewritten as chunk files.
The 1-minute load average is recorded: other work on the machine slows the numbers.
"""

import argparse
import os
import re
import time
from datetime import datetime

from machine import write_result

from specir.sim import SimConfig, simulate


def parse_log(path):
    text = open(path, encoding="utf-8", errors="replace").read().replace("\r", "\n")
    stamps = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ ", text, flags=re.M)
    bars = re.findall(r"simulating: 100%\|[^|]*\| (\d+)/\d+ \[(\d+):(\d+)(?::(\d+))?", text)
    out = {"log": str(path)}
    if bars:
        n, a, b, c = bars[-1]
        secs = int(a) * 60 + int(b) if not c else int(a) * 3600 + int(b) * 60 + int(c)
        out.update(n_galaxies=int(n), simulate_wall_s=secs)
    if len(stamps) >= 2 and "wrote" in text:
        t0, t1 = (datetime.strptime(s, "%Y-%m-%d %H:%M:%S") for s in (stamps[0], stamps[-1]))
        out["total_wall_s_including_hats"] = (t1 - t0).total_seconds()
    return out


def time_hats_step(catalog, workers):
    """Seconds of the lsdb HATS step for the rows of ``catalog`` (rewritten as 500-row chunks)."""
    import shutil
    import tempfile
    from pathlib import Path

    import lsdb
    import pyarrow.parquet as pq

    from specir.sim.hats import arrow_table as _arrow_table
    from specir.sim.hats import write_hats as _write_hats

    tmp = Path(tempfile.mkdtemp(prefix="bench_hats_"))
    try:
        cat = lsdb.open_catalog(catalog)
        files, n = [], 0
        for i, part in enumerate(cat.partitions):
            df = part.compute().reset_index(drop=True)
            for s in range(0, len(df), 500):
                f = tmp / f"chunk_{i:04d}_{s:06d}.parquet"
                pq.write_table(_arrow_table(df.iloc[s : s + 500]), f)
                files.append(f)
            n += len(df)
        t = time.perf_counter()
        _write_hats(tmp / "out", files, workers)
        return n, time.perf_counter() - t
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--log", nargs="*", default=[])
    ap.add_argument("--hats-from", default=None, help="simulated catalog to time the HATS step on")
    args = ap.parse_args()
    from specir.sim.survey import _sed

    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    _sed()
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    df = simulate(args.n, seed=args.seed, config=SimConfig(chunk_size=args.n))
    dt = time.perf_counter() - t0
    assert len(df) == args.n
    rate = args.n / dt
    cores = os.cpu_count()
    result = {
        "n_galaxies": args.n,
        "bagpipes_setup_s_per_process": setup,
        "simulate_seconds": dt,
        "galaxies_per_s_per_core": rate,
        "extrapolated_100k_wall_h_all_cores": 100_000 / (rate * cores) / 3600.0,
        "extrapolation_note": "simulation only, linear in n, all cores busy; excludes the "
        "HATS import (add the measured one from a logged run)",
        "load_average_1min_before": load_before,
        "load_average_1min_after": os.getloadavg()[0],
        "contended": load_before > 0.5 * cores,
        "goal_100k_wall_h": 2.0,
        "measured_runs": [parse_log(p) for p in args.log],
    }
    if args.hats_from:
        n, secs = time_hats_step(args.hats_from, os.cpu_count())
        result["hats_step_lsdb"] = {
            "catalog": args.hats_from,
            "n_galaxies": n,
            "seconds": round(secs, 1),
            "how": "lsdb from_dataframe per 20,000-row group, concat, write_catalog",
        }
    print(write_result("sim", result))


if __name__ == "__main__":
    main()
