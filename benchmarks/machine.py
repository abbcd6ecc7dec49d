"""Describe the machine a benchmark ran on (shared by every script in benchmarks/)."""

import json
import os
import platform
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

RESULTS = Path(os.environ.get("SPECIR_BENCH_OUT") or Path(__file__).resolve().parent / "results")


def machine_info(packages=("numpy", "astropy", "specutils", "torch")):
    """CPU model, core count, memory, OS and package versions, as a dict."""
    from specir.card import train_hardware  # one reader of the CPU model, shared with cards

    cpu = train_hardware("cpu")["cpu"]
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    versions = {}
    for p in packages:
        try:
            versions[p] = version(p)
        except PackageNotFoundError:
            versions[p] = None
    gpu = None
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "gpu": gpu,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "packages": versions,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_result(name, result):
    """Write ``result`` plus the machine description to benchmarks/results/NAME.json."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "machine": machine_info(), **result}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
