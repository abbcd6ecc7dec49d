"""The query engine (specir.tap.engine) against direct computations on the Parquet files."""

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pytest

from specir.errors import SpecIRQueryError, SpecIRServiceError
from specir.tap.engine import Engine, EngineConfig


@pytest.fixture(scope="module")
def engine(server):
    return server.engine


def test_cone_search_matches_direct_computation_and_reads_fewer_files(engine, truth, sep):
    ra0, dec0, r = 150.0, 20.0, 10.0
    res = engine.query(
        "SELECT id, DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 150, 20)) AS d "
        f"FROM specir.vac WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {ra0}, "
        f"{dec0}, {r})) ORDER BY id",
        maxrec=5000,
    )
    s = sep(truth.ra.to_numpy(), truth.dec.to_numpy(), ra0, dec0)
    expected = np.sort(truth.id.to_numpy()[s <= r])
    assert len(expected) > 5
    np.testing.assert_array_equal(res.table.column("id").to_numpy(), expected)
    order = np.argsort(truth.id.to_numpy()[s <= r])
    np.testing.assert_allclose(res.table.column("d").to_numpy(), s[s <= r][order], atol=1e-9)
    assert res.columns[1]["unit"] == "deg" and res.columns[1]["ucd"] == "pos.angDistance"
    # HEALPix pruning: the SQL reads a file list, shorter than the catalog's
    assert "read_parquet([" in res.sql
    n_files = len(list((engine.tables["specir.vac"].root / "dataset").rglob("*.parquet")))
    assert 0 < res.sql.count(".parquet'") < n_files


def test_aggregates_group_by_match_pandas(engine, truth):
    res = engine.query(
        "SELECT flags, COUNT(*) AS n, AVG(w1_flux) AS m, MAX(z) AS zmax FROM specir.vac "
        "WHERE z BETWEEN 0.1 AND 0.3 GROUP BY flags ORDER BY flags",
        maxrec=5000,
    )
    sub = truth[(truth.z >= 0.1) & (truth.z <= 0.3)]
    ref = sub.groupby("flags").agg(n=("id", "size"), m=("w1_flux", "mean"), zmax=("z", "max"))
    df = res.table.to_pandas()
    np.testing.assert_array_equal(df["flags"], ref.index)
    np.testing.assert_array_equal(df.n, ref.n)
    np.testing.assert_allclose(df.m, ref.m, rtol=1e-6)
    np.testing.assert_allclose(df.zmax, ref.zmax)


def test_top_order_in_and_self_join_match_pandas(engine, truth):
    res = engine.query(
        "SELECT TOP 7 a.id, b.q_pah FROM specir.vac AS a JOIN specir.vac AS b ON a.id = b.id "
        "WHERE a.flags IN (0, 3) AND a.log_lagn IS NOT NULL ORDER BY a.w2_w3 DESC",
        maxrec=100,
    )
    sub = truth[truth["flags"].isin([0, 3]) & truth.log_lagn.notna()]
    ref = sub.sort_values("w2_w3", ascending=False).head(7)
    np.testing.assert_array_equal(res.table.column("id").to_numpy(), ref.id.to_numpy())
    np.testing.assert_allclose(res.table.column("q_pah").to_numpy(), ref.q_pah.to_numpy())


def test_join_between_two_published_catalogs(engine, truth, other_dir):
    other = pads.dataset(other_dir / "dataset", format="parquet").to_table().to_pandas()
    res = engine.query(
        "SELECT v.id, v.z, o.z AS z_other FROM specir.vac AS v JOIN specir.other AS o "
        "ON v.id = o.id WHERE o.q_pah > 2 ORDER BY v.id",
        maxrec=5000,
    )
    ref = truth.merge(other[other.q_pah > 2], on="id", suffixes=("", "_other")).sort_values("id")
    assert len(ref) > 50
    np.testing.assert_array_equal(res.table.column("id").to_numpy(), ref.id.to_numpy())
    np.testing.assert_allclose(res.table.column("z_other").to_numpy(), ref.z_other.to_numpy())


def test_polygon_has_great_circle_edges(engine, truth):
    verts = [(30.0, -10.0), (60.0, -10.0), (45.0, 25.0)]
    poly = ", ".join(f"{a}, {d}" for a, d in verts)
    res = engine.query(
        "SELECT id FROM specir.vac WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), "
        f"POLYGON('ICRS', {poly})) ORDER BY id",
        maxrec=5000,
    )

    def unit(ra, dec):
        ra, dec = np.radians(ra), np.radians(dec)
        return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], -1)

    v = unit(*np.array(verts).T)
    p = unit(truth.ra.to_numpy(), truth.dec.to_numpy())
    inside = np.ones(len(p), bool)
    for i in range(3):
        inside &= p @ np.cross(v[i], v[(i + 1) % 3]) >= 0  # counter-clockwise: interior left
    expected = np.sort(truth.id.to_numpy()[inside])
    assert len(expected) > 5
    np.testing.assert_array_equal(res.table.column("id").to_numpy(), expected)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("SELECT id FROM specir.vac WHERE z < 0.0/0.0", "division"),
        ("SELECT MOD(id, 0) FROM specir.vac", "division"),
        ("SELECT nosuch FROM specir.vac", "column 'nosuch' does not exist"),
        ("SELECT id FROM specir.vac AS a, specir.other AS b", "more than one table"),
        ("SELECT LOG(z - 1) FROM specir.vac", "LOG or LOG10"),
        ("SELECT id FROM specir.vac WHERE id = 'x'", "converted"),
    ],
)
def test_engine_refusals_are_phrased_in_adql_terms(engine, query, words):
    with pytest.raises(SpecIRQueryError, match=words) as info:
        engine.query(query)
    text = str(info.value)
    for engine_word in ("Binder Error", "SET ", "TRY(", "DuckDB", "duckdb"):
        assert engine_word not in text


def test_nulls_follow_sql_three_valued_logic(engine, truth):
    n_null = int(truth.log_lagn.isna().sum())
    assert 0 < n_null < len(truth)
    res = engine.query("SELECT COUNT(*) AS n FROM specir.vac WHERE log_lagn < 1000")
    assert res.table.column("n")[0].as_py() == len(truth) - n_null


def test_upload_tables_join_for_one_query_only(engine, truth):
    mine = pa.table({"id": pa.array([5, 7, 11], pa.int64()), "w": pa.array([1.0, 2.0, 3.0])})
    res = engine.query(
        "SELECT v.id, v.z, m.w FROM TAP_UPLOAD.mine AS m JOIN specir.vac AS v ON v.id = m.id "
        "ORDER BY v.id",
        uploads={"mine": mine},
    )
    ref = truth.set_index("id").loc[[5, 7, 11]]
    np.testing.assert_allclose(res.table.column("z").to_numpy(), ref.z.to_numpy())
    with pytest.raises(SpecIRQueryError, match="does not exist"):
        engine.query("SELECT * FROM TAP_UPLOAD.mine")


def test_runaway_join_times_out_as_a_service_error(engine):
    with pytest.raises(SpecIRServiceError, match="limit"):
        engine.query("SELECT COUNT(*) FROM vac AS a, vac AS b, vac AS c, vac AS d")


def test_a_query_stopped_while_its_rows_stream_is_a_service_error():
    # once rows stream, duckdb's interrupt reaches pyarrow's batch reader, which raises it as
    # an OSError: before fetch_rows mapped it, the TAP service answered 500 "internal error"
    import threading

    import duckdb

    from specir.tap.engine import fetch_rows

    cur = duckdb.connect().cursor()
    cur.execute("CREATE TABLE t AS SELECT range AS id, range / 3000.0 AS z FROM range(3000)")
    sql = "SELECT a.id FROM t a, t b, t c WHERE a.z + b.z + c.z < 0.05"
    reader = cur.sql(sql).to_arrow_reader(100)
    assert reader.read_next_batch().num_rows > 0  # streaming
    stopped = threading.Event()
    stopped.set()
    cur.interrupt()
    with pytest.raises(SpecIRServiceError, match="longer than the 2 s limit"):
        fetch_rows(reader, 10**6, stopped, 2.0)
    # an I/O error that no stop caused is not disguised as a timeout
    reader = cur.sql(sql).to_arrow_reader(100)
    reader.read_next_batch()
    cur.interrupt()
    with pytest.raises(OSError, match="INTERRUPT"):
        fetch_rows(reader, 10**6, threading.Event(), 2.0)


def test_catalog_published_under_a_chosen_schema_and_table(catalog_dir, truth):
    engine = Engine(
        [f"sdss_dr17.specobj={catalog_dir}", catalog_dir], config=EngineConfig(parse_workers=0)
    )
    try:
        assert {"sdss_dr17.specobj", "specir.vac"} <= set(engine.tables)
        res = engine.query("SELECT COUNT(*) AS n FROM sdss_dr17.specobj")
        assert res.table.column("n")[0].as_py() == len(truth)
        assert engine.tables["sdss_dr17.specobj"].nrows == len(truth)
    finally:
        engine.close()


def test_engine_config_and_catalogs_are_validated():
    from specir.errors import SpecIRInputError

    with pytest.raises(SpecIRInputError, match="timeout_s"):
        EngineConfig(timeout_s=0)
    with pytest.raises(SpecIRInputError, match="CATALOG"):
        Engine(["/nonexistent/catalog"], config=EngineConfig(parse_workers=0))
    with pytest.raises(SpecIRInputError, match="TAP_SCHEMA"):
        Engine(["tap_schema.x=/tmp"], config=EngineConfig(parse_workers=0))


def test_ilike_and_offset(engine, truth):
    res = engine.query(
        "SELECT table_name FROM TAP_SCHEMA.tables WHERE table_name ILIKE 'SPECIR.%' "
        "ORDER BY table_name"
    )
    assert list(res.table.column("table_name").to_pylist()) == ["specir.other", "specir.vac"]
    res = engine.query("SELECT id FROM specir.vac ORDER BY id OFFSET 2", maxrec=3)
    assert res.table.column("id").to_pylist() == sorted(truth.id)[2:5]
