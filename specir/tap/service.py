"""The TAP service of one worker process: the engine, the jobs, and what a request asks for.

HTTP is in :mod:`specir.tap.app`; this module turns checked request parameters into results:
sync and async queries (with ``TAP_UPLOAD`` tables), and Simple Cone Search.
"""

import dataclasses
import logging
import math
import re
import tempfile
from pathlib import Path

from specir.errors import SpecIRQueryError
from specir.tap.engine import Engine
from specir.tap.jobs import JobManager
from specir.tap.votable import FORMATS, read_upload, write_result

__all__ = ["TAPService", "fetch_upload", "parse_uploads"]

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_uploads(value):
    """``[(table name, source)]`` from a TAP ``UPLOAD`` parameter.

    ``source`` is the multipart part name of an inline upload (``param:part``) or an
    ``http(s)://`` URL.

    Examples
    --------
    >>> parse_uploads("mine,param:t1;other,https://example.org/t.vot")
    [('mine', 't1'), ('other', 'https://example.org/t.vot')]
    """
    out = []
    for item in filter(None, (v.strip() for v in value.split(";"))):
        name, _, uri = item.partition(",")
        name = name.strip().lower()
        if not _NAME.match(name):
            raise SpecIRQueryError(
                "UPLOAD", f"table name {name!r} is not an ADQL identifier", "use letters, _ digits"
            )
        if uri.startswith(("http://", "https://")):
            out.append((name, uri))
            continue
        if not uri.startswith("param:"):
            raise SpecIRQueryError(
                "UPLOAD",
                f"{uri!r} is neither an inline upload nor an http(s) URL",
                "send the table as a multipart part named by param:<part>, or give its URL",
            )
        out.append((name, uri[len("param:") :]))
    return out


def fetch_upload(url, config):
    """The bytes of a table uploaded by URL (``upload-http``), within the upload limits.

    Addresses on loopback, private or link-local networks are refused unless
    ``config.allow_private_upload_urls`` (the service must not become a probe of its own
    network); redirects are not followed.
    """
    import ipaddress
    import socket
    import urllib.parse
    import urllib.request

    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        addresses = {a[4][0] for a in socket.getaddrinfo(host, None)}
    except OSError:
        raise SpecIRQueryError(
            "UPLOAD", f"host {host!r} is unknown", "give a reachable URL"
        ) from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not config.allow_private_upload_urls and not ip.is_global:
            raise SpecIRQueryError(
                "UPLOAD", f"{url} is on a private network", "upload the table inline instead"
            )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    limit = config.max_upload_bytes
    try:
        with urllib.request.build_opener(NoRedirect).open(url, timeout=10) as resp:
            data = resp.read(limit + 1)
    except OSError as exc:
        raise SpecIRQueryError("UPLOAD", f"{url} could not be read ({exc})", "check it") from None
    if len(data) > limit:
        raise SpecIRQueryError("UPLOAD", f"{url} is over {limit} bytes", "upload a smaller table")
    return data


def _number(params, key, *, integer=False, minimum=None):
    value = params.get(key)
    if value is None:
        return None
    try:
        number = float(value) if not integer else int(value)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise SpecIRQueryError(key, f"is {value!r}, not {kind}", f"pass {kind}") from None
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        raise SpecIRQueryError(key, f"is {value!r}", f"pass a finite value >= {minimum or 0}")
    return number


class TAPService:
    """The engine, the job manager and the limits of one service worker process.

    Parameters
    ----------
    settings : specir.tap.settings.ServiceSettings
    """

    def __init__(self, settings):
        self.settings = settings
        self.config = settings.server
        self.engine = Engine(settings.catalogs, config=settings.engine)
        job_dir = self.config.job_dir or str(Path(tempfile.gettempdir()) / "specir-tap-jobs")
        limits = self.config.limits
        cfg = settings.engine
        if limits.max_duration_s != int(cfg.timeout_s):  # the engine's limit is the job's
            limits = dataclasses.replace(
                limits, default_duration_s=int(cfg.timeout_s), max_duration_s=int(cfg.timeout_s)
            )
        self.jobs = JobManager(job_dir, self._execute_job, limits=limits)

    # -- TAP queries ---------------------------------------------------------------------
    def check(self, params):
        """Check the TAP parameters of a query; returns (content type, serialisation, maxrec)."""
        request = params.get("REQUEST")
        if request is not None and request != "doQuery":
            raise SpecIRQueryError("REQUEST", f"is {request!r}", "pass REQUEST=doQuery")
        lang = params.get("LANG")
        if lang is None:
            raise SpecIRQueryError("LANG", "is missing", "pass LANG=ADQL")
        if lang.upper() not in ("ADQL", "ADQL-2.0", "ADQL-2.1"):
            raise SpecIRQueryError("LANG", f"{lang!r} is not supported", "pass LANG=ADQL")
        if not params.get("QUERY"):
            raise SpecIRQueryError("QUERY", "is missing", "pass an ADQL SELECT statement")
        fmt = (params.get("RESPONSEFORMAT") or params.get("FORMAT") or "votable").lower()
        fmt = fmt.replace(" ", "")
        if fmt not in FORMATS:
            raise SpecIRQueryError(
                "RESPONSEFORMAT", f"{fmt!r} is not supported", "use votable, votable/td or csv"
            )
        maxrec = _number(params, "MAXREC", integer=True, minimum=0)
        return (*FORMATS[fmt], maxrec)

    def run_query(self, params, uploads=None, *, timeout_s=None, on_start=None):
        """Run a TAP query from request parameters; returns (bytes, content type).

        ``uploads`` maps a multipart part name to its bytes (for ``UPLOAD=name,param:part``).
        """
        ctype, serialization, maxrec = self.check(params)
        tables = {}
        for name, part in parse_uploads(params.get("UPLOAD", "")):
            if part.startswith(("http://", "https://")):
                data = fetch_upload(part, self.config)
                tables[name] = read_upload(data, name, max_rows=self.config.max_upload_rows)
                continue
            data = (uploads or {}).get(part)
            if data is None:
                raise SpecIRQueryError(
                    "UPLOAD", f"names part {part!r}, which the request lacks", "send that part"
                )
            tables[name] = read_upload(data, name, max_rows=self.config.max_upload_rows)
        result = self.engine.query(
            params["QUERY"], maxrec=maxrec, timeout_s=timeout_s, on_start=on_start, uploads=tables
        )
        body = write_result(result, serialization)
        if len(body) > self.config.max_result_bytes:
            raise SpecIRQueryError(
                "MAXREC",
                f"the result ({len(body) / 1e6:.1f} MB) is over the service's "
                f"{self.config.max_result_bytes / 1e6:.0f} MB limit",
                "lower MAXREC or select fewer columns",
            )
        return body, ctype

    def _execute_job(self, job_id, params, timeout_s, on_start):
        folder = self.jobs.upload_dir(job_id)
        uploads = {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}
        return self.run_query(params, uploads, timeout_s=timeout_s, on_start=on_start)

    def create_job(self, params, uploads, *, owner, client):
        """A PENDING job (its uploads kept on disk); run at once when PHASE=RUN.

        The query is checked when it runs: a bad one becomes a job in phase ERROR (UWS).
        """
        keep = {k: v for k, v in params.items() if k not in ("PHASE", "RUNID", "ACTION")}
        parts = [
            p
            for p in dict(parse_uploads(params.get("UPLOAD", ""))).values()
            if not p.startswith(("http://", "https://"))
        ]
        missing = [p for p in parts if p not in (uploads or {})]
        if missing:
            raise SpecIRQueryError(
                "UPLOAD", f"names part(s) {missing} the request lacks", "send those parts"
            )
        job = self.jobs.create(keep, owner=owner, client=client, run_id=params.get("RUNID"))
        if parts:
            folder = self.jobs.upload_dir(job.job_id)
            folder.mkdir(parents=True, exist_ok=True)
            for p in parts:
                (folder / p).write_bytes(uploads[p])
        if params.get("PHASE", "").upper() == "RUN":
            self.jobs.run(job.job_id)
        return job

    # -- simple cone search --------------------------------------------------------------
    def cone(self, params, table=None):
        """Simple Cone Search 1.03: VOTable bytes of the rows within SR of (RA, DEC)."""
        engine = self.engine
        names = [t for t, v in engine.tables.items() if v.ra_column]
        info = engine.translator_tables.get((table or names[0]).lower())
        t = engine.tables.get(info.name) if info is not None else None
        if t is None or not t.ra_column:
            raise SpecIRQueryError("table", f"{table!r} has no positions", f"use one of {names}")
        values = {}
        for key in ("RA", "DEC", "SR"):
            if params.get(key) is None:
                raise SpecIRQueryError(key, "is missing", "pass RA, DEC and SR in degrees")
            values[key] = _number(params, key)
        ra, dec, sr = values["RA"], values["DEC"], values["SR"]
        if not (-90 <= dec <= 90 and 0 <= sr <= 180):
            raise SpecIRQueryError(
                "DEC/SR", f"are {dec!r}, {sr!r}", "give DEC in [-90, 90] and SR in [0, 180]"
            )
        verb = params.get("VERB", "2")
        if verb not in ("1", "2", "3"):
            raise SpecIRQueryError("VERB", f"is {verb!r}", "pass 1, 2 or 3")
        cols = ", ".join(f'"{c.name}"' for c in t.columns if verb != "1" or c.principal)
        maxrec = _number(params, "MAXREC", integer=True, minimum=0)
        adql = (
            f"SELECT {cols} FROM {t.name} WHERE 1=CONTAINS(POINT('ICRS', {t.ra_column}, "
            f"{t.dec_column}), CIRCLE('ICRS', {ra!r}, {dec!r}, {sr!r}))"
        )
        limit = engine.config.max_maxrec if maxrec is None else maxrec
        return write_result(engine.query(adql, maxrec=limit), "binary2")

    def close(self):
        """Stop the jobs of this process and close the engine (idempotent)."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        self.jobs.close()
        self.engine.close()
