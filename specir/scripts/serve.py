"""``specir serve CATALOG... [--host H] [--port P] [--workers N]``: a TAP service over HATS
catalogs (``SCHEMA.TABLE=PATH`` publishes a catalog as ``schema.table``)."""

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
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument(
        "--base-url", default=None, help="public URL of the service (default http://HOST:PORT/tap)"
    )
    parser.add_argument("--job-dir", default=None, help="where async jobs and results are kept")
    parser.add_argument("--timeout", type=float, default=60.0, help="per-query limit in seconds")
    parser.add_argument("--maxrec", type=int, default=10_000, help="default row limit")
    parser.add_argument("--max-maxrec", type=int, default=1_000_000, help="hard row limit")
    parser.add_argument("--max-concurrent", type=int, default=4, help="queries running at once")
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory limit")
    parser.add_argument("--threads", type=int, default=1, help="DuckDB threads per worker process")
    parser.add_argument(
        "--parse-workers", type=int, default=2, help="ADQL parse processes per server worker"
    )
    parser.add_argument("--retention", type=int, default=86400, help="async job lifetime (s)")
    parser.add_argument("--ready-file", default=None, help="write the service URL here once up")


def run(args):
    import dataclasses

    from specir.tap.engine import EngineConfig
    from specir.tap.jobs import JobLimits
    from specir.tap.server import ServerConfig, serve

    engine = EngineConfig(
        timeout_s=args.timeout,
        default_maxrec=args.maxrec,
        max_maxrec=args.max_maxrec,
        max_concurrent=args.max_concurrent,
        memory_limit=args.memory_limit,
        threads=args.threads,
        parse_workers=args.parse_workers,
    )
    limits = dataclasses.replace(
        JobLimits(), retention_s=args.retention, max_retention_s=max(args.retention, 7 * 86400)
    )
    server = ServerConfig(
        host=args.host,
        port=args.port,
        base_url=args.base_url,
        workers=args.workers,
        job_dir=args.job_dir,
        limits=limits,
    )
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: the service is reachable from other machines", args.host)
    serve(
        args.catalogs,
        host=args.host,
        port=args.port,
        engine_config=engine,
        server_config=server,
        ready_file=args.ready_file,
    )
    return 0
