"""Configuration of the TAP service: HTTP limits, job quotas, public URL, and the metadata a
client shows. One :class:`ServiceSettings` travels to every worker process as JSON."""

import dataclasses
import json
import os
from dataclasses import dataclass, field

from specir.errors import SpecIRInputError
from specir.tap.engine import EngineConfig
from specir.tap.jobs import JobLimits

__all__ = ["ServerConfig", "ServiceSettings"]

ENV = "SPECIR_TAP_SETTINGS"
"""Environment variable carrying the settings to worker processes."""


@dataclass(frozen=True)
class ServerConfig:
    """HTTP-level settings and limits of the service.

    Parameters
    ----------
    host : str
        Interface to listen on (loopback unless told otherwise).
    port : int
        TCP port; 0 picks a free one.
    base_url : str, optional
        Public URL of the service (``https://example.org/tap``), used in every document and
        redirect; default ``http://host:port/tap``. The Host header is never used.
    workers : int
        Server worker processes.
    job_dir : str, optional
        Directory of the job table and results (default: a ``specir-tap-jobs`` directory in
        the system's temporary directory).
    max_request_bytes : int
        Largest request body (form or multipart, uploads included).
    max_upload_bytes, max_upload_rows : int
        Largest uploaded table.
    max_result_bytes : int
        Largest serialised result sent or kept.
    allow_private_upload_urls : bool
        Whether ``UPLOAD`` URLs may point at loopback or private addresses.
    read_timeout_s, keep_alive_s : int
        Seconds a connection may stay silent while a request is being read, and between
        requests.
    max_header_bytes : int
        Largest request line plus headers.
    title, publisher, description : str
        Service metadata shown by clients and the landing page.
    limits : JobLimits
        Async job quotas and retention.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str | None = None
    workers: int = 1
    job_dir: str | None = None
    max_request_bytes: int = 20_000_000
    max_upload_bytes: int = 16_000_000
    max_upload_rows: int = 100_000
    max_result_bytes: int = 256_000_000
    allow_private_upload_urls: bool = False
    read_timeout_s: int = 20
    keep_alive_s: int = 5
    max_header_bytes: int = 16_384
    title: str = "specir value-added catalog TAP service"
    publisher: str = "specir"
    description: str = (
        "WISE W1-W4 fluxes, AGN luminosity and PAH fraction predicted from optical galaxy "
        "spectra by specir, published as HEALPix-partitioned (HATS) catalogs."
    )
    limits: JobLimits = field(default_factory=JobLimits)

    def __post_init__(self):
        if not 0 <= self.port < 65536:
            raise SpecIRInputError("port", f"is {self.port}", "pass 0..65535")
        if self.workers < 1:
            raise SpecIRInputError("workers", f"is {self.workers}", "pass 1 or more")
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise SpecIRInputError(
                "base_url", f"is {self.base_url!r}", "give an http:// or https:// URL"
            )


@dataclass(frozen=True)
class ServiceSettings:
    """Everything a worker process needs to build the service."""

    catalogs: tuple
    engine: EngineConfig = field(default_factory=EngineConfig)
    server: ServerConfig = field(default_factory=ServerConfig)

    def base_url(self, port=None):
        """The public base URL (``port`` is the bound port when ``server.port`` was 0)."""
        if self.server.base_url:
            return self.server.base_url.rstrip("/")
        host = self.server.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port or self.server.port}/tap"

    def to_json(self):
        data = dataclasses.asdict(self)
        data["catalogs"] = [str(c) if not isinstance(c, tuple) else list(c) for c in self.catalogs]
        return json.dumps(data)

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        server = dict(data["server"])
        server["limits"] = JobLimits(**server["limits"])
        return cls(
            tuple(tuple(c) if isinstance(c, list) else c for c in data["catalogs"]),
            EngineConfig(**data["engine"]),
            ServerConfig(**server),
        )

    @classmethod
    def from_env(cls):
        text = os.environ.get(ENV)
        if not text:
            raise SpecIRInputError(ENV, "is not set", "start the service with specir serve")
        return cls.from_json(text)
