"""The TAP 1.1 HTTP service: sync, async (UWS 1.1), VOSI tables/capabilities/availability, and
Simple Cone Search, on the standard library's threading HTTP server."""

import logging
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from specir.errors import SpecIRInputError
from specir.tap import uws
from specir.tap.engine import Engine, EngineConfig, QueryError
from specir.tap.schema import TAP_SCHEMA_KEYS, adql_name
from specir.tap.votable import FORMATS, error_votable, write_result

__all__ = ["ServerConfig", "TAPServer", "serve"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerConfig:
    """HTTP-level limits of the service.

    Parameters
    ----------
    host : str
        Interface to listen on (loopback unless told otherwise).
    port : int
        TCP port; 0 picks a free one.
    max_request_bytes : int
        Largest request body accepted.
    max_query_chars : int
        Longest ADQL text accepted.
    max_jobs : int
        Async jobs kept at once.
    retention_s : int
        Default seconds from an async job's creation to its destruction.
    max_result_bytes : int
        Largest serialised result kept or sent (async results are held in memory).
    """

    host: str = "127.0.0.1"
    port: int = 8080
    max_request_bytes: int = 1_000_000
    max_query_chars: int = 100_000
    max_jobs: int = 200
    retention_s: int = 86400
    max_result_bytes: int = 256_000_000

    def __post_init__(self):
        if not 0 <= self.port < 65536:
            raise SpecIRInputError("port", f"is {self.port}", "pass 0..65535")


class _HTTPError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class TAPServer(ThreadingHTTPServer):
    """A running TAP service (call :meth:`serve_forever`, or use :func:`serve`)."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, engine, config=None):
        self.engine = engine
        self.config = config or ServerConfig()
        cfg = engine.config
        self.jobs = uws.JobManager(
            self._execute_job,
            max_workers=cfg.max_concurrent,
            max_jobs=self.config.max_jobs,
            default_duration=int(cfg.timeout_s),
            max_duration=int(cfg.timeout_s),
            default_retention=self.config.retention_s,
            max_retention=max(self.config.retention_s, 7 * 86400),
        )
        super().__init__((self.config.host, self.config.port), _Handler)

    @property
    def url(self):
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/tap"

    def run_query(self, params, *, timeout_s=None, on_start=None):
        """Run a TAP query from request parameters; returns (bytes, content type)."""
        request = params.get("REQUEST")
        if request is not None and request != "doQuery":
            raise QueryError(f"REQUEST={request} is not supported: use REQUEST=doQuery")
        lang = params.get("LANG")
        if lang is None:
            raise QueryError("LANG is missing: pass LANG=ADQL")
        if lang.upper() not in ("ADQL", "ADQL-2.0"):
            raise QueryError(f"LANG={lang} is not supported: pass LANG=ADQL")
        query = params.get("QUERY")
        if not query:
            raise QueryError("QUERY is missing: pass an ADQL SELECT statement")
        if len(query) > self.config.max_query_chars:
            raise QueryError(f"QUERY is longer than {self.config.max_query_chars} characters")
        fmt = params.get("RESPONSEFORMAT") or params.get("FORMAT") or "votable"
        if fmt.lower().replace(" ", "") not in FORMATS:
            raise QueryError(
                f"RESPONSEFORMAT={fmt} is not supported: use votable, votable/td or csv"
            )
        ctype, serialization = FORMATS[fmt.lower().replace(" ", "")]
        maxrec = params.get("MAXREC")
        if maxrec is not None:
            try:
                maxrec = int(maxrec)
            except ValueError:
                raise QueryError(f"MAXREC={maxrec} is not an integer") from None
            if maxrec < 0:
                raise QueryError("MAXREC must be >= 0")
        result = self.engine.query(query, maxrec=maxrec, timeout_s=timeout_s, on_start=on_start)
        body = write_result(result, serialization)
        if len(body) > self.config.max_result_bytes:
            raise QueryError(
                f"the result ({len(body) / 1e6:.1f} MB) is over the service's "
                f"{self.config.max_result_bytes / 1e6:.0f} MB limit: lower MAXREC or select "
                "fewer columns"
            )
        return body, ctype

    def _execute_job(self, job):
        def on_start(cancel):
            job.cancel = cancel

        try:
            return self.run_query(
                job.parameters, timeout_s=job.execution_duration, on_start=on_start
            )
        finally:
            job.cancel = None

    def handle_error(self, request, client_address):
        log.debug("connection from %s dropped", client_address, exc_info=True)

    def shutdown(self):
        self.jobs.shutdown()
        super().shutdown()


def _params(pairs):
    """Request parameters with upper-case names (TAP names are case-insensitive)."""
    out = {}
    for k, v in pairs:
        out.setdefault(k.upper(), v)
    return out


class _Handler(BaseHTTPRequestHandler):
    server_version = "specir-tap/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        log.debug("%s " + format, self.address_string(), *args)

    # -- plumbing ------------------------------------------------------------------------
    @property
    def base(self):
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return f"http://{host}/tap"

    def _send(self, status, body, ctype="text/xml", headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _redirect(self, url):
        self._send(303, b"", "text/plain", [("Location", url)])

    def _read_params(self):
        url = urllib.parse.urlsplit(self.path)
        pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        if self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            if length > self.server.config.max_request_bytes:
                self.close_connection = True
                raise _HTTPError(413, f"request body over {self.server.config.max_request_bytes}")
            body = self.rfile.read(length) if length else b""
            ctype = (self.headers.get("Content-Type") or "").lower()
            if ctype.startswith("multipart/"):
                raise _HTTPError(400, "multipart requests (table uploads) are not supported")
            if body:
                pairs += urllib.parse.parse_qsl(body.decode("utf-8", "replace"), True)
        return url.path.rstrip("/") or "/", _params(pairs)

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _dispatch(self):
        try:
            path, params = self._read_params()
            self._route(path, params)
        except _HTTPError as exc:
            self._send(exc.status, error_votable(str(exc)), "application/x-votable+xml")
        except QueryError as exc:
            self._send(400, error_votable(str(exc)), "application/x-votable+xml")
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:
            log.exception("internal error on %s", self.path)
            self._send(500, error_votable(f"internal error: {exc}"), "application/x-votable+xml")

    def _route(self, path, params):
        parts = path.strip("/").split("/")
        if path in ("/", "/tap"):
            return self._send(200, _landing(self.base), "text/html")
        if parts[0] != "tap":
            raise _HTTPError(404, f"no such resource {path}: the service lives under /tap")
        rest = parts[1:]
        if rest == ["sync"]:
            if self.command not in ("GET", "POST"):
                raise _HTTPError(405, "use GET or POST")
            body, ctype = self.server.run_query(params)
            return self._send(200, body, ctype)
        if rest == ["availability"]:
            return self._send(200, _availability())
        if rest == ["capabilities"]:
            return self._send(200, _capabilities(self.base, self.server.engine.config))
        if rest == ["tables"]:
            return self._send(200, _tables(self.server.engine))
        if rest == ["scs"] or (len(rest) == 2 and rest[0] == "scs"):
            return self._cone(params, rest[1] if len(rest) == 2 else None)
        if rest and rest[0] == "async":
            return self._async(rest[1:], params)
        raise _HTTPError(404, f"no such resource {path}")

    # -- async ---------------------------------------------------------------------------
    def _async(self, rest, params):
        jobs = self.server.jobs
        base = self.base + "/async"
        if not rest:
            if self.command == "POST":
                try:
                    job = jobs.create(
                        {k: v for k, v in params.items() if k not in ("PHASE", "RUNID")},
                        params.get("RUNID"),
                    )
                except OverflowError as exc:
                    raise _HTTPError(503, str(exc)) from None
                if params.get("PHASE", "").upper() == "RUN":
                    jobs.run(job)
                return self._redirect(f"{base}/{job.job_id}")
            listed = jobs.list()
            phases = [p.upper() for k, p in self._all_params() if k.upper() == "PHASE"]
            if phases:
                listed = [j for j in listed if j.phase in phases]
            else:
                listed = [j for j in listed if j.phase != "ARCHIVED"]
            last = params.get("LAST")
            if last is not None and last.isdigit():
                listed = sorted(listed, key=lambda j: j.creation_time)[-int(last) :][::-1]
            return self._send(200, uws.jobs_xml(listed, base))
        job = jobs.get(rest[0])
        if job is None:
            raise _HTTPError(404, f"no job {rest[0]} (it may have been destroyed)")
        url = f"{base}/{job.job_id}"
        if self.command == "DELETE" or (
            self.command == "POST" and params.get("ACTION", "").upper() == "DELETE"
        ):
            if len(rest) != 1:
                raise _HTTPError(405, "DELETE the job itself")
            jobs.delete(job.job_id)
            return self._redirect(base)
        sub = rest[1:]
        if self.command == "POST":
            return self._post_job(job, sub, params, url)
        if not sub:
            wait = params.get("WAIT")
            if wait is not None:
                try:
                    seconds = float(wait)
                except ValueError:
                    seconds = 0.0
                seconds = 60.0 if seconds < 0 else min(seconds, 60.0)
                want = params.get("PHASE")
                if want is None or want.upper() == job.phase:
                    jobs.wait(job, seconds)
            return self._send(200, uws.job_xml(job, url))
        text = {
            ("phase",): job.phase,
            ("executionduration",): str(job.execution_duration),
            ("destruction",): uws._iso(job.destruction),
            ("quote",): "",
            ("owner",): "",
            ("runid",): job.run_id or "",
        }.get(tuple(s.lower() for s in sub))
        if text is not None:
            return self._send(200, text, "text/plain")
        if sub == ["error"]:
            if job.phase != "ERROR":
                raise _HTTPError(404, f"job {job.job_id} has no error (phase {job.phase})")
            return self._send(200, error_votable(job.error or ""), "application/x-votable+xml")
        if sub == ["results"]:
            return self._send(200, _results_xml(job, url))
        if sub == ["results", "result"]:
            if job.phase != "COMPLETED":
                raise _HTTPError(404, f"job {job.job_id} has no result (phase {job.phase})")
            return self._send(200, job.result, job.result_type)
        if sub == ["parameters"]:
            return self._send(200, _parameters_xml(job))
        raise _HTTPError(404, f"no such job resource {'/'.join(sub)}")

    def _all_params(self):
        return urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query, True)

    def _post_job(self, job, sub, params, url):
        jobs = self.server.jobs
        key = "/".join(s.lower() for s in sub)
        if key == "phase":
            phase = params.get("PHASE", "").upper()
            if phase == "RUN":
                jobs.run(job)
            elif phase == "ABORT":
                jobs.abort(job)
            else:
                raise _HTTPError(400, "PHASE must be RUN or ABORT")
        elif key == "executionduration":
            try:
                value = int(float(params.get("EXECUTIONDURATION", "")))
            except ValueError:
                raise _HTTPError(400, "EXECUTIONDURATION must be a number of seconds") from None
            if job.phase == "PENDING":
                limit = jobs.max_duration
                job.execution_duration = limit if value <= 0 else min(value, limit)
        elif key == "destruction":
            try:
                when = uws.parse_iso(params.get("DESTRUCTION", ""))
            except ValueError:
                raise _HTTPError(400, "DESTRUCTION must be an ISO 8601 date-time") from None
            latest = job.creation_time + uws.dt.timedelta(seconds=jobs.max_retention)
            job.destruction = min(when, latest)
        elif key in ("", "parameters"):
            if job.phase != "PENDING" and any(k not in ("PHASE",) for k in params):
                raise _HTTPError(400, f"job parameters cannot change in phase {job.phase}")
            for k, v in params.items():
                if k not in ("PHASE", "ACTION", "RUNID"):
                    job.parameters[k] = v
            if params.get("PHASE", "").upper() == "RUN":
                jobs.run(job)
            elif params.get("PHASE", "").upper() == "ABORT":
                jobs.abort(job)
        else:
            raise _HTTPError(404, f"cannot POST to {key}")
        return self._redirect(url)

    # -- simple cone search --------------------------------------------------------------
    def _cone(self, params, table):
        engine = self.server.engine
        names = [t for t, v in engine.tables.items() if v.ra_column]
        table = table.lower() if table else names[0]
        info = engine.translator_tables.get(table)
        t = engine.tables.get(info.name) if info is not None else None
        if t is None or not t.ra_column:
            raise _HTTPError(404, f"no cone-searchable table {table}; try one of {names}")
        try:
            ra, dec, sr = (float(params[k]) for k in ("RA", "DEC", "SR"))
        except (KeyError, ValueError):
            return self._send(200, _scs_error("RA, DEC and SR (degrees) are required numbers"))
        if not (-90 <= dec <= 90 and 0 <= sr <= 180):
            return self._send(200, _scs_error("DEC must lie in [-90, 90] and SR in [0, 180]"))
        verb = params.get("VERB", "2")
        cols = ", ".join(
            f'"{c.name}"' for c in t.columns if verb == "3" or c.principal or verb == "2"
        )
        adql = (
            f"SELECT {cols} FROM {t.name} WHERE 1=CONTAINS(POINT('ICRS', {t.ra_column}, "
            f"{t.dec_column}), CIRCLE('ICRS', {ra!r}, {dec!r}, {sr!r}))"
        )
        try:
            result = engine.query(adql, maxrec=int(params.get("MAXREC", engine.config.max_maxrec)))
        except QueryError as exc:
            return self._send(200, _scs_error(str(exc)))
        self._send(200, write_result(result, "binary2"), "text/xml")


def _landing(base):
    links = ["sync", "async", "tables", "capabilities", "availability", "scs"]
    items = "".join(f'<li><a href="{base}/{x}">{x}</a></li>' for x in links)
    return f"<html><body><h1>specir TAP service</h1><ul>{items}</ul></body></html>"


def _results_xml(job, url):
    inner = ""
    if job.phase == "COMPLETED":
        inner = f'<uws:result id="result" xlink:href="{escape(url)}/results/result"/>'
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<uws:results {uws.NS}>{inner}</uws:results>\n'
    ).encode()


def _parameters_xml(job):
    params = "".join(
        f'<uws:parameter id="{escape(k.lower())}">{escape(str(v))}</uws:parameter>'
        for k, v in job.parameters.items()
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<uws:parameters {uws.NS}>{params}'
        "</uws:parameters>\n"
    ).encode()


def _scs_error(message):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<VOTABLE version="1.4" '
        'xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n<RESOURCE type="results">\n'
        f'<INFO ID="Error" name="Error" value="{escape(message, {chr(34): "&quot;"})}"/>\n'
        "</RESOURCE>\n</VOTABLE>\n"
    )


def _availability():
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<avail:availability xmlns:avail="http://www.ivoa.net/xml/VOSIAvailability/v1.0">'
        "<avail:available>true</avail:available>"
        "<avail:note>service is accepting queries</avail:note></avail:availability>\n"
    )


_GEO = ("POINT", "CIRCLE", "BOX", "POLYGON", "CONTAINS", "INTERSECTS", "DISTANCE", "AREA")
_GEO += ("COORD1", "COORD2", "COORDSYS")


def _capabilities(base, cfg):
    def cap(std, path, extra=""):
        return (
            f'<capability standardID="{std}"{extra}><interface xsi:type="vs:ParamHTTP">'
            f'<accessURL use="full">{base}/{path}</accessURL></interface></capability>'
        )

    geo = "".join(f"<feature><form>{g}</form></feature>" for g in _GEO)
    tap = (
        '<capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">'
        '<interface xsi:type="vs:ParamHTTP" role="std" version="1.1">'
        f'<accessURL use="base">{base}</accessURL></interface>'
        "<language><name>ADQL</name>"
        '<version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version>'
        "<description>ADQL 2.0 (plus OFFSET); geometry on the ICRS sphere</description>"
        f'<languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-adqlgeo">{geo}'
        "</languageFeatures></language>"
        '<outputFormat ivo-id="ivo://ivoa.net/std/TAPRegExt#output-votable-binary2">'
        "<mime>application/x-votable+xml</mime><alias>votable</alias></outputFormat>"
        '<outputFormat ivo-id="ivo://ivoa.net/std/TAPRegExt#output-votable-td">'
        "<mime>application/x-votable+xml;serialization=TABLEDATA</mime>"
        "<alias>votable/td</alias></outputFormat>"
        "<outputFormat><mime>text/csv</mime><alias>csv</alias></outputFormat>"
        "<retentionPeriod><default>86400</default><hard>604800</hard></retentionPeriod>"
        f"<executionDuration><default>{int(cfg.timeout_s)}</default>"
        f"<hard>{int(cfg.timeout_s)}</hard></executionDuration>"
        f'<outputLimit><default unit="row">{cfg.default_maxrec}</default>'
        f'<hard unit="row">{cfg.max_maxrec}</hard></outputLimit>'
        "</capability>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
        'xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0">'
        + tap
        + cap("ivo://ivoa.net/std/VOSI#capabilities", "capabilities")
        + cap("ivo://ivoa.net/std/VOSI#availability", "availability")
        + cap("ivo://ivoa.net/std/VOSI#tables-1.1", "tables")
        + cap("ivo://ivoa.net/std/ConeSearch", "scs?")
        + "</vosi:capabilities>\n"
    )


def _tables(engine):
    by_schema = {}
    for t in engine.tables.values():
        by_schema.setdefault(t.name.split(".")[0], []).append(t)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<vosi:tableset xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0" '
        'xmlns:vod="http://www.ivoa.net/xml/VODataService/v1.1" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    ]
    for schema, tables in by_schema.items():
        out.append(f"<schema><name>{escape(schema)}</name>")
        for t in tables:
            out.append(
                f'<table type="table"><name>{escape(t.name)}</name>'
                f"<description>{escape(t.description)}</description>"
            )
            for c in t.columns:
                out.append(f"<column><name>{escape(adql_name(c.name))}</name>")
                if c.description:
                    out.append(f"<description>{escape(c.description)}</description>")
                if c.unit:
                    out.append(f"<unit>{escape(c.unit)}</unit>")
                if c.ucd:
                    out.append(f"<ucd>{escape(c.ucd)}</ucd>")
                size = f' arraysize="{c.arraysize}"' if c.arraysize else ""
                out.append(f'<dataType xsi:type="vod:VOTableType"{size}>{c.datatype}</dataType>')
                if c.indexed:
                    out.append("<flag>indexed</flag>")
                if c.principal:
                    out.append("<flag>principal</flag>")
                out.append("</column>")
            for src, target, fcol, tcol in TAP_SCHEMA_KEYS:
                if src == t.name:
                    out.append(
                        f"<foreignKey><targetTable>{target}</targetTable><fkColumn>"
                        f"<fromColumn>{fcol}</fromColumn><targetColumn>{tcol}</targetColumn>"
                        "</fkColumn></foreignKey>"
                    )
            out.append("</table>")
        out.append("</schema>")
    out.append("</vosi:tableset>\n")
    return "".join(out)


def serve(catalogs, *, host="127.0.0.1", port=8080, engine_config=None, background=False):
    """Start a TAP service over HATS catalogs.

    Parameters
    ----------
    catalogs : list of str or path-like
        HATS catalog or collection directories; ``"SCHEMA.TABLE=PATH"`` publishes one as
        ``schema.table`` (a plain path: ``specir.<catalog name>``).
    host, port : str, int
        Where to listen (``port=0`` picks a free port).
    engine_config : EngineConfig, optional
    background : bool
        Serve from a daemon thread and return the server (call ``server.shutdown()``);
        otherwise serve until interrupted.

    Returns
    -------
    TAPServer
    """
    engine = Engine(catalogs, config=engine_config or EngineConfig())
    server = TAPServer(engine, ServerConfig(host=host, port=port))
    log.info("TAP service at %s", server.url)
    if background:
        threading.Thread(target=server.serve_forever, name="tap", daemon=True).start()
        return server
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        engine.close()
    return server
