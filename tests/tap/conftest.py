"""Fixtures of the TAP service tests: real HATS catalogs written with lsdb, a real server on a
loopback socket, and small HTTP helpers (urllib, no redirects followed)."""

import io
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pyarrow.dataset as pads
import pytest

from specir.tap.engine import EngineConfig
from specir.tap.jobs import JobLimits
from specir.tap.server import serve
from specir.tap.settings import ServerConfig
from specir.tap.testing import write_synthetic_catalog

N_ROWS = 3000


@pytest.fixture(scope="session")
def catalog_dir(tmp_path_factory):
    return write_synthetic_catalog(
        tmp_path_factory.mktemp("tap") / "cat", N_ROWS, seed=3, partition_rows=150
    )


@pytest.fixture(scope="session")
def other_dir(tmp_path_factory):
    """A second, smaller published catalog (ids 1..400 overlap the first one's)."""
    return write_synthetic_catalog(
        tmp_path_factory.mktemp("tap2") / "cat", 400, name="other", seed=9
    )


@pytest.fixture(scope="session")
def truth(catalog_dir):
    """The whole catalog read directly with pyarrow (the reference for every comparison)."""
    return pads.dataset(catalog_dir / "dataset", format="parquet").to_table().to_pandas()


ENGINE = EngineConfig(
    timeout_s=3.0, default_maxrec=1000, max_maxrec=5000, max_concurrent=3, parse_timeout_s=3.0
)


@pytest.fixture(scope="session")
def server(catalog_dir, other_dir, tmp_path_factory):
    """One in-process service for the whole session (its URL: ``server.url``)."""
    config = ServerConfig(
        job_dir=str(tmp_path_factory.mktemp("jobs")),
        max_result_bytes=500_000,
        max_request_bytes=200_000,
        max_upload_rows=1000,
        read_timeout_s=2,
        limits=JobLimits(max_jobs_per_client=30, max_jobs=60, retention_s=3600),
    )
    srv = serve(
        [catalog_dir, other_dir],
        port=0,
        engine_config=ENGINE,
        server_config=config,
        background=True,
    )
    yield srv
    srv.shutdown()


class Client:
    """Small HTTP helpers against a service URL (redirects are returned, not followed)."""

    def __init__(self, url):
        self.url = url

    def http(self, url, data=None, method=None, headers=None, files=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req, timeout=60) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def sync(self, query, **extra):
        return self.http(self.url + "/sync", {"LANG": "ADQL", "QUERY": query, **extra})

    @staticmethod
    def table(body):
        from astropy.io.votable import parse

        return parse(io.BytesIO(body)).get_first_table().to_table()

    @staticmethod
    def status(body):
        root = ET.fromstring(body)
        for el in root.iter():
            if el.tag.endswith("INFO") and el.get("name") == "QUERY_STATUS":
                return el.get("value"), (el.text or "").strip()
        return None, ""


@pytest.fixture(scope="session")
def client(server):
    return Client(server.url)


@pytest.fixture
def sep():
    """Great-circle separation in degrees, computed by astropy (independent of the service)."""
    from astropy.coordinates import SkyCoord

    def separation(ra1, dec1, ra2, dec2):
        return SkyCoord(ra1, dec1, unit="deg").separation(SkyCoord(ra2, dec2, unit="deg")).deg

    return separation


@pytest.fixture(scope="session")
def stilts():
    exe = shutil.which("stilts")
    if exe is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("stilts is not installed on CI: .ci/system-deps should have installed it")
        pytest.skip("stilts is not installed (Debian package 'stilts')")
    return exe
