"""Benchmark the TAP service on a 1,000,000-row synthetic value-added HATS catalog.

Measures, over real HTTP on 127.0.0.1 with the service in its own process:

* p50/p95 latency of a 1-arcminute cone search (random centres, sync, VOTable BINARY2);
* p50/p95 latency of a full-table aggregate;
* throughput of 50 concurrent clients running cone searches, and the number of failures;
* the same 50 clients while hostile traffic runs: 2 clients sending slow-to-parse ADQL (deep
  nesting, long OR chains) and 4 sending runaway cross joins, in a loop (``--hostile``).

Usage::

    PYTHONPATH=. python benchmarks/bench_tap.py [--rows 1000000] [--workdir /tmp/specir-bench]

Writes ``benchmarks/results/tap.json``.
"""

import argparse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from machine import machine_info

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


HOSTILE_PARSE = (
    "SELECT "
    + "(" * 29
    + "z"
    + ")" * 29
    + " AS v FROM {table} WHERE "
    + " OR ".join(f"z > {i / 1000}" for i in range(1500))
)
RUNAWAY = "SELECT COUNT(*) AS n FROM {table} AS a, {table} AS b, {table} AS c"


def start_server(catalog, args):
    from specir.tap.testing import ServerProcess

    options = ["--threads", str(args.threads), "--max-concurrent", str(args.max_concurrent)]
    options += ["--workers", str(args.workers), "--timeout", str(args.query_timeout)]
    options += ["--job-dir", str(Path(args.workdir) / "jobs")]
    return ServerProcess([catalog], *options, timeout_s=600)


def sync(url, query):
    data = urllib.parse.urlencode({"LANG": "ADQL", "QUERY": query}).encode()
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(url + "/sync", data=data, timeout=120) as resp:
            body = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
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


def concurrent_cones(url, table, args):
    """50 clients x ``per_client`` cone searches at once: latencies and failures."""
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
        "clients": args.clients,
        "requests": total,
        "failed": len(failures),
        "wall_s": wall,
        "throughput_rps": (total - len(failures)) / wall,
        **{k: v for k, v in percentiles(lat).items() if k != "n"},
        "failures_sample": failures[:5],
    }


def hostile(url, table, args):
    """Concurrent cones while 2 hostile parsers and 4 runaway joins loop; what they got."""
    stop = threading.Event()
    answers = {"parse": [], "runaway": []}

    def attacker(kind, query):
        while not stop.is_set():
            try:
                sync(url, query.format(table=table))
                answers[kind].append("answered")
            except Exception as exc:  # refusals are the expected outcome
                answers[kind].append(str(exc)[:120])

    threads = [threading.Thread(target=attacker, args=("parse", HOSTILE_PARSE)) for _ in range(2)]
    threads += [threading.Thread(target=attacker, args=("runaway", RUNAWAY)) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    try:
        cones = concurrent_cones(url, table, args)
    finally:
        stop.set()
        for t in threads:
            t.join(300)
    outcomes = {k: sorted(set(v))[:3] for k, v in answers.items()}
    return {**cones, "hostile_parsers": 2, "runaway_joins": 4, "attacker_outcomes": outcomes}


def measure(url, table, args, *, hostile_run=False):
    """Latencies and concurrent throughput of one TAP service (and under attack, if asked)."""
    rng = np.random.default_rng(1)
    agg_q = AGGREGATE.format(table=table)
    for _ in range(5):  # warm-up
        sync(url, cone_query(rng, table))
    sync(url, agg_q)
    cone = [sync(url, cone_query(rng, table)) for _ in range(args.cones)]
    agg = [sync(url, agg_q) for _ in range(args.aggregates)]
    out = {
        "cone_1arcmin": {**percentiles(cone), "query": cone_query(np.random.default_rng(0), table)},
        "full_table_aggregate": {**percentiles(agg), "query": agg_q},
        "concurrent": concurrent_cones(url, table, args),
    }
    if hostile_run:
        out.update(quiet_vs_attacked(url, table, args, out["concurrent"]))
    return out


def quiet_vs_attacked(url, table, args, first_quiet):
    """``args.rounds`` alternating quiet and attacked rounds of the 50 clients (the machine is
    shared, so each attacked round is compared with the quiet one just before it); medians."""
    quiet, loud = [first_quiet], []
    for i in range(args.rounds):
        if i:
            quiet.append(concurrent_cones(url, table, args))
        loud.append(hostile(url, table, args))
    summary = {"rounds": args.rounds}
    for name, runs in (("quiet", quiet), ("attacked", loud)):
        for key in ("p50_ms", "p95_ms"):
            summary[f"{name}_{key}_each"] = [round(r[key], 1) for r in runs]
            summary[f"{name}_{key}_median"] = float(np.median([r[key] for r in runs]))
        summary[f"{name}_failed"] = sum(r["failed"] for r in runs)
    for key in ("p50_ms", "p95_ms"):
        summary[f"{key[:3]}_ratio_attacked_to_quiet"] = (
            summary[f"attacked_{key}_median"] / summary[f"quiet_{key}_median"]
        )
    return {"concurrent_under_attack": loud[0], "quiet_vs_attacked": summary}


def assemble(args, ours, dachs, n_files, build_s):
    """The JSON document of the run, and the number of failed requests."""
    failed = ours["concurrent"]["failed"]
    if "quiet_vs_attacked" in ours:
        failed += ours["quiet_vs_attacked"]["quiet_failed"]
        failed += ours["quiet_vs_attacked"]["attacked_failed"]
    failed += dachs["concurrent"]["failed"] if args.compare_url else 0
    result = {
        "benchmark": "TAP service (specir serve): sync ADQL over HTTP on 127.0.0.1",
        "machine": {
            **machine_info(packages=("duckdb", "pyarrow", "lsdb", "hats", "starlette")),
            "load_average_1_5_15_at_start": args.load_start,
            "load_average_1_5_15_at_end": [round(x, 2) for x in os.getloadavg()],
            "note": "2 cores shared with other users' jobs; see the load averages",
        },
        "catalog": {
            "rows": args.rows,
            "parquet_files": n_files,
            "build_s": round(build_s, 1),
            "kind": "synthetic value-added HATS catalog (lsdb.from_dataframe, write_catalog)",
        },
        "server": {
            "duckdb_threads": args.threads,
            "max_concurrent_queries": args.max_concurrent,
            "worker_processes": args.workers,
            "query_timeout_s": args.query_timeout,
            "stack": "Starlette on Hypercorn",
            "expensive_query_nice": 19,
        },
        **ours,
        "dachs_comparison": dachs,
    }
    return result, failed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", default="/tmp/specir-bench-tap")
    parser.add_argument("--cones", type=int, default=300)
    parser.add_argument("--aggregates", type=int, default=30)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="DuckDB threads per process")
    parser.add_argument("--max-concurrent", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--query-timeout", type=float, default=10.0, help="per-query limit (s)")
    parser.add_argument("--hostile", action="store_true", help="also measure under attack")
    parser.add_argument("--rounds", type=int, default=3, help="quiet/attacked round pairs")
    parser.add_argument("--out", default=str(HERE / "results" / "tap.json"))
    parser.add_argument("--compare-url", help="another TAP service with the same rows (DaCHS)")
    parser.add_argument("--compare-table", default="specirbench.vac")
    parser.add_argument("--compare-note", default="", help="how the other service was set up")
    parser.add_argument("--export-csv", help="write the catalog as CSV here (for DaCHS) and exit")
    args = parser.parse_args(argv)
    args.load_start = [round(x, 2) for x in os.getloadavg()]

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

    with start_server(catalog / "vac", args) as server:
        ours = measure(server.url, "specir.vac", args, hostile_run=args.hostile)
    dachs = "not done"
    if args.compare_url:
        dachs = {
            "url": args.compare_url,
            "table": args.compare_table,
            "note": args.compare_note,
            **measure(args.compare_url, args.compare_table, args),
        }

    result, failed = assemble(args, ours, dachs, n_files, build_s)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
