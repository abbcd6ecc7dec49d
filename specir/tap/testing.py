"""A synthetic value-added HATS catalog for tests, demos and benchmarks of the TAP service.

The rows are random (uniform on the sky, plausible ranges for every value-added column); they
stand in for the real catalog job's output, which has the same columns and metadata.
"""

import logging
from pathlib import Path

import numpy as np

from specir.bands import BAND_NAMES, N_BANDS, mjy_to_mag
from specir.columns import AGN_THRESHOLD, VAC_COLUMNS, write_column_metadata
from specir.constants import Z_RANGE

__all__ = ["ServerProcess", "synthetic_vac", "write_synthetic_catalog"]

log = logging.getLogger(__name__)


def synthetic_vac(n, *, seed=0):
    """A pandas DataFrame with ``n`` random rows holding every value-added column.

    Examples
    --------
    >>> df = synthetic_vac(3, seed=1)
    >>> list(df.columns[:4]), len(df)
    (['id', 'ra', 'dec', 'z'], 3)
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols = {
        "id": np.arange(1, n + 1, dtype=np.int64),
        "ra": rng.uniform(0.0, 360.0, n),
        "dec": np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n))),
        "z": rng.uniform(*Z_RANGE, n),
    }
    w1 = 10 ** rng.normal(0.0, 0.5, n)  # mJy
    colour = rng.normal([0.0, -0.3, -1.0, -1.6], 0.3, (n, N_BANDS))
    flux = (w1[:, None] * 10**colour).astype(np.float32)
    flux_err = (flux * rng.uniform(0.03, 0.3, (n, N_BANDS))).astype(np.float32)
    mag, mag_err = mjy_to_mag(flux, flux_err)
    for i, b in enumerate(BAND_NAMES):
        cols[f"{b}_flux"] = flux[:, i]
        cols[f"{b}_flux_err"] = flux_err[:, i]
    for i, b in enumerate(BAND_NAMES):
        cols[f"{b}_mag"] = mag[:, i].astype(np.float32)
        cols[f"{b}_mag_err"] = mag_err[:, i].astype(np.float32)
        cols[f"{b}_mag_ci68"] = (0.85 * mag_err[:, i]).astype(np.float32)
    cols["w1_w2"] = (mag[:, 0] - mag[:, 1]).astype(np.float32)
    cols["w2_w3"] = (mag[:, 1] - mag[:, 2]).astype(np.float32)
    # log_lagn only where p_agn reaches the threshold, as predict_ir reports it
    cols["p_agn"] = rng.beta(0.5, 0.8, n).astype(np.float32)
    agn = cols["p_agn"] >= AGN_THRESHOLD
    cols["log_lagn"] = np.where(agn, rng.normal(44.0, 0.8, n), np.nan).astype(np.float32)
    cols["log_lagn_err"] = np.where(agn, rng.uniform(0.1, 0.5, n), np.nan).astype(np.float32)
    cols["q_pah"] = rng.uniform(0.5, 4.6, n).astype(np.float32)
    cols["q_pah_err"] = rng.uniform(0.1, 1.0, n).astype(np.float32)
    cols["flags"] = np.where(rng.random(n) < 0.1, rng.integers(1, 128, n), 0).astype(np.int64)
    df = pd.DataFrame(cols)
    return df[[c.name for c in VAC_COLUMNS]]


def write_synthetic_catalog(path, n, *, name="vac", seed=0, partition_rows=None):
    """Write a synthetic value-added HATS catalog with lsdb and annotate its columns.

    Parameters
    ----------
    path : str or path-like
        Output directory (must not exist).
    n : int
        Number of rows.
    name : str
        Catalog name (the TAP table name).
    seed : int
        Random seed.
    partition_rows : int, optional
        Target rows per HEALPix partition (lsdb's ``partition_rows``); default lets lsdb choose.

    Returns
    -------
    pathlib.Path
        The catalog directory (the one holding ``hats.properties``).
    """
    import lsdb

    kwargs = {} if partition_rows is None else {"partition_rows": partition_rows}
    df = synthetic_vac(n, seed=seed)
    catalog = lsdb.from_dataframe(
        df, catalog_name=name, ra_column="ra", dec_column="dec", margin_threshold=None, **kwargs
    )
    path = Path(path)
    catalog.write_catalog(path)
    catalog_dir = path / name if (path / name / "hats.properties").exists() else path
    write_column_metadata(catalog_dir)
    log.info("wrote %d synthetic rows to %s", n, catalog_dir)
    return catalog_dir


class ServerProcess:
    """``specir serve`` in a subprocess on a free loopback port (tests, benchmarks).

    Use as a context manager; :attr:`url` is the service URL once it answers. :meth:`kill`
    sends SIGKILL (a crash), :meth:`stop` SIGTERM (a clean shutdown).

    Parameters
    ----------
    catalogs : list of str or path-like
        As for ``specir serve`` (``SCHEMA.TABLE=PATH`` allowed).
    args : list of str
        Further command-line options (``--workers 2``, ``--job-dir D`` ...).
    timeout_s : float
        How long to wait for the service to answer.
    """

    def __init__(self, catalogs, *args, timeout_s=120.0):
        import os
        import subprocess
        import sys
        import tempfile

        self._dir = tempfile.TemporaryDirectory(prefix="specir-serve-")
        ready = Path(self._dir.name) / "url"
        cmd = [sys.executable, "-m", "specir.scripts.main", "serve", *map(str, catalogs)]
        cmd += ["--port", "0", "--ready-file", str(ready), *args]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.log = Path(self._dir.name) / "log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, env=env, preexec_fn=_parent_death_signal
            )
        self.url = self._wait(ready, timeout_s)

    def _wait(self, ready, timeout_s):
        import time
        import urllib.request

        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"specir serve exited:\n{self.log.read_text()[-3000:]}")
            if ready.exists() and ready.read_text():
                url = ready.read_text()
                try:
                    with urllib.request.urlopen(url + "/availability", timeout=30):
                        return url
                except OSError:
                    pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"specir serve did not answer in {timeout_s} s")

    def kill(self):
        """SIGKILL the server and every worker process it started (a crash)."""
        import os
        import signal

        children = _children(self.process.pid)
        for pid in [self.process.pid, *children]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=30)

    def stop(self):
        """Stop the server cleanly (SIGTERM), or kill it after 30 s."""
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self._dir.cleanup()


def _parent_death_signal():
    """In the server's process, before it runs: SIGTERM it when the process that started it
    dies (Linux ``PR_SET_PDEATHSIG``), so a test run killed with SIGKILL leaves no server."""
    import ctypes
    import signal
    import sys

    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def _children(pid):
    """Process ids descending from ``pid`` (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            kids = [int(p) for p in task.read_text().split()]
            out += kids
            todo += kids
    return out
