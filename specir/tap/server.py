"""Running the TAP service on Hypercorn: worker processes, server-side limits, and an
in-process server for tests and the demo.

The listening socket is bound here (so that ``port=0`` can be resolved into the public URL
before any worker starts) and handed to Hypercorn, which runs ``workers`` processes on it.
Hypercorn enforces the connection limits: ``read_timeout`` closes a connection that sends
nothing (a silent socket, a short body, a ``Content-Length`` larger than what follows),
``keep_alive_timeout`` an idle one, and ``h11_max_incomplete_size`` bounds the request line
and headers; h11 refuses malformed ``Content-Length`` values with 400.
"""

import asyncio
import dataclasses
import logging
import os
import socket
import threading
import time
from pathlib import Path

from specir.tap.settings import ENV, ServerConfig, ServiceSettings

__all__ = ["BackgroundServer", "ServerConfig", "bind", "serve"]

log = logging.getLogger(__name__)


class _Edge:
    """ASGI wrapper at the server's edge.

    ``/tap/sync/`` is ``/tap/sync`` (no redirect built from the Host header). A response to a
    request that took longer than ``close_after_s`` carries ``Connection: close``: Hypercorn
    stops reading a connection once a read has waited ``read_timeout`` (its guard against
    silent clients), even while the application is still answering (a long ``WAIT``, a slow
    query), and then leaves it open but deaf, so a client that reused it for its next request
    (pyvo, TOPCAT) would see it closed unanswered after ``keep_alive_timeout``.
    """

    def __init__(self, app, close_after_s):
        self.app = app
        self.close_after_s = float(close_after_s)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if len(scope["path"]) > 1 and scope["path"].endswith("/"):
            scope = dict(scope, path=scope["path"].rstrip("/") or "/")
        start = time.monotonic()

        async def send_closing_late(message):
            late = time.monotonic() - start > self.close_after_s
            if message["type"] == "http.response.start" and late:
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"connection"]
                message = dict(message, headers=[*headers, (b"connection", b"close")])
            await send(message)

        await self.app(scope, receive, send_closing_late)


def _close_after(server):
    """Seconds after which a response closes its connection (half the read timeout)."""
    return 0.5 * server.read_timeout_s


def app_from_env():
    """The ASGI application of a Hypercorn worker process (settings from the environment)."""
    from specir.tap.app import app_from_env as make

    app = make()
    return _Edge(app, _close_after(app.state.service.settings.server))


def bind(host, port):
    """A listening TCP socket (``port=0``: a free one), inheritable by worker processes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _hypercorn_config(server, fd):
    from hypercorn.config import Config

    cfg = Config()
    cfg.bind = [f"fd://{fd}"]  # Hypercorn owns (and closes) the listening socket
    cfg.workers = server.workers
    cfg.read_timeout = server.read_timeout_s
    cfg.keep_alive_timeout = server.keep_alive_s
    cfg.h11_max_incomplete_size = server.max_header_bytes
    cfg.graceful_timeout = 5
    cfg.backlog = 1024
    cfg.accesslog = None
    cfg.application_path = "specir.tap.server:app_from_env()"
    return cfg


def _settings(catalogs, host, port, engine_config, server_config, workers):
    server = server_config or ServerConfig(host=host, port=port)
    server = dataclasses.replace(server, host=host, port=port, workers=workers or server.workers)
    kwargs = {} if engine_config is None else {"engine": engine_config}
    return ServiceSettings(tuple(catalogs), server=server, **kwargs)


class BackgroundServer:
    """A TAP service running in this process on a daemon thread (tests, the demo).

    Use :attr:`url`, and :meth:`shutdown` when done; :attr:`service` gives the engine and
    jobs.
    """

    def __init__(self, settings, *, service=None):
        from hypercorn.asyncio import serve as hyper_serve

        from specir.tap.app import create_app

        sock = bind(settings.server.host, settings.server.port)
        port = sock.getsockname()[1]
        self.settings = dataclasses.replace(
            settings,
            server=dataclasses.replace(settings.server, base_url=settings.base_url(port)),
        )
        self.app = create_app(self.settings, service=service)
        self.service = self.app.state.service
        self.url = self.settings.base_url()
        self.server_address = (settings.server.host, port)
        server = dataclasses.replace(self.settings.server, workers=1)
        cfg = _hypercorn_config(server, sock.detach())
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        wrapped = _Edge(self.app, _close_after(self.settings.server))

        def run():
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(
                    hyper_serve(wrapped, cfg, shutdown_trigger=self._stop.wait)
                )
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="tap", daemon=True)
        self._thread.start()

    @property
    def engine(self):
        return self.service.engine

    def shutdown(self):
        """Stop serving and close the service (idempotent)."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=15)
            self.service.close()

    def server_close(self):
        """Kept for callers of the former API: :meth:`shutdown` closes everything."""


def _check_catalogs(catalogs):
    """Refuse a bad catalog before any worker process starts."""
    from specir.tap.schema import load_catalog, parse_catalog_spec

    for item in catalogs:
        spec = parse_catalog_spec(item)
        load_catalog(spec.path, schema=spec.schema or "specir", table=spec.table)


def serve(
    catalogs,
    *,
    host="127.0.0.1",
    port=8080,
    engine_config=None,
    server_config=None,
    workers=None,
    background=False,
    ready_file=None,
):
    """Start a TAP service over HATS catalogs.

    Parameters
    ----------
    catalogs : list of str or path-like
        HATS catalog or collection directories; ``"SCHEMA.TABLE=PATH"`` publishes one as
        ``schema.table`` (a plain path: ``specir.<catalog name>``).
    host, port : str, int
        Where to listen (``port=0`` picks a free port).
    engine_config : EngineConfig, optional
    server_config : ServerConfig, optional
        HTTP limits, job quotas, public URL (its host and port are replaced by ``host``,
        ``port``).
    workers : int, optional
        Server worker processes (default ``server_config.workers``); ignored in background.
    background : bool
        Serve from a daemon thread of this process and return a :class:`BackgroundServer`;
        otherwise serve until interrupted (SIGINT / SIGTERM).
    ready_file : path-like, optional
        Where to write the service's URL once the socket listens (for scripts and tests).

    Returns
    -------
    BackgroundServer or None
    """
    settings = _settings(catalogs, host, port, engine_config, server_config, workers)
    if background:
        server = BackgroundServer(settings)
        log.info("TAP service at %s", server.url)
        if ready_file:
            Path(ready_file).write_text(server.url)
        return server
    from hypercorn.run import run

    _check_catalogs(settings.catalogs)
    sock = bind(host, port)
    url = settings.base_url(sock.getsockname()[1])
    settings = dataclasses.replace(
        settings, server=dataclasses.replace(settings.server, base_url=url)
    )
    os.environ[ENV] = settings.to_json()
    log.info("TAP service at %s (%d worker processes)", url, settings.server.workers)
    if ready_file:
        Path(ready_file).write_text(url)
    run(_hypercorn_config(settings.server, sock.detach()))
    return None
