"""UWS 1.1 over HTTP (specir.tap.async_routes): lifecycle, owners, quotas, hostile parameters."""

import time
import urllib.request

import pytest

Q = {"LANG": "ADQL", "QUERY": "SELECT TOP 2 id FROM vac"}
RUNAWAY = "SELECT COUNT(*) FROM vac AS a, vac AS b, vac AS c, vac AS d"


def _phase(client, job):
    return client.http(job + "/phase")[2].decode()


def _until(client, job, phases, seconds=30):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if _phase(client, job) in phases:
            return _phase(client, job)
        time.sleep(0.1)
    return _phase(client, job)


def test_uws_job_lifecycle(client):
    base = client.url + "/async"
    status, headers, _ = client.http(base, Q)
    assert status == 303
    job = headers["location"]
    assert job.startswith(client.url) and len(job.rsplit("/", 1)[1]) >= 22  # 128-bit id
    assert _phase(client, job) == "PENDING"
    assert client.http(job + "/executionduration", {"EXECUTIONDURATION": "2"})[0] == 303
    assert client.http(job + "/executionduration")[2] == b"2"
    assert client.http(job + "/destruction", {"DESTRUCTION": "2099-01-01T00:00:00Z"})[0] == 303
    assert client.http(job + "/quote")[0] == 200
    assert client.http(job + "/phase", {"PHASE": "RUN"})[0] == 303
    client.http(job + "?WAIT=30")
    assert _until(client, job, ("COMPLETED",)) == "COMPLETED"
    assert len(client.table(client.http(job + "/results/result")[2])) == 2
    assert b"results/result" in client.http(job + "/results")[2]
    status, headers, _ = client.http(job, method="DELETE")
    assert status == 303 and headers["location"] == base
    assert client.http(job)[0] == 404


def test_uws_error_and_abort(client):
    base = client.url + "/async"
    _, headers, _ = client.http(base, {**Q, "QUERY": "SELECT nosuch FROM vac", "PHASE": "RUN"})
    job = headers["location"]
    assert _until(client, job, ("ERROR",)) == "ERROR"
    value, message = client.status(client.http(job + "/error")[2])
    assert value == "ERROR" and "nosuch" in message and "Binder" not in message
    _, headers, _ = client.http(base, {**Q, "QUERY": RUNAWAY, "PHASE": "RUN"})
    job = headers["location"]
    assert _until(client, job, ("EXECUTING",), 10) == "EXECUTING"
    assert client.http(job + "/phase", {"PHASE": "ABORT"})[0] == 303
    assert _phase(client, job) == "ABORTED"
    client.http(job, {"ACTION": "DELETE"})
    assert client.http(job)[0] == 404


@pytest.mark.parametrize("wait", ["nan", "inf", "1e400", "abc", "²"])
def test_wait_that_is_not_an_integer_is_refused_at_once(client, wait):
    _, headers, _ = client.http(client.url + "/async", Q)
    start = time.perf_counter()
    status, _, body = client.http(headers["location"] + "?WAIT=" + urllib.request.quote(wait))
    assert status == 400 and "WAIT" in client.status(body)[1]
    assert time.perf_counter() - start < 2
    client.http(headers["location"], method="DELETE")


def test_wait_blocks_until_the_phase_changes(client):
    _, headers, _ = client.http(client.url + "/async", {**Q, "QUERY": RUNAWAY})
    job = headers["location"]
    start = time.perf_counter()
    assert b"<uws:phase>PENDING" in client.http(job + "?WAIT=1")[2]
    assert time.perf_counter() - start >= 0.9  # a pending job blocks for the whole WAIT
    client.http(job + "/executionduration", {"EXECUTIONDURATION": "1"})
    client.http(job + "/phase", {"PHASE": "RUN"})
    start, phases = time.perf_counter(), []
    while time.perf_counter() - start < 20 and "ERROR" not in phases:
        body = client.http(job + "?WAIT=20")[2].decode()
        phases.append(body.split("<uws:phase>")[1].split("<")[0])
    assert phases[-1] == "ERROR"  # stopped at its 1 s duration, seen without polling
    assert len(phases) <= 3
    client.http(job, method="DELETE")


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/executionduration", {"EXECUTIONDURATION": "inf"}),
        ("/executionduration", {"EXECUTIONDURATION": "1e400"}),
        ("/executionduration", {"EXECUTIONDURATION": "nan"}),
        ("/destruction", {"DESTRUCTION": "tomorrow"}),
        ("/phase", {"PHASE": "DANCE"}),
    ],
)
def test_bad_job_parameters_are_votable_errors(client, path, data):
    _, headers, _ = client.http(client.url + "/async", Q)
    status, _, body = client.http(headers["location"] + path, data)
    assert status == 400 and client.status(body)[0] == "ERROR"
    client.http(headers["location"], method="DELETE")


@pytest.mark.parametrize("last", ["²", "0", "-3", "x"])
def test_bad_last_is_refused(client, last):
    status, _, body = client.http(client.url + "/async?LAST=" + urllib.request.quote(last))
    assert status == 400 and "LAST" in client.status(body)[1]


def test_a_client_sees_and_deletes_only_its_own_jobs(client):
    alice, bob = "a" * 32, "b" * 32
    req = {"Cookie": f"specir_owner={alice}"}
    _, headers, _ = client.http(client.url + "/async", Q, headers=req)
    job = headers["location"]
    listed = client.http(client.url + "/async", headers=req)[2]
    assert job.rsplit("/", 1)[1].encode() in listed
    other = {"Cookie": f"specir_owner={bob}"}
    assert (
        job.rsplit("/", 1)[1].encode() not in client.http(client.url + "/async", headers=other)[2]
    )
    assert job.rsplit("/", 1)[1].encode() not in client.http(client.url + "/async")[2]
    assert client.http(job, method="DELETE", headers=other)[0] == 403
    assert client.http(job, headers=req)[0] == 200
    assert client.http(job, method="DELETE", headers=req)[0] == 303


def test_new_clients_get_an_owner_cookie(client):
    status, headers, _ = client.http(client.url + "/async", Q)
    assert status == 303 and "specir_owner=" in headers.get("set-cookie", "")
    client.http(headers["location"], method="DELETE")


def test_per_client_quota_does_not_lock_out_others(client, server):
    quota = server.service.jobs.limits.max_jobs_per_client
    flood = {"Cookie": "specir_owner=" + "f" * 32}
    created = []
    for _ in range(quota + 5):
        status, headers, body = client.http(client.url + "/async", Q, headers=flood)
        if status != 303:
            break
        created.append(headers["location"])
    assert status == 400 and "most one client" in client.status(body)[1]
    # the flood came from this address too, so a fresh cookie here is refused as well ...
    assert (
        client.http(client.url + "/async", Q, headers={"Cookie": "specir_owner=" + "g" * 32})[0]
        == 400
    )
    for job in created:
        client.http(job, method="DELETE", headers=flood)
    # ... and once the flood's jobs are gone, async works again for everyone
    status, headers, _ = client.http(client.url + "/async", Q)
    assert status == 303
    client.http(headers["location"], method="DELETE")


def test_a_connection_reused_after_a_long_wait_is_answered(client, server):
    """A WAIT longer than the server's read timeout (2 s here) ends with Connection: close, so
    the client's next request goes out on a fresh connection and is answered at once; before,
    Hypercorn had stopped reading the kept-alive connection and dropped that request
    unanswered after its keep-alive timeout (pyvo: RemoteDisconnected)."""
    import http.client
    import urllib.parse

    _, headers, _ = client.http(client.url + "/async", {**Q, "QUERY": RUNAWAY})
    path = urllib.parse.urlsplit(headers["location"]).path
    conn = http.client.HTTPConnection(*server.server_address, timeout=30)
    conn.request("GET", path + "/phase")
    quick = conn.getresponse()
    assert quick.read() == b"PENDING" and quick.getheader("connection") != "close"
    conn.request("GET", path + "?WAIT=3")  # the same kept-alive connection
    slow = conn.getresponse()
    assert b"PENDING" in slow.read()
    start = time.perf_counter()
    conn.request("GET", path + "/phase")  # reused, or a fresh one after Connection: close
    again = conn.getresponse()  # a deaf socket: RemoteDisconnected after the keep-alive
    assert again.status == 200 and again.read() == b"PENDING"
    assert time.perf_counter() - start < 1.5
    assert slow.getheader("connection") == "close"
    conn.close()
    client.http(client.url + "/async" + path.rsplit("/async", 1)[1], method="DELETE")
