"""``specir serve CATALOG... [--host H] [--port P]``: a TAP service over HATS catalogs."""

import logging

__all__ = ["add_arguments", "run"]

log = logging.getLogger(__name__)


def add_arguments(parser):
    parser.add_argument(
        "catalogs",
        nargs="+",
        metavar="CATALOG",
        help="HATS catalog directory, or SCHEMA.TABLE=PATH to publish it as schema.table",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080; 0: any)")
    parser.add_argument("--timeout", type=float, default=60.0, help="per-query limit in seconds")
    parser.add_argument("--maxrec", type=int, default=10_000, help="default row limit")
    parser.add_argument("--max-maxrec", type=int, default=1_000_000, help="hard row limit")
    parser.add_argument("--max-concurrent", type=int, default=4, help="queries running at once")
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory limit")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB worker threads")


def run(args):
    from specir.tap.engine import EngineConfig
    from specir.tap.server import serve

    config = EngineConfig(
        timeout_s=args.timeout,
        default_maxrec=args.maxrec,
        max_maxrec=args.max_maxrec,
        max_concurrent=args.max_concurrent,
        memory_limit=args.memory_limit,
        threads=args.threads,
    )
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: the service is reachable from other machines", args.host)
    serve(args.catalogs, host=args.host, port=args.port, engine_config=config)
    return 0
