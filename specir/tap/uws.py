"""UWS 1.1 documents: a job, the job list, a job's results and parameters, as XML.

The job records themselves live in :mod:`specir.tap.jobs`; this module only renders them.
Times are UNIX seconds in the records and ISO 8601 UTC in the documents.
"""

import datetime as dt
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

__all__ = [
    "FINAL",
    "Job",
    "iso",
    "job_xml",
    "jobs_xml",
    "parameters_xml",
    "parse_iso",
    "results_xml",
]

FINAL = ("COMPLETED", "ERROR", "ABORTED")
"""Phases a job never leaves."""
ACTIVE = ("QUEUED", "EXECUTING")
"""Phases in which a service worker owns the job."""
NS = (
    'xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1"'
)
_XML = '<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass
class Job:
    """One asynchronous query, as stored in the job table."""

    job_id: str
    owner: str
    client: str
    parameters: dict
    execution_duration: int
    creation_time: float
    destruction: float
    run_id: str | None = None
    phase: str = "PENDING"
    start_time: float | None = None
    end_time: float | None = None
    error: str | None = None
    result_type: str = "application/x-votable+xml"
    result_bytes: int = 0
    extra: dict = field(default_factory=dict)


def iso(t):
    """ISO 8601 UTC text of a UNIX time.

    Examples
    --------
    >>> iso(0)
    '1970-01-01T00:00:00Z'
    """
    return dt.datetime.fromtimestamp(int(t), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    """UNIX seconds of an ISO 8601 date-time (``Z``, an offset, or UTC if none).

    Raises ValueError for anything else.

    Examples
    --------
    >>> parse_iso("1970-01-02T00:00:00Z")
    86400.0
    """
    t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return float(int(t.timestamp()))


def _opt(tag, value):
    if value is None:
        return f'<uws:{tag} xsi:nil="true"/>'
    return f"<uws:{tag}>{escape(str(value))}</uws:{tag}>"


def _params(job):
    return "".join(
        f"<uws:parameter id={quoteattr(k.lower())}>{escape(str(v))}</uws:parameter>"
        for k, v in job.parameters.items()
    )


def _result_ref(job, url):
    if job.phase != "COMPLETED":
        return ""
    return f'<uws:result id="result" xlink:href={quoteattr(url + "/results/result")}/>'


def job_xml(job, url):
    """The UWS job document; ``url`` is the job's public URL."""
    error = ""
    if job.phase == "ERROR":
        error = (
            '<uws:errorSummary type="fatal" hasDetail="true">'
            f"<uws:message>{escape(job.error or '')}</uws:message></uws:errorSummary>"
        )
    run_id = f"<uws:runId>{escape(job.run_id)}</uws:runId>" if job.run_id else ""
    return (
        f"{_XML}<uws:job {NS}>"
        f"<uws:jobId>{escape(job.job_id)}</uws:jobId>{run_id}"
        '<uws:ownerId xsi:nil="true"/>'
        f"<uws:phase>{job.phase}</uws:phase>"
        f"{_opt('quote', None)}"
        f"<uws:creationTime>{iso(job.creation_time)}</uws:creationTime>"
        f"{_opt('startTime', job.start_time and iso(job.start_time))}"
        f"{_opt('endTime', job.end_time and iso(job.end_time))}"
        f"<uws:executionDuration>{job.execution_duration}</uws:executionDuration>"
        f"<uws:destruction>{iso(job.destruction)}</uws:destruction>"
        f"<uws:parameters>{_params(job)}</uws:parameters>"
        f"<uws:results>{_result_ref(job, url)}</uws:results>{error}"
        "</uws:job>\n"
    ).encode()


def jobs_xml(jobs, url):
    """The UWS job list; ``url`` is the job list's public URL."""
    refs = "".join(
        f"<uws:jobref id={quoteattr(j.job_id)} xlink:href={quoteattr(url + '/' + j.job_id)}>"
        f"<uws:phase>{j.phase}</uws:phase>"
        f"<uws:creationTime>{iso(j.creation_time)}</uws:creationTime></uws:jobref>"
        for j in jobs
    )
    return f"{_XML}<uws:jobs {NS}>{refs}</uws:jobs>\n".encode()


def results_xml(job, url):
    """The job's result list (one result once COMPLETED)."""
    return f"{_XML}<uws:results {NS}>{_result_ref(job, url)}</uws:results>\n".encode()


def parameters_xml(job):
    """The job's parameter list."""
    return f"{_XML}<uws:parameters {NS}>{_params(job)}</uws:parameters>\n".encode()
