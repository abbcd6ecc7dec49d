"""The query engine: DuckDB over the HATS catalogs' Parquet files, read-only and bounded.

Each published catalog is a DuckDB view over its ``dataset/**/*.parquet`` files. A query whose
WHERE clause confines a table's rows to a constant circle or polygon reads only the HEALPix
partitions that overlap it (``hats`` computes them). The database is locked down after the
views are made: file access is limited to the catalog directories, extensions cannot be
loaded, and the configuration is locked; the ADQL translator adds its own whitelist on top.
Division by zero is an error, as SQL says, not a NaN that compares true.
"""

import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from specir.errors import SpecIRInputError, SpecIRQueryError, SpecIRServiceError
from specir.tap.admission import ParsePool, Slots
from specir.tap.adql import MACROS, TableInfo, translate_template
from specir.tap.engine_errors import engine_error
from specir.tap.grammar import prepare
from specir.tap.schema import load_catalog, parse_catalog_spec, tap_schema_tables

__all__ = ["Engine", "EngineConfig", "QueryResult"]

log = logging.getLogger(__name__)

INLINE_CHARS = 2000
INLINE_DEPTH = 8
"""Queries at most this long and this deeply nested are parsed in the serving process (a
few milliseconds, bounded by these limits); longer or deeper ones go to a killable parse
worker."""


@dataclass(frozen=True)
class EngineConfig:
    """Limits of the query engine.

    Parameters
    ----------
    timeout_s : float
        Wall-clock limit of one query in seconds; longer queries are interrupted.
    default_maxrec : int
        Rows returned when the request gives no MAXREC.
    max_maxrec : int
        Hard row limit, whatever MAXREC says.
    max_concurrent : int
        Queries executing at once; further ones wait for a slot.
    reserved_cheap : int
        Of those, slots only cheap (HEALPix-pruned or TAP_SCHEMA) queries may take.
    queue_timeout_s : float
        How long a query waits for a slot before it is refused.
    memory_limit : str
        DuckDB ``memory_limit``.
    threads : int
        DuckDB threads per database (per serving process). With 1, a query runs wholly in
        the thread that asks for it, so an expensive query's low CPU priority (below) covers
        all its work; with more, DuckDB's shared worker threads run it at normal priority.
    expensive_nice : int
        Added to the nice value of the threads that run expensive queries (not confined to
        a region), so that they yield the CPU to cheap ones (Linux: per-thread; 0 disables).
    max_query_chars, max_depth : int
        Longest ADQL text and deepest parenthesis nesting accepted (checked before parsing).
    parse_workers : int
        Parse worker processes (0: parse in the calling thread, without a time budget).
    parse_timeout_s : float
        Time budget of one parse; the worker is killed when it overruns.
    """

    timeout_s: float = 60.0
    default_maxrec: int = 10_000
    max_maxrec: int = 1_000_000
    max_concurrent: int = 4
    reserved_cheap: int = 1
    queue_timeout_s: float = 30.0
    memory_limit: str = "2GB"
    threads: int = 1
    expensive_nice: int = 19
    max_query_chars: int = 100_000
    max_depth: int = 30
    parse_workers: int = 2
    parse_timeout_s: float = 5.0

    def __post_init__(self):
        for name in ("timeout_s", "default_maxrec", "max_maxrec", "max_concurrent", "threads"):
            if not getattr(self, name) > 0:
                raise SpecIRInputError(name, f"is {getattr(self, name)!r}", "pass a positive value")
        if self.default_maxrec > self.max_maxrec:
            raise SpecIRInputError(
                "default_maxrec", "exceeds max_maxrec", "lower default_maxrec or raise max_maxrec"
            )


@dataclass
class QueryResult:
    """Rows of a query with the metadata of their columns."""

    table: pa.Table
    overflow: bool
    columns: list = field(default_factory=list)
    """One dict per column: name, unit, ucd, description (``""`` where unknown)."""
    sql: str = ""
    elapsed_s: float = 0.0


def _units(table):
    """``(column, unit, ucd)`` of the columns of an uploaded table whose field metadata give a
    unit."""
    out = []
    for f in table.schema:
        unit = (f.metadata or {}).get(b"unit", b"").decode()
        if unit:
            out.append((f.name.lower(), unit, ""))
    return tuple(out)


def _lower_priority(increment):
    """Raise the nice value of the calling thread (Linux threads have their own)."""
    if increment <= 0 or not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(
            os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment)
        )
    except OSError:  # not permitted: run at normal priority
        log.warning("could not lower the priority of expensive-query threads", exc_info=True)


class Engine:
    """A read-only DuckDB database publishing HATS catalogs for ADQL queries.

    Parameters
    ----------
    catalogs : list of str, path-like or (name, path)
        HATS catalog (or collection) directories; ``"SCHEMA.TABLE=PATH"`` (or the pair
        ``("schema.table", path)``) publishes one under that schema and table name.
    config : EngineConfig, optional
    schema : str
        The TAP schema of catalogs given as a plain path.
    """

    def __init__(self, catalogs, *, config=None, schema="specir"):
        self.config = config or EngineConfig()
        self.schema = schema
        self.tables = {}
        for item in catalogs:
            spec = parse_catalog_spec(item)
            table = load_catalog(spec.path, schema=spec.schema or schema, table=spec.table)
            if table.name in self.tables:
                raise SpecIRInputError(
                    "catalogs", f"two catalogs are named {table.name!r}", "publish distinct names"
                )
            self.tables[table.name] = table
        if not self.tables:
            raise SpecIRInputError("catalogs", "is empty", "pass at least one HATS catalog")
        self._db = duckdb.connect(":memory:")
        cfg = self.config
        self.slots = Slots(cfg.max_concurrent, reserved=cfg.reserved_cheap)
        self._low_priority = ThreadPoolExecutor(
            max(1, cfg.max_concurrent - self.slots.reserved),
            thread_name_prefix="tap-expensive",
            initializer=_lower_priority,
            initargs=(cfg.expensive_nice,),
        )
        self._parser = None
        if cfg.parse_workers:
            self._parser = ParsePool(cfg.parse_workers, timeout_s=cfg.parse_timeout_s)
        self._setup()
        for t in self.tables.values():  # the first HEALPix cone computation compiles code
            if t.catalog is not None:
                t.catalog.filter_by_cone(0.0, 0.0, 1.0)

    # -- set-up --------------------------------------------------------------------------
    def _setup(self):
        db = self._db
        db.execute(f"SET threads={int(self.config.threads)}")
        db.execute(f"SET memory_limit='{self.config.memory_limit}'")
        db.execute("SET parquet_metadata_cache=true")
        db.execute("SET GLOBAL ieee_floating_point_ops=false")
        for macro in MACROS:
            db.execute(macro)
        for name in sorted({t.name.split(".")[0] for t in self.tables.values()}):
            db.execute(f'CREATE SCHEMA "{name}"')
        for t in list(self.tables.values()):
            db.execute(f"CREATE VIEW {t.sql} AS {t.select(t.glob)}")
        for t in tap_schema_tables(self.tables.values()):
            t.create(db)
            self.tables[t.name] = t
        self.translator_tables = {}
        for t in self.tables.values():
            units = tuple((c.name.lower(), c.unit, c.ucd) for c in t.columns if c.unit)
            info = TableInfo(t.name, t.sql, t.ra_column, t.dec_column, units)
            self.translator_tables[t.name] = info
            bare = t.name.split(".")[-1]
            if sum(1 for o in self.tables if o.split(".")[-1] == bare) == 1:
                self.translator_tables.setdefault(bare, info)
        dirs = sorted({str(t.root) + "/" for t in self.tables.values() if t.root is not None})
        db.execute(f"SET allowed_directories={dirs!r}")
        db.execute("SET enable_external_access=false")
        db.execute("SET autoinstall_known_extensions=false")
        db.execute("SET autoload_known_extensions=false")
        db.execute("SET lock_configuration=true")

    def _source(self, info, regions):
        table = self.tables[info.name]
        try:
            files = table.files_for(regions)
        except Exception:  # pruning is an optimisation: never fail a query because of it
            log.warning("HEALPix pruning failed for %s; scanning all files", regions, exc_info=True)
            files = None
        if files is None:
            return info.sql
        if not files:
            return f"(SELECT * FROM {info.sql} WHERE false)"
        return "(" + table.select(files) + ")"

    # -- queries -------------------------------------------------------------------------
    def translate(self, adql, *, uploads=None):
        """The :class:`~specir.tap.adql.Translation` of an ADQL query (pruning applied).

        ``uploads`` maps ``tap_upload.<name>`` to the :class:`~specir.tap.adql.TableInfo` of
        tables uploaded with the request. Raises :class:`~specir.errors.SpecIRQueryError`.
        """
        cfg = self.config
        tables = dict(self.translator_tables, **(uploads or {}))
        limits = {"max_chars": cfg.max_query_chars, "max_depth": cfg.max_depth}
        small = len(adql) <= INLINE_CHARS and prepare(adql, **limits).depth <= INLINE_DEPTH
        if self._parser is not None and not small:
            template = self._parser.translate(adql, tables, **limits)
        else:  # short, shallow text parses in milliseconds: no round trip to a worker
            template = translate_template(adql, tables, **limits)
        return template, template.render(self._source)

    def query(self, adql, *, maxrec=None, timeout_s=None, on_start=None, uploads=None):
        """Run an ADQL query and return at most ``maxrec`` rows.

        Parameters
        ----------
        adql : str
        maxrec : int, optional
            Row limit; defaults to ``config.default_maxrec``, capped at ``config.max_maxrec``.
        timeout_s : float, optional
            Wall-clock limit; at most (and by default) ``config.timeout_s``.
        on_start : callable, optional
            Called with a function that interrupts the running query (for aborting jobs).
        uploads : dict, optional
            ``name -> pyarrow.Table`` published for this query as ``TAP_UPLOAD.name``.

        Returns
        -------
        QueryResult
        """
        cfg = self.config
        maxrec = cfg.default_maxrec if maxrec is None else min(int(maxrec), cfg.max_maxrec)
        if maxrec < 0:
            raise SpecIRQueryError("MAXREC", f"is {maxrec}", "pass a non-negative integer")
        uploads = uploads or {}
        infos = {
            f"tap_upload.{n}": TableInfo(f"tap_upload.{n}", f'"tap_upload_{n}"', units=_units(t))
            for n, t in uploads.items()
        }
        template, tr = self.translate(adql, uploads=infos)
        cheap = template.pruned and not uploads
        if not self.slots.acquire(cheap=cheap, timeout=cfg.queue_timeout_s):
            raise SpecIRServiceError(
                "the service is busy: every query slot stayed taken for "
                f"{cfg.queue_timeout_s:g} s; retry later, or constrain the query to a region"
            )
        try:
            limit = cfg.timeout_s if timeout_s is None else min(float(timeout_s), cfg.timeout_s)
            if cheap:
                return self._run(tr, maxrec, limit, on_start, uploads)
            # expensive: on a low-priority thread, so that cheap queries keep the CPU
            job = self._low_priority.submit(self._run, tr, maxrec, limit, on_start, uploads)
            return job.result()
        finally:
            self.slots.release(cheap=cheap)

    def _run(self, tr, maxrec, limit, on_start, uploads):
        start = time.perf_counter()
        cur = self._db.cursor()
        for name, table in uploads.items():
            cur.register(f"tap_upload_{name}", table)
        stopped = threading.Event()

        def stop():
            stopped.set()
            cur.interrupt()

        if on_start is not None:
            on_start(stop)
        timer = threading.Timer(limit, stop)
        timer.start()
        try:
            reader = cur.sql(tr.sql).to_arrow_reader(max(1, min(maxrec + 1, 100_000)))
            table = fetch_rows(reader, maxrec, stopped, limit)
        except duckdb.InterruptException:
            raise _stopped_error(limit) from None
        except duckdb.Error as exc:
            raise engine_error(exc) from None
        finally:
            timer.cancel()
            cur.close()
        overflow = table.num_rows > maxrec
        if overflow:
            table = table.slice(0, maxrec)
        elapsed = time.perf_counter() - start
        log.debug("query %.3f s, %d rows: %s", elapsed, table.num_rows, tr.sql)
        return QueryResult(table, overflow, self._column_meta(table, tr), tr.sql, elapsed)

    def _column_meta(self, table, tr):
        out = []
        used = [self.tables[n] for n in tr.tables if n in self.tables]
        for name in table.column_names:
            meta = {"name": name, "unit": "", "ucd": "", "description": ""}
            computed = tr.computed.get(name.lower())
            if computed is not None:
                meta.update(zip(("unit", "ucd", "description"), computed, strict=True))
                out.append(meta)
                continue
            origin = tr.origins.get(name.lower())
            col = None
            if origin is not None and origin[0] in self.tables:
                col = self.tables[origin[0]].column(origin[1])
            if col is None:
                for t in used:
                    col = t.column(name)
                    if col is not None:
                        break
            if col is not None:
                meta.update(unit=col.unit, ucd=col.ucd, description=col.description)
            out.append(meta)
        return out

    def close(self):
        self._low_priority.shutdown(wait=False, cancel_futures=True)
        if self._parser is not None:
            self._parser.close()
        self._db.close()


def _stopped_error(limit):
    return SpecIRServiceError(
        f"the query ran longer than the {limit:g} s limit (or was aborted) and was "
        "stopped: add constraints (a cone, TOP) or use fewer joins"
    )


def fetch_rows(reader, maxrec, stopped, limit):
    """Up to ``maxrec`` + 1 rows of a duckdb Arrow ``reader``, as a table.

    A query stopped (``stopped`` set: the ``limit`` s timer, or an abort) while its rows stream
    reaches pyarrow's reader, which reports duckdb's interrupt as an ``OSError``; both that and
    duckdb's own ``InterruptException`` become the same :class:`SpecIRServiceError`.
    """
    batches, n = [], 0
    try:
        for batch in reader:
            batches.append(batch)
            n += batch.num_rows
            if n > maxrec:
                break
    except duckdb.InterruptException:
        raise _stopped_error(limit) from None
    except OSError:
        if not stopped.is_set():
            raise
        raise _stopped_error(limit) from None
    return pa.Table.from_batches(batches, schema=reader.schema)
