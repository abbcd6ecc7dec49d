"""An IVOA TAP 1.1 service over HATS catalogs (``specir serve``).

The names below are imported on first use, so that the ADQL parse workers (which import
:mod:`specir.tap.adql` only) start without the engine's dependencies.
"""

from importlib import import_module

_LAZY = {
    "BackgroundServer": "specir.tap.server",
    "Engine": "specir.tap.engine",
    "EngineConfig": "specir.tap.engine",
    "JobLimits": "specir.tap.jobs",
    "ServerConfig": "specir.tap.settings",
    "serve": "specir.tap.server",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'specir.tap' has no attribute {name!r}")
