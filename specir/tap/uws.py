"""UWS 1.1 asynchronous jobs for TAP: lifecycle, bounded execution, XML documents."""

import datetime as dt
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

__all__ = ["Job", "JobManager", "job_xml", "jobs_xml"]

PHASES = ("PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED", "HELD", "SUSPENDED")
FINAL = ("COMPLETED", "ERROR", "ABORTED")
NS = (
    'xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1"'
)


def _now():
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    """A UTC datetime from an ISO 8601 string (``Z`` or offset); raises ValueError."""
    t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).replace(microsecond=0)


@dataclass
class Job:
    """One asynchronous query."""

    job_id: str
    parameters: dict
    execution_duration: int
    destruction: dt.datetime
    run_id: str | None = None
    phase: str = "PENDING"
    creation_time: dt.datetime = field(default_factory=_now)
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    result: bytes | None = None
    result_type: str = "application/x-votable+xml"
    error: str | None = None
    cancel: object = None
    changed: threading.Condition = field(default_factory=threading.Condition)


class JobManager:
    """Holds jobs, runs them on a bounded thread pool and destroys them when they expire.

    Parameters
    ----------
    execute : callable
        ``execute(job) -> (bytes, content_type)``; raises on failure (the message becomes the
        job's error). It may set ``job.cancel`` to a callable that interrupts it.
    max_workers : int
        Jobs executing at once.
    max_jobs : int
        Jobs kept at once (all phases); creating more is refused.
    default_duration, max_duration : int
        Execution duration in seconds.
    default_retention, max_retention : int
        Seconds from creation to destruction.
    """

    def __init__(
        self,
        execute,
        *,
        max_workers=2,
        max_jobs=200,
        default_duration=60,
        max_duration=60,
        default_retention=86400,
        max_retention=7 * 86400,
    ):
        self.execute = execute
        self.max_jobs = max_jobs
        self.default_duration = default_duration
        self.max_duration = max_duration
        self.default_retention = default_retention
        self.max_retention = max_retention
        self._jobs = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="uws")

    def purge(self):
        now = _now()
        with self._lock:
            for jid in [j for j, job in self._jobs.items() if job.destruction <= now]:
                self._abort(self._jobs.pop(jid))

    def create(self, parameters, run_id=None):
        self.purge()
        with self._lock:
            if len(self._jobs) >= self.max_jobs:
                raise OverflowError(
                    f"the service keeps at most {self.max_jobs} jobs: delete finished ones"
                )
            job = Job(
                secrets.token_hex(8),
                dict(parameters),
                self.default_duration,
                _now() + dt.timedelta(seconds=self.default_retention),
                run_id,
            )
            self._jobs[job.job_id] = job
        return job

    def get(self, job_id):
        self.purge()
        with self._lock:
            return self._jobs.get(job_id)

    def list(self):
        self.purge()
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.creation_time)

    def delete(self, job_id):
        with self._lock:
            job = self._jobs.pop(job_id, None)
        if job is not None:
            self._abort(job)
        return job is not None

    def run(self, job):
        with job.changed:
            if job.phase not in ("PENDING", "HELD"):
                return
            job.phase = "QUEUED"
            job.changed.notify_all()
        self._pool.submit(self._work, job)

    def abort(self, job):
        self._abort(job)

    def _abort(self, job):
        with job.changed:
            if job.phase in FINAL:
                return
            job.phase = "ABORTED"
            job.end_time = _now()
            job.changed.notify_all()
        if job.cancel is not None:
            job.cancel()

    def _work(self, job):
        with job.changed:
            if job.phase != "QUEUED":
                return
            job.phase = "EXECUTING"
            job.start_time = _now()
            job.changed.notify_all()
        try:
            body, ctype = self.execute(job)
            phase, error = "COMPLETED", None
        except Exception as exc:  # the message is the job's error summary
            body, ctype, phase, error = None, None, "ERROR", str(exc) or type(exc).__name__
        with job.changed:
            if job.phase == "EXECUTING":
                job.phase, job.error, job.result = phase, error, body
                if ctype:
                    job.result_type = ctype
                job.end_time = _now()
            job.changed.notify_all()

    def wait(self, job, timeout):
        """Block until the job leaves its current (non-final) phase or ``timeout`` s pass."""
        with job.changed:
            phase = job.phase
            if phase in ("PENDING", "QUEUED", "EXECUTING"):
                job.changed.wait_for(lambda: job.phase != phase, timeout=timeout)

    def shutdown(self):
        for job in self.list():
            self._abort(job)
        self._pool.shutdown(wait=False, cancel_futures=True)


def _opt(tag, value):
    if value is None:
        return f'<uws:{tag} xsi:nil="true"/>'
    return f"<uws:{tag}>{escape(str(value))}</uws:{tag}>"


def job_xml(job, base):
    """The UWS job document; ``base`` is the job's URL."""
    params = "".join(
        f"<uws:parameter id={quoteattr(k.lower())}>{escape(str(v))}</uws:parameter>"
        for k, v in job.parameters.items()
    )
    results = ""
    if job.phase == "COMPLETED":
        href = quoteattr(f"{base}/results/result")
        results = f'<uws:result id="result" xlink:href={href}/>'
    error = ""
    if job.phase == "ERROR":
        error = (
            '<uws:errorSummary type="fatal" hasDetail="true">'
            f"<uws:message>{escape(job.error or '')}</uws:message></uws:errorSummary>"
        )
    run_id = f"<uws:runId>{escape(job.run_id)}</uws:runId>" if job.run_id else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<uws:job {NS}>"
        f"<uws:jobId>{job.job_id}</uws:jobId>{run_id}"
        '<uws:ownerId xsi:nil="true"/>'
        f"<uws:phase>{job.phase}</uws:phase>"
        f"{_opt('quote', None)}"
        f"<uws:creationTime>{_iso(job.creation_time)}</uws:creationTime>"
        f"{_opt('startTime', job.start_time and _iso(job.start_time))}"
        f"{_opt('endTime', job.end_time and _iso(job.end_time))}"
        f"<uws:executionDuration>{job.execution_duration}</uws:executionDuration>"
        f"<uws:destruction>{_iso(job.destruction)}</uws:destruction>"
        f"<uws:parameters>{params}</uws:parameters>"
        f"<uws:results>{results}</uws:results>{error}"
        "</uws:job>\n"
    ).encode()


def jobs_xml(jobs, base):
    """The UWS job list; ``base`` is the job list's URL."""
    refs = "".join(
        f"<uws:jobref id={quoteattr(j.job_id)} xlink:href={quoteattr(base + '/' + j.job_id)}>"
        f"<uws:phase>{j.phase}</uws:phase>"
        f"<uws:creationTime>{_iso(j.creation_time)}</uws:creationTime></uws:jobref>"
        for j in jobs
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<uws:jobs {NS}>{refs}</uws:jobs>\n'.encode()
