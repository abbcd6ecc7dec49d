"""Cost of ``specir fetch sdss-allwise`` per spectrum, and what it implies for a real sample.

Measures, on the 12 real SDSS spec files of ``../shared/data/sdss``:

- their sizes on disk (what the archive sends per spectrum);
- the downloader end to end over loopback (HTTP + whole-file check + atomic rename), i.e. the
  client's own cost with no network latency or bandwidth limit;
- the grid step (read, resample onto the model grid, join the TAP columns) per spectrum;
- the bytes per row of the resulting HATS catalog.

From these it writes estimates for samples of 10^5 and 7 x 10^5 spectra (the SDSS DR17
GALAXY sample with zWarning = 0 is of the latter order): the network part from the recipe's
rate limit and an assumed bandwidth (stated in the JSON), the local part from the measurement.

Usage::

    PYTHONPATH=. SPECIR_TEST_DATA=../shared/data/sdss python benchmarks/bench_fetch.py
"""

import functools
import os
import shutil
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _download_seconds(files, tmp, settings):
    from specir.fetch.download import download_files

    root = tmp / "sas"
    root.mkdir()
    for f in files:
        shutil.copy(f, root / f.name)
    handler = functools.partial(_Quiet, directory=str(root))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    jobs = [(f"{url}/{f.name}", tmp / "got" / f.name) for f in files]
    t0 = time.perf_counter()
    results = download_files(jobs, settings, progress=False)
    seconds = time.perf_counter() - t0
    srv.shutdown()
    srv.server_close()
    assert all(r.status == "downloaded" for r in results)
    return seconds


def _grid_seconds(files, tmp):
    import pandas as pd

    from specir.fetch.build import _catalog_rows, _hats

    targets = pd.DataFrame(
        {
            "plate": [int(f.name.split("-")[1]) for f in files],
            "mjd": [int(f.name.split("-")[2]) for f in files],
            "fiberid": [int(f.name.split("-")[3][:4]) for f in files],
            "ra_spec": 0.0,
            "dec_spec": 0.0,
            "z_spec": 0.0,
            "modelmag_r": 17.0,
        }
    )
    staging = tmp / "staging"
    staging.mkdir()
    t0 = time.perf_counter()
    n, _ = _catalog_rows(files, targets, batch=500, staging=staging, progress=False)
    seconds = time.perf_counter() - t0
    _hats(staging, tmp / "cat", {"bench": "1"})
    size = sum(p.stat().st_size for p in (tmp / "cat").rglob("*.parquet") if "dataset" in str(p))
    return seconds, n, size


def _estimates(file_mb, local_s, rate_per_s, bandwidth_mb_s, workers):
    out = {}
    for n in (100_000, 700_000):
        net_h = max(n / rate_per_s, n * file_mb / bandwidth_mb_s) / 3600
        out[str(n)] = {
            "download_GB": round(n * file_mb / 1e3, 1),
            "network_hours_at_rate_limit_and_bandwidth": round(net_h, 1),
            "local_cpu_hours_1_core": round(n * local_s / 3600, 2),
            "local_hours_on_workers_cores": round(n * local_s / 3600 / workers, 2),
        }
    return out


def main():
    from specir.fetch.recipe import DownloadSettings
    from specir.testing import sdss_data_dir

    data = sdss_data_dir()
    if data is None:
        sys.exit("set SPECIR_TEST_DATA to the folder of real SDSS spec files")
    files = sorted(Path(data).glob("spec-*.fits"))
    sizes = np.array([f.stat().st_size for f in files]) / 1e6
    settings = DownloadSettings(workers=4, rate_per_s=1000.0)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        dl_s = _download_seconds(files, Path(tmp), settings)
        grid_s, n_rows, cat_bytes = _grid_seconds(files, Path(tmp))
    per_file_local = (grid_s + dl_s) / len(files)  # the check runs while downloading
    shipped = DownloadSettings()
    write_result(
        "fetch",
        {
            "what": "specir fetch per spectrum: archive file sizes, loopback download + check, "
            "grid step; estimates for larger samples",
            "n_files": len(files),
            "file_MB_median": round(float(np.median(sizes)), 3),
            "file_MB_mean": round(float(sizes.mean()), 3),
            "loopback_download_and_check_s_per_file_4_threads": round(dl_s / len(files), 4),
            "grid_step_s_per_spectrum": round(grid_s / len(files), 4),
            "local_s_per_spectrum_used_below": round(per_file_local, 4),
            "catalog_bytes_per_row": int(cat_bytes / max(n_rows, 1)),
            "load_average_before_after": [load_before, os.getloadavg()],
            "assumptions": {
                "rate_per_s": shipped.rate_per_s,
                "laptop_bandwidth_MB_s": 10.0,
                "cluster_bandwidth_MB_s": 100.0,
                "laptop_cores": 4,
                "cluster_cores": 64,
            },
            "laptop": _estimates(float(sizes.mean()), per_file_local, shipped.rate_per_s, 10.0, 4),
            "cluster": _estimates(
                float(sizes.mean()), per_file_local, shipped.rate_per_s, 100.0, 64
            ),
        },
    )


if __name__ == "__main__":
    main()
