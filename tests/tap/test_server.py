"""The running service (specir.tap.server) with real clients: pyvo, STILTS, the command line,
and a subprocess server killed with SIGKILL and restarted."""

import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest

from specir.tap.testing import ServerProcess


def test_pyvo_sync_async_and_tables(server, truth):
    import pyvo

    service = pyvo.dal.TAPService(server.url)
    q = "SELECT id, z FROM specir.vac WHERE z < 0.05 ORDER BY id"
    expected = np.sort(truth.id[truth.z < 0.05].to_numpy())
    np.testing.assert_array_equal(service.search(q).to_table()["id"], expected)
    np.testing.assert_array_equal(service.run_async(q).to_table()["id"], expected)
    assert "specir.vac" in [t.name for t in service.tables]
    with pytest.raises(pyvo.dal.DALQueryError, match="does not exist"):
        service.search("SELECT * FROM nowhere")


def test_pyvo_upload_join_matches_a_local_crossmatch(server, truth, sep):
    import pyvo
    from astropy.table import Table

    rng = np.random.default_rng(4)
    pick = truth.sample(40, random_state=1)
    mine = Table({"ra": pick.ra.to_numpy() + rng.normal(0, 1e-4, 40), "dec": pick.dec.to_numpy()})
    mine["n"] = np.arange(40)
    q = (
        "SELECT m.n, v.id FROM TAP_UPLOAD.mine AS m JOIN specir.vac AS v "
        "ON 1 = CONTAINS(POINT('ICRS', v.ra, v.dec), CIRCLE('ICRS', m.ra, m.dec, 0.01)) "
        "ORDER BY m.n, v.id"
    )
    service = pyvo.dal.TAPService(server.url)
    for got in (
        service.search(q, uploads={"mine": mine}).to_table(),
        service.run_async(q, uploads={"mine": mine}).to_table(),
    ):
        pairs = sorted(
            (n, i)
            for n, (ra, dec) in enumerate(zip(mine["ra"], mine["dec"], strict=True))
            for i in truth.id[sep(truth.ra.to_numpy(), truth.dec.to_numpy(), ra, dec) <= 0.01]
        )
        assert len(pairs) >= 40
        assert list(zip(got["n"], got["id"], strict=True)) == pairs


def test_stilts_tapquery(server, truth, tmp_path, stilts):
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


def test_stilts_taplint_reports_no_errors_or_warnings(server, stilts):
    proc = subprocess.run(
        [stilts, "taplint", f"tapurl={server.url}", "report=EW"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    totals = [line for line in proc.stdout.splitlines() if line.startswith("Totals")]
    assert totals and totals[0].split() == ["Totals:", "Errors:", "0;", "Warnings:", "0"], (
        proc.stdout[-4000:]
    )


def test_cli_arguments():
    import argparse

    from specir.scripts import serve as cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["cat1", "sdss_dr17.specobj=/x", "--port", "0", "--workers", "3"])
    assert args.catalogs == ["cat1", "sdss_dr17.specobj=/x"]
    assert args.host == "127.0.0.1" and args.port == 0 and args.workers == 3


def _fetch(url, data=None, cookie=None, method=None):
    body = urllib.parse.urlencode(data).encode() if data else None
    req = urllib.request.Request(url, data=body, method=method)
    if cookie:
        req.add_header("Cookie", cookie)
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.read()


@pytest.mark.slow
def test_jobs_survive_kill_9_and_restart(catalog_dir, tmp_path):
    job_dir = str(tmp_path / "jobs")
    args = ["--job-dir", job_dir, "--timeout", "20", "--parse-workers", "1"]
    cookie = "specir_owner=" + "k" * 32
    quick = {"LANG": "ADQL", "QUERY": "SELECT id, z FROM specir.vac WHERE z < 0.1 ORDER BY id"}
    slow = {"LANG": "ADQL", "QUERY": "SELECT COUNT(*) FROM vac AS a, vac AS b, vac AS c"}
    with ServerProcess([catalog_dir], *args, "--workers", "2") as first:
        done = _redirected(first.url + "/async", {**quick, "PHASE": "RUN"}, cookie)
        for _ in range(200):
            if _fetch(done + "/phase", cookie=cookie) == b"COMPLETED":
                break
            time.sleep(0.1)
        before = _fetch(done + "/results/result", cookie=cookie)
        running = _redirected(first.url + "/async", {**slow, "PHASE": "RUN"}, cookie)
        for _ in range(200):
            if _fetch(running + "/phase", cookie=cookie) == b"EXECUTING":
                break
            time.sleep(0.1)
        first.kill()
    with ServerProcess([catalog_dir], *args, "--workers", "1") as second:
        done = done.replace(first.url, second.url)
        running = running.replace(first.url, second.url)
        assert _fetch(done + "/phase", cookie=cookie) == b"COMPLETED"
        assert _fetch(done + "/results/result", cookie=cookie) == before
        phase = b""
        for _ in range(300):  # marked ERROR once its worker's heartbeat is stale
            phase = _fetch(running + "/phase", cookie=cookie)
            if phase == b"ERROR":
                break
            time.sleep(0.1)
        assert phase == b"ERROR"
        assert b"stopped" in _fetch(running + "/error", cookie=cookie)
        listed = _fetch(second.url + "/async", cookie=cookie)
        assert done.rsplit("/", 1)[1].encode() in listed


def _redirected(url, data, cookie):
    import urllib.parse

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    req = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode())
    req.add_header("Cookie", cookie)
    try:
        urllib.request.build_opener(NoRedirect).open(req, timeout=60)
    except urllib.error.HTTPError as exc:
        assert exc.code == 303
        return exc.headers["Location"]
    raise AssertionError("no redirect")


def test_stilts_upload_join_matches_a_local_crossmatch(server, truth, tmp_path, stilts, sep):
    """TOPCAT's upload join goes through the same STILTS TAP client code."""
    pick = truth.sample(25, random_state=5)
    mine = tmp_path / "mine.csv"
    mine.write_text(
        "n,ra,dec\n"
        + "".join(f"{n},{r},{d}\n" for n, (r, d) in enumerate(zip(pick.ra, pick.dec, strict=True)))
    )
    out = tmp_path / "out.csv"
    subprocess.run(
        [
            stilts,
            "tapquery",
            f"tapurl={server.url}",
            "adql=SELECT m.n, v.id FROM TAP_UPLOAD.mine AS m JOIN specir.vac AS v ON "
            "1 = CONTAINS(POINT('ICRS', v.ra, v.dec), CIRCLE('ICRS', m.ra, m.dec, 0.02))",
            "nupload=1",
            f"upload1={mine}",
            "ufmt1=csv",
            "upname1=mine",
            "ofmt=csv",
            f"out={out}",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    got = sorted(tuple(map(int, line.split(","))) for line in out.read_text().split()[1:])
    expected = sorted(
        (n, int(i))
        for n, (r, d) in enumerate(zip(pick.ra, pick.dec, strict=True))
        for i in truth.id[sep(truth.ra.to_numpy(), truth.dec.to_numpy(), r, d) <= 0.02]
    )
    assert len(expected) >= 25 and got == expected


@pytest.mark.slow
def test_a_killed_test_run_leaves_no_server_behind(catalog_dir):
    """ServerProcess's server stops when the process that started it is killed with SIGKILL."""
    import os
    import signal
    import sys

    code = (
        "import sys, time\n"
        "from specir.tap.testing import ServerProcess\n"
        f"s = ServerProcess([{str(catalog_dir)!r}], '--workers', '1')\n"
        "print(s.process.pid, s.url, flush=True)\n"
        "time.sleep(600)\n"
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as run:
        pid, url = run.stdout.readline().split()
        with urllib.request.urlopen(url + "/availability", timeout=30) as resp:
            assert resp.status == 200
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
    for _ in range(300):
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            break
        with open(f"/proc/{pid}/stat") as f:  # a zombie has exited too
            if f.read().split(") ")[-1].startswith("Z"):
                break
        time.sleep(0.1)
    else:
        pytest.fail(f"specir serve (pid {pid}) still runs after its starter was killed")
