"""Benchmark the TAP service on a 1,000,000-row synthetic value-added HATS catalog.

Measures, over real HTTP on 127.0.0.1 with the service in its own process:

* p50/p95 latency of a 1-arcminute cone search (random centres, sync, VOTable BINARY2);
* p50/p95 latency of a full-table aggregate;
* throughput of 50 concurrent clients running cone searches, and the number of failures.

Usage::

    PYTHONPATH=. python benchmarks/bench_tap.py [--rows 1000000] [--workdir /tmp/specir-bench]

Writes ``benchmarks/results/tap.json``.
"""

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def machine():
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass

    def v(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": v("torch"),
        "duckdb": v("duckdb"),
        "pyarrow": v("pyarrow"),
        "lsdb": v("lsdb"),
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(catalog, port, threads, concurrent):
    code = (
        "import logging, sys; logging.basicConfig(level=logging.WARNING)\n"
        "from specir.tap.engine import EngineConfig\n"
        "from specir.tap.server import serve\n"
        f"serve([{str(catalog)!r}], port={port}, engine_config=EngineConfig("
        f"threads={threads}, max_concurrent={concurrent}))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    url = f"http://127.0.0.1:{port}/tap"
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/availability", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the TAP service did not start")


def sync(url, query):
    data = urllib.parse.urlencode({"LANG": "ADQL", "QUERY": query}).encode()
    t0 = time.perf_counter()
    with urllib.request.urlopen(url + "/sync", data=data, timeout=120) as resp:
        body = resp.read()
        status = resp.status
    dt = time.perf_counter() - t0
    if status != 200 or b'value="ERROR"' in body:
        raise RuntimeError(_error_text(body))
    return dt


def _error_text(body):
    """The QUERY_STATUS=ERROR message of a VOTable error document (or the raw start)."""
    import xml.etree.ElementTree as ET

    try:
        for el in ET.fromstring(body).iter():
            if el.tag.endswith("INFO") and el.get("value") == "ERROR":
                return (el.text or "").strip()[:300]
    except ET.ParseError:
        pass
    return body[:300].decode("utf-8", "replace")


def cone_query(rng, table="specir.vac"):
    ra = rng.uniform(0, 360)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1)))
    return (
        f"SELECT id, ra, dec, z, w1_flux, w2_flux, log_lagn, q_pah, flags FROM {table} "
        f"WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {ra:.6f}, {dec:.6f}, "
        f"{1 / 60:.8f}))"
    )


AGGREGATE = (
    "SELECT COUNT(*) AS n, AVG(w1_flux) AS w1, AVG(log_lagn) AS lagn, MIN(z) AS zmin, "
    "MAX(z) AS zmax FROM {table}"
)


def percentiles(times):
    t = np.asarray(times) * 1e3
    return {
        "n": len(t),
        "p50_ms": float(np.percentile(t, 50)),
        "p95_ms": float(np.percentile(t, 95)),
    }


def measure(url, table, args):
    """Latencies and concurrent throughput of one TAP service."""
    rng = np.random.default_rng(1)
    agg_q = AGGREGATE.format(table=table)
    for _ in range(5):  # warm-up
        sync(url, cone_query(rng, table))
    sync(url, agg_q)
    cone = [sync(url, cone_query(rng, table)) for _ in range(args.cones)]
    agg = [sync(url, agg_q) for _ in range(args.aggregates)]
    failures, lat = [], []
    lock = threading.Lock()

    def client(seed):
        r = np.random.default_rng(seed)
        for _ in range(args.per_client):
            try:
                dt = sync(url, cone_query(r, table))
                with lock:
                    lat.append(dt)
            except Exception as exc:  # counted, reported
                with lock:
                    failures.append(str(exc)[:300])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        list(pool.map(client, range(100, 100 + args.clients)))
    wall = time.perf_counter() - t0
    total = args.clients * args.per_client
    return {
        "cone_1arcmin": {**percentiles(cone), "query": cone_query(np.random.default_rng(0), table)},
        "full_table_aggregate": {**percentiles(agg), "query": agg_q},
        "concurrent": {
            "clients": args.clients,
            "requests": total,
            "failed": len(failures),
            "wall_s": wall,
            "throughput_rps": (total - len(failures)) / wall,
            **{k: v for k, v in percentiles(lat).items() if k != "n"},
            "failures_sample": failures[:5],
        },
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", default="/tmp/specir-bench-tap")
    parser.add_argument("--cones", type=int, default=300)
    parser.add_argument("--aggregates", type=int, default=30)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    parser.add_argument("--max-concurrent", type=int, default=4)
    parser.add_argument("--out", default=str(HERE / "results" / "tap.json"))
    parser.add_argument("--compare-url", help="another TAP service with the same rows (DaCHS)")
    parser.add_argument("--compare-table", default="specirbench.vac")
    parser.add_argument("--compare-note", default="", help="how the other service was set up")
    parser.add_argument("--export-csv", help="write the catalog as CSV here (for DaCHS) and exit")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from specir.tap.testing import write_synthetic_catalog

    work = Path(args.workdir)
    catalog = work / f"vac_{args.rows}"
    t0 = time.perf_counter()
    if not (catalog / "vac" / "hats.properties").exists():
        write_synthetic_catalog(catalog, args.rows, seed=42, partition_rows=20_000)
    build_s = time.perf_counter() - t0
    n_files = len(list((catalog / "vac" / "dataset").rglob("*.parquet")))
    if args.export_csv:
        import pyarrow.csv as pacsv
        import pyarrow.dataset as pads

        table = pads.dataset(catalog / "vac" / "dataset", format="parquet").to_table()
        pacsv.write_csv(table.drop_columns(["_healpix_29"]), args.export_csv)
        return 0

    proc, url = start_server(catalog, free_port(), args.threads, args.max_concurrent)
    try:
        ours = measure(url, "specir.vac", args)
    finally:
        proc.terminate()
        proc.wait(30)
    dachs = "not done"
    if args.compare_url:
        dachs = {
            "url": args.compare_url,
            "table": args.compare_table,
            "note": args.compare_note,
            **measure(args.compare_url, args.compare_table, args),
        }

    failed = ours["concurrent"]["failed"] + (
        dachs["concurrent"]["failed"] if args.compare_url else 0
    )
    result = {
        "benchmark": "TAP service (specir serve): sync ADQL over HTTP on 127.0.0.1",
        "machine": machine(),
        "catalog": {
            "rows": args.rows,
            "parquet_files": n_files,
            "build_s": round(build_s, 1),
            "kind": "synthetic value-added HATS catalog (lsdb.from_dataframe, write_catalog)",
        },
        "server": {"duckdb_threads": args.threads, "max_concurrent_queries": args.max_concurrent},
        **ours,
        "dachs_comparison": dachs,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
