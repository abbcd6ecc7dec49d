"""The HTTPS downloader against a real loopback server that injects faults."""

import time
from pathlib import Path

import pytest

from specir.fetch.download import RateLimiter, download_files
from specir.fetch.recipe import DownloadSettings
from specir.sdss import read_sdss

FAST = DownloadSettings(workers=3, rate_per_s=200, timeout_s=0.5, retries=2, backoff_s=0.01)


def _jobs(srv, tmp_path, paths):
    return [(srv.url + p, tmp_path / p.lstrip("/")) for p in paths]


def test_faults_end_as_retried_or_reported(sas_server, tmp_path):
    srv0 = sas_server()
    a, b, c, d, e = sorted(srv0.files)[:5]
    missing = a.replace("spec-", "spec-9").replace(".fits", "-x.fits")
    srv = sas_server(
        faults={a: ["500"], b: ["stall"], c: ["truncate"] * 5, d: ["503", "truncate"]},
        stall_s=1.5,
        replace={e: srv0.files[e][:200_000]},  # broken in the archive itself, honest length
    )
    jobs = _jobs(srv, tmp_path, [a, b, c, d, e, missing])
    results = download_files(jobs, FAST, progress=False)
    status = {Path(r.url).name: (r.status, r.attempts) for r in results}
    assert status[Path(a).name] == ("downloaded", 2)  # a 500, then success
    assert status[Path(b).name] == ("downloaded", 2)  # a time-out, then success
    assert status[Path(d).name] == ("downloaded", 3)  # a 503 and a truncated body, then success
    assert status[Path(c).name] == ("failed", 3)  # always truncated: reported after 3 attempts
    assert status[Path(e).name] == ("failed", 3)  # not a readable FITS file: reported
    assert status[Path(missing).name] == ("failed", 1)  # a 404 is final: no retry
    errors = {Path(r.url).name: r.error for r in results}
    assert "truncated" in errors[Path(c).name] and "404" in errors[Path(missing).name]
    assert "not a readable spectrum file" in errors[Path(e).name]
    assert srv.hits[missing] == 1 and srv.hits[c] == 3
    on_disk = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert sorted(p.name for p in on_disk) == sorted(Path(x).name for x in (a, b, d))  # no .part
    for p in on_disk:
        assert p.read_bytes() == srv.files["/" + str(p.relative_to(tmp_path))]
        read_sdss(p)


def test_second_run_keeps_finished_files(sas_server, tmp_path):
    srv = sas_server()
    paths = sorted(srv.files)[:3]
    first = download_files(_jobs(srv, tmp_path, paths), FAST, progress=False)
    assert {r.status for r in first} == {"downloaded"}
    (tmp_path / paths[0].lstrip("/")).with_suffix(".fits.part1-2").write_bytes(b"partial")
    again = download_files(_jobs(srv, tmp_path, paths), FAST, progress=False)
    assert {r.status for r in again} == {"present"} and all(n == 1 for n in srv.hits.values())


def test_rate_limit_spaces_request_starts():
    limiter = RateLimiter(50.0)
    t0 = time.monotonic()
    for _ in range(6):
        limiter.wait()
    # 50 per second: the sixth start comes no sooner than 5 intervals after the first
    assert time.monotonic() - t0 >= 5 * 0.02


def test_bad_settings_are_named():
    from specir.errors import SpecIRInputError

    with pytest.raises(SpecIRInputError, match="rate_per_s"):
        DownloadSettings(rate_per_s=0)
