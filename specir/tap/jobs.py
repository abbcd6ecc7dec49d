"""Persistent UWS jobs: an SQLite job table, results as files, quotas, retention, recovery.

Every service worker process opens the same SQLite file (WAL mode), so a job created through
one worker is seen, aborted or deleted through any other. A job runs in the worker that
received its ``PHASE=RUN``; that worker writes a heartbeat for the jobs it holds every few
seconds and polls the table for aborts. After a crash (``kill -9``) or a restart the heartbeat
stops and the jobs that were queued or executing are marked ERROR with a message saying so;
finished jobs and their result files are untouched. Results are written to a temporary file
and renamed, so a result file is either complete or absent.
"""

import json
import logging
import os
import secrets
import sqlite3
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from specir.errors import SpecIRQueryError, SpecIRServiceError
from specir.tap.uws import ACTIVE, FINAL, Job

__all__ = ["JobLimits", "JobManager"]

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
"""Seconds between a worker's heartbeats for the jobs it holds."""
ORPHAN_S = 10.0
"""A held job whose heartbeat is older than this lost its worker (crash or restart)."""

_COLUMNS = (
    "job_id TEXT PRIMARY KEY, owner TEXT, client TEXT, parameters TEXT, "
    "execution_duration INTEGER, creation_time REAL, destruction REAL, run_id TEXT, "
    "phase TEXT, start_time REAL, end_time REAL, error TEXT, result_type TEXT, "
    "result_bytes INTEGER, worker TEXT, heartbeat REAL"
)
_FIELDS = [c.split()[0] for c in _COLUMNS.split(", ")]


@dataclass(frozen=True)
class JobLimits:
    """Quotas and times of the job service.

    Parameters
    ----------
    max_jobs : int
        Jobs kept at once, all clients together.
    max_jobs_per_client : int
        Jobs kept at once for one client (one owner token or one network address).
    max_result_bytes : int
        Disk space of all kept results together.
    retention_s : int
        Default seconds from a job's creation to its destruction.
    max_retention_s : int
        Latest destruction a client may ask for, in seconds after creation.
    default_duration_s, max_duration_s : int
        Execution duration (seconds) by default and at most.
    workers : int
        Jobs executing at once in one service process.
    """

    max_jobs: int = 10_000
    max_jobs_per_client: int = 100
    max_result_bytes: int = 20_000_000_000
    retention_s: int = 86400
    max_retention_s: int = 7 * 86400
    default_duration_s: int = 60
    max_duration_s: int = 60
    workers: int = 2


class JobManager:
    """Jobs of one service worker process, kept in ``directory`` (``jobs.sqlite``, results/).

    Parameters
    ----------
    directory : path-like
        Where the job table and result files live (shared by all worker processes).
    execute : callable
        ``execute(job_id, parameters, timeout_s, on_start) -> (bytes, content_type)``; raises a
        :class:`~specir.errors.SpecIRError` on failure. ``on_start`` receives a function that
        interrupts the running query.
    limits : JobLimits, optional
    """

    def __init__(self, directory, execute, *, limits=None):
        self.limits = limits or JobLimits()
        self.execute = execute
        self.dir = Path(directory)
        self.results = self.dir / "results"
        self.results.mkdir(parents=True, exist_ok=True)
        self.worker = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.dir / "jobs.sqlite", timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"CREATE TABLE IF NOT EXISTS jobs ({_COLUMNS})")
        self._db.commit()
        self._cancels = {}
        self._pool = ThreadPoolExecutor(self.limits.workers, thread_name_prefix="uws")
        self._stop = threading.Event()
        self.recover()
        self._beat = threading.Thread(target=self._heartbeat_loop, name="uws-beat", daemon=True)
        self._beat.start()

    # -- table access --------------------------------------------------------------------
    def _sql(self, sql, args=()):
        with self._lock:
            cur = self._db.execute(sql, args)
            rows = cur.fetchall()
            self._db.commit()
            return rows, cur.rowcount

    def _job(self, row):
        d = dict(zip(_FIELDS, row, strict=True))
        d["parameters"] = json.loads(d["parameters"])
        extra = {k: d.pop(k) for k in ("worker", "heartbeat")}
        return Job(**d, extra=extra)

    def result_path(self, job_id):
        return self.results / f"{job_id}.result"

    # -- lifecycle -----------------------------------------------------------------------
    def recover(self):
        """Mark jobs whose worker stopped (crash, ``kill -9``, restart) as ERROR."""
        _, n = self._sql(
            "UPDATE jobs SET phase='ERROR', end_time=?, error=? WHERE phase IN (?, ?) "
            "AND heartbeat < ?",
            (
                time.time(),
                "the service stopped while this job was queued or executing, so it has no "
                "result: run it again",
                *ACTIVE,
                time.time() - ORPHAN_S,
            ),
        )
        if n:
            log.warning("%d job(s) lost their worker and were marked ERROR", n)

    def purge(self):
        """Destroy jobs past their destruction time (rows and result files)."""
        rows, _ = self._sql("SELECT job_id FROM jobs WHERE destruction <= ?", (time.time(),))
        for (job_id,) in rows:
            self.delete(job_id)

    def _heartbeat_loop(self):
        last_beat = last_purge = 0.0
        while not self._stop.wait(0.5):
            try:
                self._check_aborts()
                now = time.time()
                if now - last_beat >= HEARTBEAT_S:
                    self._sql(
                        "UPDATE jobs SET heartbeat=? WHERE worker=? AND phase IN (?, ?)",
                        (now, self.worker, *ACTIVE),
                    )
                    self.recover()
                    last_beat = now
                if now - last_purge > 30:
                    self.purge()
                    last_purge = now
            except sqlite3.Error:
                log.warning("job table not reachable; retrying", exc_info=True)

    def _check_aborts(self):
        for job_id, cancel in list(self._cancels.items()):
            rows, _ = self._sql("SELECT phase FROM jobs WHERE job_id=?", (job_id,))
            if not rows or rows[0][0] != "EXECUTING":
                cancel()

    # -- client operations ---------------------------------------------------------------
    def create(self, parameters, *, owner, client, run_id=None):
        """A new PENDING job; refuses one over the client's or the service's quota."""
        lim = self.limits
        self.purge()
        rows, _ = self._sql(
            "SELECT COUNT(*), SUM(owner=? OR client=?), COALESCE(SUM(result_bytes), 0) FROM jobs",
            (owner, client),
        )
        total, mine, used = rows[0][0], rows[0][1] or 0, rows[0][2]
        if mine >= lim.max_jobs_per_client:
            raise SpecIRQueryError(
                "async",
                f"you have {mine} jobs, the most one client may keep",
                "DELETE finished jobs (or wait for their destruction time) and retry",
            )
        if total >= lim.max_jobs or used >= lim.max_result_bytes:
            raise SpecIRServiceError(
                "the service holds as many async jobs (or result bytes) as it can keep: "
                "retry later or use /sync"
            )
        now = float(int(time.time()))
        job = Job(
            secrets.token_urlsafe(16),
            owner,
            client,
            dict(parameters),
            lim.default_duration_s,
            now,
            now + lim.retention_s,
            run_id,
        )
        values = [getattr(job, f, None) for f in _FIELDS]
        values[_FIELDS.index("parameters")] = json.dumps(job.parameters)
        values[_FIELDS.index("result_bytes")] = 0
        self._sql(f"INSERT INTO jobs VALUES ({', '.join('?' * len(_FIELDS))})", values)
        return job

    def get(self, job_id):
        """The job, or None (unknown or destroyed)."""
        rows, _ = self._sql(
            "SELECT * FROM jobs WHERE job_id=? AND destruction > ?", (job_id, time.time())
        )
        return self._job(rows[0]) if rows else None

    def list(self, owner):
        """The jobs of one owner, oldest first."""
        rows, _ = self._sql(
            "SELECT * FROM jobs WHERE owner=? AND destruction > ? ORDER BY creation_time",
            (owner, time.time()),
        )
        return [self._job(r) for r in rows]

    def update(self, job_id, **values):
        """Change fields of a PENDING job (parameters, duration, destruction, run id)."""
        if "parameters" in values:
            values["parameters"] = json.dumps(values["parameters"])
        sets = ", ".join(f"{k}=?" for k in values)
        self._sql(f"UPDATE jobs SET {sets} WHERE job_id=?", (*values.values(), job_id))

    def delete(self, job_id):
        """Destroy a job: abort it if held, remove its row and result file."""
        self.abort(job_id)
        self._sql("DELETE FROM jobs WHERE job_id=?", (job_id,))
        self.result_path(job_id).unlink(missing_ok=True)
        uploads = self.upload_dir(job_id)
        if uploads.exists():
            for f in uploads.iterdir():
                f.unlink()
            uploads.rmdir()

    def abort(self, job_id):
        self._sql(
            "UPDATE jobs SET phase='ABORTED', end_time=? WHERE job_id=? AND phase NOT IN (?, ?, ?)",
            (time.time(), job_id, *FINAL),
        )
        cancel = self._cancels.get(job_id)
        if cancel is not None:
            cancel()

    def run(self, job_id):
        """Queue a PENDING job for execution in this process."""
        _, n = self._sql(
            "UPDATE jobs SET phase='QUEUED', worker=?, heartbeat=? WHERE job_id=? "
            "AND phase IN ('PENDING', 'HELD')",
            (self.worker, time.time(), job_id),
        )
        if n:
            self._pool.submit(self._work, job_id)

    # -- execution -----------------------------------------------------------------------
    def _work(self, job_id):
        _, n = self._sql(
            "UPDATE jobs SET phase='EXECUTING', start_time=? WHERE job_id=? AND phase='QUEUED'",
            (time.time(), job_id),
        )
        job = self.get(job_id) if n else None
        if job is None:
            return
        tmp = self.results / f".{job_id}.{self.worker}.part"
        try:
            body, ctype = self.execute(
                job_id,
                job.parameters,
                job.execution_duration,
                lambda cancel: self._cancels.__setitem__(job_id, cancel),
            )
            tmp.write_bytes(body)
            os.replace(tmp, self.result_path(job_id))
            phase, error, size = "COMPLETED", None, len(body)
        except Exception as exc:  # the message becomes the job's error summary
            if not isinstance(exc, SpecIRQueryError | SpecIRServiceError):
                log.exception("job %s failed", job_id)
            phase, error, ctype, size = "ERROR", str(exc) or type(exc).__name__, None, 0
        finally:
            self._cancels.pop(job_id, None)
            tmp.unlink(missing_ok=True)
        _, n = self._sql(
            "UPDATE jobs SET phase=?, error=?, end_time=?, result_type=COALESCE(?, result_type), "
            "result_bytes=? WHERE job_id=? AND phase='EXECUTING'",
            (phase, error, time.time(), ctype, size, job_id),
        )
        if not n:  # aborted or deleted meanwhile: keep no result
            self.result_path(job_id).unlink(missing_ok=True)

    def upload_dir(self, job_id):
        """Where the tables uploaded with a job are kept."""
        return self.dir / "uploads" / job_id

    def close(self):
        """Stop this process's jobs; those it held are marked ERROR."""
        self._stop.set()
        self._sql(
            "UPDATE jobs SET phase='ERROR', end_time=?, error=? WHERE worker=? AND phase IN (?, ?)",
            (time.time(), "the service was stopped before this job finished", self.worker, *ACTIVE),
        )
        for cancel in list(self._cancels.values()):
            cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._beat.join(timeout=2)
        with self._lock:
            self._db.close()
