"""The TAP service as an ASGI application (Starlette): sync queries, VOSI, examples, cone
search, and the UWS routes of :mod:`specir.tap.async_routes`.

Every URL the service writes starts with the configured public base URL; the Host header is
never read. Blocking work (parsing, DuckDB, serialisation) runs in worker threads.
"""

import contextlib
import logging

import anyio
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from specir.errors import SpecIRError
from specir.tap import vosi
from specir.tap.async_routes import job_list, job_resource
from specir.tap.schema import schema_description
from specir.tap.service import TAPService
from specir.tap.settings import ServiceSettings
from specir.tap.votable import error_votable
from specir.tap.web import RequestError, handles_errors, read_params

__all__ = ["app_from_env", "create_app"]

log = logging.getLogger(__name__)

XML = "text/xml"
_ALL = ["GET", "POST", "HEAD", "DELETE", "PUT"]


def _state(request):
    return request.app.state.service, request.app.state.base


@handles_errors
async def landing(request):
    service, base = _state(request)
    cfg = service.config
    return HTMLResponse(vosi.landing(base, cfg.title, f"{cfg.description} ({cfg.publisher})"))


@handles_errors
async def sync(request):
    service, _ = _state(request)
    if request.method not in ("GET", "POST"):
        raise RequestError(405, "method", f"{request.method} is not allowed", "use GET or POST")
    params = await read_params(request, service.config)
    body, ctype = await anyio.to_thread.run_sync(lambda: service.run_query(params, params.uploads))
    return Response(body, media_type=ctype)


@handles_errors
async def availability(request):
    service, _ = _state(request)
    if service.engine.slots.saturated:
        note = "every query slot is busy: only region-constrained queries start now"
        return Response(vosi.availability(False, note), media_type=XML)
    return Response(vosi.availability(True, "service is accepting queries"), media_type=XML)


@handles_errors
async def capabilities(request):
    service, base = _state(request)
    doc = vosi.capabilities(base, service.engine.config, service.config)
    return Response(doc, media_type=XML)


@handles_errors
async def tables(request):
    service, _ = _state(request)
    schemas = {t.split(".")[0] for t in service.engine.tables}
    descriptions = {s: schema_description(s) for s in schemas}
    return Response(vosi.tables(service.engine, descriptions), media_type=XML)


@handles_errors
async def examples(request):
    service, _ = _state(request)
    return Response(vosi.examples(service.engine), media_type="application/xhtml+xml")


def _scs_error(message):
    from xml.sax.saxutils import quoteattr

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<VOTABLE version="1.4" '
        'xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n<RESOURCE type="results">\n'
        f'<INFO ID="Error" name="Error" value={quoteattr(message)}/>\n'
        "</RESOURCE>\n</VOTABLE>\n"
    )


async def cone(request):
    """Simple Cone Search: errors are VOTables with HTTP 200 and INFO name="Error" (SCS 1.03)."""
    service, _ = _state(request)
    try:
        params = await read_params(request, service.config)
        body = await anyio.to_thread.run_sync(
            service.cone, params, request.path_params.get("table")
        )
    except SpecIRError as exc:
        return Response(_scs_error(str(exc)), media_type=XML)
    except Exception:
        log.exception("cone search failed")
        return Response(_scs_error("internal error (logged); please report it"), media_type=XML)
    return Response(body, media_type=XML)


async def not_found(request):
    return Response(
        error_votable(f"no such resource {request.url.path}: the service lives under /tap"),
        404,
        media_type="application/x-votable+xml",
    )


async def to_base(request):
    return RedirectResponse(request.app.state.base, status_code=303)


def create_app(settings, *, service=None):
    """The Starlette application of one worker process.

    Parameters
    ----------
    settings : specir.tap.settings.ServiceSettings
        Its ``server.base_url`` must be set (the public URL).
    service : TAPService, optional
        An existing service to serve (default: one built from ``settings``).
    """
    routes = [
        Route("/", to_base, methods=["GET", "HEAD"]),
        Route("/tap", landing, methods=["GET", "HEAD"]),
        Route("/tap/sync", sync, methods=_ALL),
        Route("/tap/async", job_list, methods=["GET", "POST", "HEAD"]),
        Route("/tap/async/{rest:path}", job_resource, methods=_ALL),
        Route("/tap/availability", availability, methods=["GET", "HEAD"]),
        Route("/tap/capabilities", capabilities, methods=["GET", "HEAD"]),
        Route("/tap/tables", tables, methods=["GET", "HEAD"]),
        Route("/tap/examples", examples, methods=["GET", "HEAD"]),
        Route("/tap/scs", cone, methods=["GET", "POST"]),
        Route("/tap/scs/{table}", cone, methods=["GET", "POST"]),
        Route("/{rest:path}", not_found, methods=_ALL),
    ]
    own = service is None
    service = service or TAPService(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        if own:
            service.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    app.state.base = settings.base_url()
    return app


def app_from_env():
    """The application of a server worker process, from ``SPECIR_TAP_SETTINGS``."""
    logging.basicConfig(level=logging.INFO)
    return create_app(ServiceSettings.from_env())
