"""The UWS 1.1 routes of ``/tap/async``: the job list, job creation, a job and its parts.

A job is reached through its URL, whose 128-bit random id is the capability to read, change
or delete it; the owner cookie scopes the job list to the jobs its holder created, and a
request carrying another owner's cookie is refused (403). Blocking ``WAIT`` polls the job
table without holding a thread.
"""

import asyncio
import math
import time

import anyio
from starlette.responses import FileResponse, RedirectResponse, Response

from specir.tap import uws
from specir.tap.votable import error_votable
from specir.tap.web import (
    OWNER_COOKIE,
    RequestError,
    handles_errors,
    new_owner_token,
    owner_token,
    read_params,
)

__all__ = ["job_list", "job_resource"]

XML = "text/xml"
MAX_WAIT_S = 60


def _redirect(url, owner=None):
    response = RedirectResponse(url, status_code=303)
    if owner is not None:
        response.set_cookie(OWNER_COOKIE, owner, max_age=30 * 86400, httponly=True)
    return response


def _job(request, service, job_id):
    job = service.jobs.get(job_id)
    if job is None:
        raise RequestError(404, "job", f"{job_id} does not exist", "it may have been destroyed")
    token = owner_token(request)
    if token is not None and token != job.owner:
        raise RequestError(403, "job", f"{job_id} belongs to another client", "use your own jobs")
    return job


@handles_errors
async def job_list(request):
    service, base = request.app.state.service, request.app.state.base + "/async"
    params = await read_params(request, service.config)
    if request.method == "POST":
        owner = owner_token(request)
        fresh = owner is None
        owner = owner or new_owner_token()
        client = request.client.host if request.client else "unknown"
        job = await anyio.to_thread.run_sync(
            lambda: service.create_job(params, params.uploads, owner=owner, client=client)
        )
        return _redirect(f"{base}/{job.job_id}", owner if fresh else None)
    token = owner_token(request)
    jobs = service.jobs.list(token) if token else []
    phases = [p.upper() for p in params.all("PHASE")]
    jobs = [j for j in jobs if (j.phase in phases if phases else j.phase != "ARCHIVED")]
    if "AFTER" in params:
        try:
            after = uws.parse_iso(params["AFTER"])
        except ValueError:
            raise RequestError(400, "AFTER", "is not a date-time", "pass ISO 8601") from None
        jobs = [j for j in jobs if j.creation_time > after]
    if "LAST" in params:
        last = params["LAST"]
        if not (last.isascii() and last.isdigit()) or int(last) < 1:
            raise RequestError(400, "LAST", f"is {last!r}", "pass a positive integer")
        jobs = sorted(jobs, key=lambda j: j.creation_time)[-int(last) :][::-1]
    return Response(uws.jobs_xml(jobs, base), media_type=XML)


async def _wait(service, job, params):
    text = params["WAIT"].strip()
    try:
        seconds = int(text)
    except ValueError:
        raise RequestError(
            400, "WAIT", f"is {text!r}", "pass an integer number of seconds"
        ) from None
    seconds = MAX_WAIT_S if seconds < 0 else min(seconds, MAX_WAIT_S)
    want = params.get("PHASE", job.phase).upper()
    if job.phase != want or job.phase not in ("PENDING", "QUEUED", "EXECUTING"):
        return job
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await asyncio.sleep(0.1)
        current = service.jobs.get(job.job_id)
        if current is None or current.phase != job.phase:
            return current or job
    return service.jobs.get(job.job_id) or job


def _number(params, key):
    text = params.get(key, "")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise RequestError(400, key, f"is {text!r}", "pass a finite number of seconds")
    return value


def _post(service, job, sub, params):
    jobs = service.jobs
    key = "/".join(s.lower() for s in sub)
    phase = params.get("PHASE", "").upper()
    if key == "executionduration":
        value = _number(params, "EXECUTIONDURATION")
        if job.phase == "PENDING":
            limit = jobs.limits.max_duration_s
            jobs.update(
                job.job_id, execution_duration=limit if value <= 0 else int(min(value, limit))
            )
    elif key == "destruction":
        try:
            when = uws.parse_iso(params.get("DESTRUCTION", ""))
        except ValueError:
            raise RequestError(400, "DESTRUCTION", "is not a date-time", "pass ISO 8601") from None
        latest = job.creation_time + jobs.limits.max_retention_s
        jobs.update(job.job_id, destruction=min(when, latest))
    elif key in ("", "parameters", "phase"):
        changes = {k: v for k, v in params.items() if k not in ("PHASE", "ACTION", "RUNID")}
        if changes and job.phase != "PENDING":
            raise RequestError(400, "job", f"is {job.phase}", "change parameters while PENDING")
        if changes:
            jobs.update(job.job_id, parameters={**job.parameters, **changes})
        if phase == "RUN":
            jobs.run(job.job_id)
        elif phase == "ABORT":
            jobs.abort(job.job_id)
        elif key == "phase":
            raise RequestError(400, "PHASE", f"is {phase!r}", "pass PHASE=RUN or PHASE=ABORT")
    else:
        raise RequestError(404, "job", f"has no resource {key!r} to POST to", "see UWS 1.1")


def _text(job, sub):
    return {
        ("phase",): job.phase,
        ("executionduration",): str(job.execution_duration),
        ("destruction",): uws.iso(job.destruction),
        ("quote",): "",
        ("owner",): "",
        ("runid",): job.run_id or "",
    }.get(tuple(s.lower() for s in sub))


def _get(service, job, sub, url):
    text = _text(job, sub)
    if text is not None:
        return Response(text, media_type="text/plain")
    if sub == ["error"]:
        if job.phase != "ERROR":
            raise RequestError(404, "job", f"has no error (phase {job.phase})", "see its phase")
        return Response(error_votable(job.error or ""), media_type="application/x-votable+xml")
    if sub == ["results"]:
        return Response(uws.results_xml(job, url), media_type=XML)
    if sub == ["results", "result"]:
        path = service.jobs.result_path(job.job_id)
        if job.phase != "COMPLETED" or not path.exists():
            raise RequestError(404, "job", f"has no result (phase {job.phase})", "see its phase")
        return FileResponse(path, media_type=job.result_type)
    if sub == ["parameters"]:
        return Response(uws.parameters_xml(job), media_type=XML)
    raise RequestError(404, "job", f"has no resource {'/'.join(sub)!r}", "see UWS 1.1")


@handles_errors
async def job_resource(request):
    service, base = request.app.state.service, request.app.state.base + "/async"
    params = await read_params(request, service.config)
    parts = request.path_params["rest"].strip("/").split("/")
    job = _job(request, service, parts[0])
    sub, url = parts[1:], f"{base}/{job.job_id}"
    deleting = request.method == "DELETE" or params.get("ACTION", "").upper() == "DELETE"
    if deleting and request.method in ("DELETE", "POST"):
        if sub:
            raise RequestError(405, "job", "parts cannot be deleted", "DELETE the job itself")
        await anyio.to_thread.run_sync(service.jobs.delete, job.job_id)
        return _redirect(base)
    if request.method == "POST":
        await anyio.to_thread.run_sync(_post, service, job, sub, params)
        return _redirect(url)
    if not sub:
        if "WAIT" in params:
            job = await _wait(service, job, params)
        return Response(uws.job_xml(job, url), media_type=XML)
    return _get(service, job, sub, url)
