"""Fixtures of the fetch tests: ``specir serve`` over the fixture tables, a SAS-like server."""

import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fetch.fetch_fixtures import cli_env, free_port, run2d_of, write_tap_tables


@pytest.fixture(scope="session")
def tap_service(sdss_files, tmp_path_factory):
    """``specir serve`` (started through the CLI) publishing the fixture tables."""
    folder = tmp_path_factory.mktemp("tap_tables")
    args = write_tap_tables(sdss_files, folder)
    port = free_port()
    cmd = [sys.executable, "-m", "specir.scripts.main", "-q", "serve", *args, "--port", str(port)]
    log = open(folder / "serve.log", "w")
    proc = subprocess.Popen(cmd, env=cli_env(), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/tap"
    for _ in range(600):  # bounded: 60 s
        try:
            with urllib.request.urlopen(f"{url}/availability", timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"specir serve exited: {(folder / 'serve.log').read_text()[-2000:]}")
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("specir serve did not answer within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


class SasServer(ThreadingHTTPServer):
    """A Science-Archive-Server-like tree over loopback with injected faults.

    ``files`` maps URL paths to bytes. ``faults`` maps a path to a list of actions used one per
    request (``"500"``, ``"503"``, ``"stall"`` to answer after ``stall_s``, ``"truncate"`` to
    send half the file with the full Content-Length); when a list is used up the file is served
    normally. ``delay_s`` slows every answer. ``hits`` counts requests per path.
    """

    daemon_threads = True

    def __init__(self, files, *, faults=None, delay_s=0.0, stall_s=3.0):
        self.files, self.faults = files, {k: list(v) for k, v in (faults or {}).items()}
        self.delay_s, self.stall_s, self.hits = delay_s, stall_s, {}
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _SasHandler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class _SasHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        with srv.lock:
            srv.hits[self.path] = srv.hits.get(self.path, 0) + 1
            queue = srv.faults.get(self.path, [])
            action = queue.pop(0) if queue else None
        time.sleep(srv.delay_s)
        if action in ("500", "503"):
            self.send_error(int(action))
            return
        if action == "stall":
            time.sleep(srv.stall_s)
        body = srv.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/fits")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body[: len(body) // 2] if action == "truncate" else body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="session")
def sas_server(sdss_files):
    """Factory: a running :class:`SasServer` holding the 12 real files in the SAS layout.

    ``replace`` maps paths to other content (e.g. a file truncated on the server itself).
    """
    from specir.fetch.recipe import SasLayout
    from specir.sdss import read_sdss

    files = {}
    for f in sdss_files:
        m = read_sdss(f).meta
        run2d = run2d_of(f)
        rel = SasLayout().relative_path(
            plate=m["plate"], mjd=m["mjd"], fiberid=m["fiberid"], run2d=run2d
        )
        files[f"/sas/dr17/{rel}"] = Path(f).read_bytes()
    servers = []

    def start(*, replace=None, **kw):
        srv = SasServer({**files, **(replace or {})}, **kw)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()
