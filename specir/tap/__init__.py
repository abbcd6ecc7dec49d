"""An IVOA TAP 1.1 service over HATS catalogs (``specir serve``)."""

from specir.tap.engine import Engine, EngineConfig, QueryError
from specir.tap.server import ServerConfig, TAPServer, serve

__all__ = ["Engine", "EngineConfig", "QueryError", "ServerConfig", "TAPServer", "serve"]
