"""The query engine: DuckDB over the HATS catalogs' Parquet files, read-only and bounded.

Each published catalog is a DuckDB view over its ``dataset/**/*.parquet`` files. A query whose
WHERE clause confines a table's rows to a constant circle or polygon reads only the HEALPix
partitions that overlap it (``hats`` computes them). The database is locked down after the
views are made: file access is limited to the catalog directories, extensions cannot be
loaded, and the configuration is locked; the ADQL translator adds its own whitelist on top.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from specir.errors import SpecIRInputError
from specir.tap.adql import MACROS, ADQLError, TableInfo, translate
from specir.tap.schema import load_catalog, parse_catalog_spec, tap_schema_tables

__all__ = ["Engine", "EngineConfig", "QueryError", "QueryResult"]

log = logging.getLogger(__name__)


class QueryError(Exception):
    """A query that failed; the message is meant for the person who sent it."""


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
    queue_timeout_s : float
        How long a query waits for a slot before it is refused.
    memory_limit : str
        DuckDB ``memory_limit``.
    threads : int
        DuckDB worker threads.
    """

    timeout_s: float = 60.0
    default_maxrec: int = 10_000
    max_maxrec: int = 1_000_000
    max_concurrent: int = 4
    queue_timeout_s: float = 120.0
    memory_limit: str = "2GB"
    threads: int = 2

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
        self._slots = threading.BoundedSemaphore(self.config.max_concurrent)
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
            info = TableInfo(t.name, t.sql, t.ra_column, t.dec_column)
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
    def translate(self, adql):
        """DuckDB SQL for an ADQL query (raises :class:`QueryError`)."""
        try:
            return translate(adql, self.translator_tables, source=self._source)
        except ADQLError as exc:
            raise QueryError(str(exc)) from None
        except RecursionError:
            raise QueryError("the query is nested too deeply: simplify it") from None

    def query(self, adql, *, maxrec=None, timeout_s=None, on_start=None):
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

        Returns
        -------
        QueryResult
        """
        cfg = self.config
        maxrec = cfg.default_maxrec if maxrec is None else min(int(maxrec), cfg.max_maxrec)
        if maxrec < 0:
            raise QueryError("MAXREC must be a non-negative integer")
        tr = self.translate(adql)
        if not self._slots.acquire(timeout=cfg.queue_timeout_s):
            raise QueryError("the service is busy: too many queries are running; retry later")
        try:
            limit = cfg.timeout_s if timeout_s is None else min(float(timeout_s), cfg.timeout_s)
            return self._run(tr, maxrec, limit, on_start)
        finally:
            self._slots.release()

    def _run(self, tr, maxrec, limit, on_start):
        start = time.perf_counter()
        cur = self._db.cursor()
        if on_start is not None:
            on_start(cur.interrupt)
        timer = threading.Timer(limit, cur.interrupt)
        timer.start()
        try:
            reader = cur.sql(tr.sql).to_arrow_reader(max(1, min(maxrec + 1, 100_000)))
            batches, n = [], 0
            for batch in reader:
                batches.append(batch)
                n += batch.num_rows
                if n > maxrec:
                    break
            table = pa.Table.from_batches(batches, schema=reader.schema)
        except duckdb.InterruptException:
            raise QueryError(
                f"the query ran longer than the {limit:g} s limit (or was aborted) and was "
                "stopped: add constraints (a cone, TOP) or use fewer joins"
            ) from None
        except duckdb.Error as exc:
            raise QueryError(_clean(str(exc))) from None
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
        used = [self.tables[n] for n in tr.tables]
        for name in table.column_names:
            origin = tr.origins.get(name.lower())
            col = None
            if origin is not None and origin[0] in self.tables:
                col = self.tables[origin[0]].column(origin[1])
            if col is None:
                for t in used:
                    col = t.column(name)
                    if col is not None:
                        break
            meta = {"name": name, "unit": "", "ucd": "", "description": ""}
            if col is not None:
                meta.update(unit=col.unit, ucd=col.ucd, description=col.description)
            out.append(meta)
        return out

    def table_names(self):
        """Published table names, TAP_SCHEMA included."""
        return list(self.tables)

    def close(self):
        self._db.close()


def _clean(message):
    """An engine error message without engine internals (file paths, stack frames)."""
    first = message.strip().splitlines()[0] if message.strip() else "query failed"
    for t in ("/", "\\"):
        if t in first and "read_parquet" in first:
            return "the query failed in the engine: check column names and types"
    return f"query failed: {first}"


def is_catalog(path):
    """True when ``path`` is a HATS catalog or collection directory."""
    p = Path(path)
    return (p / "hats.properties").exists() or (p / "collection.properties").exists()
