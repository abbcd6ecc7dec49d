"""The HTTP application (specir.tap.app, web): sync queries, VOSI, examples, cone search and
the hostile requests of issue 16, over real loopback sockets."""

import socket
import threading
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest


def _raw(server, payload, *, wait=10.0):
    """Send raw bytes and return what the server answers before closing (or ``wait`` s)."""
    host, port = server.server_address
    with socket.create_connection((host, port), timeout=wait) as sock:
        sock.sendall(payload)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            return b"".join(chunks), False
    return b"".join(chunks), True


def test_sync_votable_carries_units_ucds_and_descriptions(client):
    status, headers, body = client.sync("SELECT TOP 3 id, ra, w1_flux, log_lagn FROM vac")
    assert status == 200 and "votable" in headers["content-type"]
    import io

    from astropy.io.votable import parse

    table = parse(io.BytesIO(body)).get_first_table()
    fields = {f.name: f for f in table.fields}
    assert str(fields["w1_flux"].unit) == "mJy"
    assert fields["w1_flux"].ucd == "phot.flux.density;em.IR.3-4um"
    assert "W1" in fields["w1_flux"].description
    assert fields["ra"].ucd.startswith("pos.eq.ra")
    assert len(table.array) == 3


def test_tabledata_csv_and_maxrec_overflow(client, truth):
    q = "SELECT id FROM specir.vac ORDER BY id"
    status, _, body = client.sync(q, MAXREC=4, RESPONSEFORMAT="votable/td")
    assert status == 200 and b"<TABLEDATA>" in body and b'value="OVERFLOW"' in body
    assert list(client.table(body)["id"]) == sorted(truth.id)[:4]
    status, headers, body = client.sync(q, MAXREC=3, FORMAT="csv")
    assert headers["content-type"].startswith("text/csv")
    assert body.decode().split() == ['"id"'] + [str(i) for i in sorted(truth.id)[:3]]


def test_huge_top_is_capped_by_the_hard_limit(client, truth):
    status, _, body = client.sync("SELECT TOP 1000000000 id FROM vac", MAXREC=10**9)
    assert status == 200 and len(client.table(body)) == len(truth)
    assert b'value="OVERFLOW"' not in body


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"QUERY": "DROP TABLE specir.vac"}, "syntax"),
        ({"QUERY": "SELECT id FROM vac; DELETE FROM vac"}, "one ADQL statement"),
        ({"QUERY": "SELECT read_csv('/etc/passwd') FROM vac"}, "not available"),
        ({"QUERY": "SELECT * FROM nosuch"}, "does not exist"),
        ({"QUERY": "SELECT nosuch FROM vac"}, "column 'nosuch' does not exist"),
        ({"QUERY": "SELECT id FROM vac", "MAXREC": "²"}, "MAXREC"),
        ({"QUERY": "SELECT id FROM vac", "MAXREC": "-1"}, "MAXREC"),
        ({"QUERY": "SELECT id FROM vac", "LANG": "SQL"}, "LANG"),
        ({"QUERY": "SELECT id FROM vac", "RESPONSEFORMAT": "fits"}, "RESPONSEFORMAT"),
        ({"QUERY": "SELECT " + "(" * 10_000 + "1" + ")" * 10_000 + " FROM vac"}, "nested"),
        (
            {
                "QUERY": "SELECT id FROM vac WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), "
                "POLYGON('ICRS', 1, 2, 3, 4, 5))"
            },
            "POLYGON",
        ),
        ({"QUERY": "SELECT id FROM vac WHERE z < 0.0/0.0"}, "division"),
    ],
)
def test_errors_are_votables_a_person_can_act_on(client, params, words):
    status, _, body = client.http(client.url + "/sync", {"LANG": "ADQL", **params})
    assert status == 400
    value, message = client.status(body)
    assert value == "ERROR" and words in message
    assert "Error:" not in message and "Traceback" not in message


def test_runaway_join_times_out_and_cone_queries_keep_their_slot(client):
    out = []
    runaway = "SELECT COUNT(*) FROM vac AS a, vac AS b, vac AS c, vac AS d"
    threads = [threading.Thread(target=lambda: out.append(client.sync(runaway))) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    start = time.perf_counter()
    status, _, _ = client.sync(
        "SELECT COUNT(*) AS n FROM vac WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), "
        "CIRCLE('ICRS', 10, 10, 5))"
    )
    waited = time.perf_counter() - start
    assert status == 200 and waited < 2.5  # a reserved slot: no wait for the 3 s runaways
    for t in threads:
        t.join(60)
    assert all(s == 503 and "limit" in client.status(b)[1] for s, _, b in out)


def test_result_size_limit(client):
    status, _, body = client.sync(
        "SELECT * FROM vac AS a JOIN vac AS b ON a.id = b.id", MAXREC=5000
    )
    assert status == 400 and "MB limit" in client.status(body)[1]
    assert client.sync("SELECT TOP 1 id FROM vac")[0] == 200


def test_request_size_and_malformed_length_are_refused(server, client):
    reply, _ = _raw(
        server,
        b"POST /tap/sync HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\nLANG=ADQL&QUERY=",
    )
    assert reply.startswith(b"HTTP/1.1 413")
    for length in (b"abc", b"-1"):
        reply, closed = _raw(
            server, b"POST /tap/sync HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n"
        )
        assert reply.startswith(b"HTTP/1.1 400") and closed
    assert client.sync("SELECT TOP 1 id FROM vac")[0] == 200


def test_silent_and_short_body_connections_are_closed_by_the_server(server):
    start = time.perf_counter()
    reply, closed = _raw(server, b"", wait=15)
    assert closed and reply == b"" and time.perf_counter() - start < 10
    reply, closed = _raw(
        server,
        b"POST /tap/sync HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nLANG=ADQL",
        wait=15,
    )
    assert closed and time.perf_counter() - start < 20


def test_host_header_is_never_reflected(server):
    evil = b'evil.example"><script>x</script>'
    for path in (b"/tap/capabilities", b"/tap", b"/"):
        reply, _ = _raw(
            server,
            b"GET " + path + b" HTTP/1.1\r\nHost: " + evil + b"\r\nConnection: close\r\n\r\n",
        )
        assert b"evil.example" not in reply and b"<script>" not in reply
    form = b"LANG=ADQL&QUERY=SELECT+TOP+1+id+FROM+vac"
    head = b"POST /tap/async HTTP/1.1\r\nHost: " + evil + b"\r\nConnection: close\r\n"
    head += b"Content-Type: application/x-www-form-urlencoded\r\n"
    head += b"Content-Length: %d\r\n\r\n" % len(form)
    reply, _ = _raw(server, head + form)
    location = [h for h in reply.split(b"\r\n") if h.lower().startswith(b"location:")]
    assert location and server.url.encode() in location[0]


def test_vosi_documents_and_tap_schema(client, server, truth):
    status, _, body = client.http(client.url + "/availability")
    assert status == 200 and b"<avail:available>true" in body
    caps = client.http(client.url + "/capabilities")[2]
    assert b"ivo://ivoa.net/std/TAP" in caps and b"upload-inline" in caps
    retention = server.service.config.limits.retention_s
    assert f"<retentionPeriod><default>{retention}</default>".encode() in caps
    tables = ET.fromstring(client.http(client.url + "/tables")[2])
    schema = next(s for s in tables if s.findtext("name") == "specir")
    assert "HATS" in schema.findtext("description")
    vac = next(t for t in schema.iter("table") if t.findtext("name") == "specir.vac")
    assert vac.findtext("nrows") == str(len(truth))
    t = client.table(
        client.sync(
            "SELECT column_name, unit, ucd FROM TAP_SCHEMA.columns "
            "WHERE table_name = 'specir.vac' AND column_name = 'w3_mag_err'"
        )[2]
    )
    assert list(t["unit"]) == ["mag"] and t["ucd"][0].startswith("stat.error;phot.mag")
    # p_agn, in both VOSI tables and TAP_SCHEMA, with its UCD and description
    from specir.columns import COLUMNS

    p_agn = COLUMNS["p_agn"]
    col = next(c for c in vac.iter("column") if c.findtext("name") == "p_agn")
    assert (col.findtext("ucd"), col.findtext("description")) == (p_agn.ucd, p_agn.description)
    t = client.table(
        client.sync(
            "SELECT column_name, ucd, description FROM TAP_SCHEMA.columns "
            "WHERE table_name = 'specir.vac' ORDER BY column_index"
        )[2]
    )
    names = list(t["column_name"])
    assert names.index("p_agn") + 1 == names.index("log_lagn")
    row = t[names.index("p_agn")]
    assert (row["ucd"], row["description"]) == (p_agn.ucd, p_agn.description)


def test_availability_says_false_while_every_slot_is_taken(client, server):
    slots = server.engine.slots
    taken = sum(slots.acquire(cheap=False, timeout=0) for _ in range(slots.total))
    try:
        assert b"<avail:available>false" in client.http(client.url + "/availability")[2]
    finally:
        for _ in range(taken):
            slots.release(cheap=False)
    assert b"<avail:available>true" in client.http(client.url + "/availability")[2]


def test_examples_document_queries_run(client):
    status, headers, body = client.http(client.url + "/examples")
    assert status == 200 and "xhtml" in headers["content-type"]
    root = ET.fromstring(body)
    ns = "{http://www.w3.org/1999/xhtml}"
    queries = [p.text for p in root.iter(ns + "pre") if p.get("property") == "query"]
    assert len(queries) >= 3
    for q in queries:
        if "TAP_UPLOAD" not in q:
            assert client.sync(q)[0] == 200, q


def test_simple_cone_search_matches_adql_and_refuses_bad_input(client, truth, sep):
    status, _, body = client.http(client.url + "/scs?RA=200&DEC=-30&SR=7")
    assert status == 200
    ids = np.sort(np.asarray(client.table(body)["id"]))
    s = sep(truth.ra.to_numpy(), truth.dec.to_numpy(), 200.0, -30.0)
    np.testing.assert_array_equal(ids, np.sort(truth.id.to_numpy()[s <= 7]))
    for query in ("RA=nan&DEC=0&SR=1", "RA=1&DEC=95&SR=1", "RA=1&DEC=0&SR=1&MAXREC=abc"):
        status, _, body = client.http(client.url + "/scs?" + query)
        root = ET.fromstring(body)
        info = next(el for el in root.iter() if el.tag.endswith("INFO"))
        assert status == 200 and info.get("name") == "Error", query
        assert "Binder" not in info.get("value")
