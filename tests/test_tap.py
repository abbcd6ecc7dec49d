"""The TAP service over a real HATS catalog, through real sockets, pyvo and STILTS."""

import io
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import numpy as np
import pyarrow.dataset as pads
import pytest

from specir.tap.adql import ADQLError, TableInfo, translate
from specir.tap.engine import Engine, EngineConfig, QueryError
from specir.tap.server import ServerConfig, TAPServer
from specir.tap.testing import write_synthetic_catalog

pytestmark = pytest.mark.network
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


@pytest.fixture(scope="session")
def server(catalog_dir, other_dir):
    cfg = EngineConfig(timeout_s=3.0, default_maxrec=1000, max_maxrec=5000, max_concurrent=3)
    srv = TAPServer(Engine([catalog_dir, other_dir], config=cfg), ServerConfig(port=0))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    srv.engine.close()


def _http(url, data=None, method=None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method=method)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _sync(server, query, **extra):
    return _http(server.url + "/sync", {"LANG": "ADQL", "QUERY": query, **extra})


def _votable(body):
    from astropy.io.votable import parse

    return parse(io.BytesIO(body)).get_first_table().to_table()


def _status(body):
    root = ET.fromstring(body)
    for el in root.iter():
        if el.tag.endswith("INFO") and el.get("name") == "QUERY_STATUS":
            return el.get("value"), (el.text or "").strip()
    return None, ""


def _sep(ra1, dec1, ra2, dec2):
    from astropy.coordinates import SkyCoord

    return SkyCoord(ra1, dec1, unit="deg").separation(SkyCoord(ra2, dec2, unit="deg")).deg


def _stilts():
    exe = shutil.which("stilts")
    if exe is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("stilts is not installed on CI: .ci/system-deps should have installed it")
        pytest.skip("stilts is not installed (Debian package 'stilts')")
    return exe


# -- translation safety ----------------------------------------------------------------------
TABLES = {"s.t": TableInfo("s.t", '"s"."t"', "ra", "dec")}


@pytest.mark.parametrize(
    "query",
    [
        "DROP TABLE s.t",
        "INSERT INTO s.t VALUES (1)",
        "SELECT ra FROM s.t; DROP TABLE s.t",
        "SELECT ra FROM s.t; SELECT dec FROM s.t",
        "SELECT read_csv('/etc/passwd') FROM s.t",
        "SELECT * FROM read_parquet('/etc/passwd')",
        "SELECT getenv('HOME') FROM s.t",
        "SELECT * FROM duckdb_settings()",
        "SELECT * FROM main.duckdb_settings",
        "SELECT current_setting('threads') FROM s.t",
        "COPY s.t TO '/tmp/x.csv'",
        "ATTACH '/tmp/x.db'",
    ],
)
def test_hostile_adql_is_refused_by_the_translator(query):
    with pytest.raises(ADQLError):
        translate(query, TABLES)


def test_translation_maps_top_and_geometry():
    tr = translate(
        "SELECT TOP 5 ra FROM s.t WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), "
        "CIRCLE('ICRS', 10, 20, 0.5)) ORDER BY ra",
        TABLES,
        source=lambda info, regions: f"PRUNED{len(regions)}",
    )
    assert tr.sql.endswith("LIMIT 5")
    assert "PRUNED1" in tr.sql and "adql_distance" in tr.sql
    with pytest.raises(ADQLError, match="convex"):
        translate(
            "SELECT ra FROM s.t WHERE 1=CONTAINS(POINT('ICRS', ra, dec), "
            "POLYGON('ICRS', 0, 0, 10, 0, 1, 1, 0, 10))",
            TABLES,
        )


# -- ADQL against a direct computation on the Parquet files ----------------------------------
def test_cone_search_matches_direct_computation_and_reads_fewer_files(server, truth):
    ra0, dec0, r = 150.0, 20.0, 10.0
    query = (
        "SELECT id, DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 150, 20)) AS d "
        f"FROM specir.vac WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {ra0}, "
        f"{dec0}, {r})) ORDER BY id"
    )
    res = server.engine.query(query, maxrec=5000)
    sep = _sep(truth.ra.to_numpy(), truth.dec.to_numpy(), ra0, dec0)
    expected = np.sort(truth.id.to_numpy()[sep <= r])
    assert len(expected) > 5
    got = res.table.column("id").to_numpy()
    np.testing.assert_array_equal(got, expected)
    order = np.argsort(truth.id.to_numpy()[sep <= r])
    np.testing.assert_allclose(res.table.column("d").to_numpy(), sep[sep <= r][order], atol=1e-9)
    # HEALPix pruning: the SQL reads a file list, shorter than the catalog's
    assert "read_parquet([" in res.sql
    table = server.engine.tables["specir.vac"]
    n_files = len(list((table.root / "dataset").rglob("*.parquet")))
    assert 0 < res.sql.count(".parquet'") < n_files


def test_aggregates_group_by_match_pandas(server, truth):
    res = server.engine.query(
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


def test_top_order_in_and_self_join_match_pandas(server, truth):
    res = server.engine.query(
        "SELECT TOP 7 a.id, b.q_pah FROM specir.vac AS a JOIN specir.vac AS b ON a.id = b.id "
        "WHERE a.flags IN (0, 3) AND a.log_lagn IS NOT NULL ORDER BY a.w2_w3 DESC",
        maxrec=100,
    )
    sub = truth[truth["flags"].isin([0, 3]) & truth.log_lagn.notna()]
    ref = sub.sort_values("w2_w3", ascending=False).head(7)
    np.testing.assert_array_equal(res.table.column("id").to_numpy(), ref.id.to_numpy())
    np.testing.assert_allclose(res.table.column("q_pah").to_numpy(), ref.q_pah.to_numpy())


def test_join_between_two_published_catalogs(server, truth, other_dir):
    other = pads.dataset(other_dir / "dataset", format="parquet").to_table().to_pandas()
    res = server.engine.query(
        "SELECT v.id, v.z, o.z AS z_other FROM specir.vac AS v JOIN specir.other AS o "
        "ON v.id = o.id WHERE o.q_pah > 2 ORDER BY v.id",
        maxrec=5000,
    )
    ref = truth.merge(other[other.q_pah > 2], on="id", suffixes=("", "_other")).sort_values("id")
    assert len(ref) > 50
    np.testing.assert_array_equal(res.table.column("id").to_numpy(), ref.id.to_numpy())
    np.testing.assert_allclose(res.table.column("z_other").to_numpy(), ref.z_other.to_numpy())


def test_box_and_polygon_have_great_circle_edges(server, truth):
    # a polygon with vertices on the equator and a pole-ward apex: independent numpy check
    verts = [(30.0, -10.0), (60.0, -10.0), (45.0, 25.0)]
    poly = ", ".join(f"{a}, {d}" for a, d in verts)
    res = server.engine.query(
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
        n = np.cross(v[i], v[(i + 1) % 3])  # counter-clockwise vertices: interior on the left
        inside &= p @ n >= 0
    expected = np.sort(truth.id.to_numpy()[inside])
    assert len(expected) > 5
    np.testing.assert_array_equal(res.table.column("id").to_numpy(), expected)


# -- HTTP: sync, formats, errors, limits ------------------------------------------------------
def test_sync_votable_carries_units_ucds_and_descriptions(server):
    status, headers, body = _sync(server, "SELECT TOP 3 id, ra, w1_flux, log_lagn FROM vac")
    assert status == 200 and "votable" in headers["Content-Type"]
    from astropy.io.votable import parse

    table = parse(io.BytesIO(body)).get_first_table()
    fields = {f.name: f for f in table.fields}
    assert str(fields["w1_flux"].unit) == "mJy"
    assert fields["w1_flux"].ucd == "phot.flux.density;em.IR.3-4um"
    assert "W1" in fields["w1_flux"].description
    assert fields["ra"].ucd.startswith("pos.eq.ra")
    assert len(table.array) == 3


def test_tabledata_csv_and_maxrec_overflow(server, truth):
    q = "SELECT id FROM specir.vac ORDER BY id"
    status, _, body = _sync(server, q, MAXREC=4, RESPONSEFORMAT="votable/td")
    assert status == 200 and b"<TABLEDATA>" in body
    assert b'value="OVERFLOW"' in body
    assert list(_votable(body)["id"]) == sorted(truth.id)[:4]
    status, headers, body = _sync(server, q, MAXREC=3, FORMAT="csv")
    assert headers["Content-Type"].startswith("text/csv")
    assert body.decode().split() == ['"id"'] + [str(i) for i in sorted(truth.id)[:3]]


def test_huge_top_is_capped_by_the_hard_limit(server):
    status, _, body = _sync(server, "SELECT TOP 1000000000 id FROM vac", MAXREC=10**9)
    assert status == 200
    assert len(_votable(body)) == N_ROWS < server.engine.config.max_maxrec
    assert b'value="OVERFLOW"' not in body  # 3000 rows < hard limit: no overflow


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("DROP TABLE specir.vac", "syntax"),
        ("SELECT id FROM vac; DELETE FROM vac", "one ADQL statement"),
        ("SELECT read_csv('/etc/passwd') FROM vac", "not available"),
        ("SELECT * FROM nosuch", "does not exist"),
        ("SELECT nosuch FROM vac", "nosuch"),
    ],
)
def test_errors_are_votables_a_person_can_act_on(server, query, words):
    status, _, body = _sync(server, query)
    assert status == 400
    value, message = _status(body)
    assert value == "ERROR" and words in message


def test_runaway_cross_join_times_out_and_service_keeps_answering(server):
    out = {}

    def runaway():
        out["r"] = _sync(server, "SELECT COUNT(*) FROM vac AS a, vac AS b, vac AS c, vac AS d")

    t = threading.Thread(target=runaway)
    t.start()
    time.sleep(0.3)
    status, _, body = _sync(server, "SELECT COUNT(*) AS n FROM vac")
    assert status == 200 and int(_votable(body)["n"][0]) == N_ROWS
    t.join(60)
    status, _, body = out["r"]
    assert status == 400 and "limit" in _status(body)[1]
    assert _sync(server, "SELECT TOP 1 id FROM vac")[0] == 200


def test_result_size_limit(server):
    small = TAPServer(server.engine, ServerConfig(port=0, max_result_bytes=2000))
    try:
        with pytest.raises(QueryError, match="MB limit"):
            small.run_query({"LANG": "ADQL", "QUERY": "SELECT * FROM vac", "MAXREC": "500"})
        body, _ = small.run_query({"LANG": "ADQL", "QUERY": "SELECT TOP 1 id FROM vac"})
        assert len(_votable(body)) == 1
    finally:
        small.server_close()


def test_request_size_limit(server):
    import socket

    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            b"POST /tap/sync HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\nLANG=ADQL&QUERY="
        )
        reply = sock.recv(200)
    assert reply.startswith(b"HTTP/1.1 413")
    assert _sync(server, "SELECT TOP 1 id FROM vac")[0] == 200


def test_vosi_and_tap_schema(server):
    status, _, body = _http(server.url + "/availability")
    assert status == 200 and b"<avail:available>true" in body
    assert b"ivo://ivoa.net/std/TAP" in _http(server.url + "/capabilities")[2]
    assert b"<name>specir.vac</name>" in _http(server.url + "/tables")[2]
    status, _, body = _sync(
        server,
        "SELECT column_name, unit, ucd FROM TAP_SCHEMA.columns "
        "WHERE table_name = 'specir.vac' AND column_name = 'w3_mag_err'",
    )
    t = _votable(body)
    assert list(t["unit"]) == ["mag"] and t["ucd"][0].startswith("stat.error;phot.mag")


def test_simple_cone_search_matches_adql(server, truth):
    status, _, body = _http(server.url + "/scs?RA=200&DEC=-30&SR=7")
    assert status == 200
    ids = np.sort(np.asarray(_votable(body)["id"]))
    sep = _sep(truth.ra.to_numpy(), truth.dec.to_numpy(), 200.0, -30.0)
    np.testing.assert_array_equal(ids, np.sort(truth.id.to_numpy()[sep <= 7]))


# -- UWS --------------------------------------------------------------------------------------
def _phase(server, url):
    return _http(url + "/phase")[2].decode()


def test_uws_job_lifecycle(server):
    base = server.url + "/async"
    status, headers, _ = _http(base, {"LANG": "ADQL", "QUERY": "SELECT TOP 2 id FROM vac"})
    assert status == 303
    job = headers["Location"]
    assert _phase(server, job) == "PENDING"
    assert _http(job + "/executionduration", {"EXECUTIONDURATION": "2"})[0] == 303
    assert _http(job + "/executionduration")[2] == b"2"
    assert _http(job + "/destruction", {"DESTRUCTION": "2099-01-01T00:00:00Z"})[0] == 303
    assert _http(job + "/quote")[0] == 200
    assert job.rsplit("/", 1)[1].encode() in _http(base)[2]
    assert _http(job + "/phase", {"PHASE": "RUN"})[0] == 303
    body = _http(job + "?WAIT=30")[2]
    assert b"<uws:phase>COMPLETED" in body or _phase(server, job) in ("QUEUED", "EXECUTING")
    for _ in range(100):
        if _phase(server, job) == "COMPLETED":
            break
        time.sleep(0.1)
    assert len(_votable(_http(job + "/results/result")[2])) == 2
    assert b"results/result" in _http(job + "/results")[2]
    status, headers, _ = _http(job, method="DELETE")
    assert status == 303 and headers["Location"].endswith("/async")
    assert _http(job)[0] == 404


def test_uws_error_and_abort(server):
    base = server.url + "/async"
    _, headers, _ = _http(base, {"LANG": "ADQL", "QUERY": "SELECT nosuch FROM vac", "PHASE": "RUN"})
    job = headers["Location"]
    _http(job + "?WAIT=20")
    for _ in range(100):
        if _phase(server, job) == "ERROR":
            break
        time.sleep(0.1)
    assert _status(_http(job + "/error")[2])[0] == "ERROR"
    q = "SELECT COUNT(*) FROM vac AS a, vac AS b, vac AS c, vac AS d"
    _, headers, _ = _http(base, {"LANG": "ADQL", "QUERY": q, "PHASE": "RUN"})
    job = headers["Location"]
    time.sleep(0.3)
    assert _http(job + "/phase", {"PHASE": "ABORT"})[0] == 303
    assert _phase(server, job) == "ABORTED"
    _http(job, {"ACTION": "DELETE"})
    assert _http(job)[0] == 404


# -- clients: pyvo, STILTS --------------------------------------------------------------------
def test_pyvo_sync_and_async(server, truth):
    import pyvo

    service = pyvo.dal.TAPService(server.url)
    q = "SELECT id, z FROM specir.vac WHERE z < 0.05 ORDER BY id"
    expected = np.sort(truth.id[truth.z < 0.05].to_numpy())
    sync = service.search(q).to_table()
    np.testing.assert_array_equal(sync["id"], expected)
    job_result = service.run_async(q).to_table()
    np.testing.assert_array_equal(job_result["id"], expected)
    assert "specir.vac" in [t.name for t in service.tables]
    with pytest.raises(pyvo.dal.DALQueryError, match="does not exist"):
        service.search("SELECT * FROM nowhere")


def test_stilts_tapquery(server, truth, tmp_path):
    stilts = _stilts()
    out = tmp_path / "out.csv"
    subprocess.run(
        [
            stilts,
            "tapquery",
            f"tapurl={server.url}",
            "adql=SELECT id FROM specir.vac WHERE flags > 64 ORDER BY id",
            "ofmt=csv",
            f"out={out}",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    got = [int(x) for x in out.read_text().split()[1:]]
    assert got == sorted(truth.id[truth["flags"] > 64])


def test_stilts_taplint_reports_no_errors(server):
    stilts = _stilts()
    proc = subprocess.run(
        [stilts, "taplint", f"tapurl={server.url}", "report=EW"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    totals = [line for line in proc.stdout.splitlines() if line.startswith("Totals")]
    assert totals and "Errors: 0;" in totals[0], proc.stdout[-3000:]


def test_cli_arguments_and_engine_config_validation():
    import argparse

    from specir.errors import SpecIRInputError
    from specir.scripts import serve as cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["cat1", "cat2", "--port", "0"])
    assert args.catalogs == ["cat1", "cat2"] and args.host == "127.0.0.1" and args.port == 0
    with pytest.raises(SpecIRInputError, match="timeout_s"):
        EngineConfig(timeout_s=0)
    with pytest.raises(SpecIRInputError, match="CATALOG"):
        Engine(["/nonexistent/catalog"])


def test_catalog_published_under_a_chosen_schema_and_table(catalog_dir):
    engine = Engine([f"sdss_dr17.specobj={catalog_dir}", catalog_dir])
    try:
        assert {"sdss_dr17.specobj", "specir.vac"} <= set(engine.tables)
        res = engine.query("SELECT COUNT(*) AS n FROM sdss_dr17.specobj")
        assert int(res.table.column("n")[0].as_py()) == N_ROWS
    finally:
        engine.close()
