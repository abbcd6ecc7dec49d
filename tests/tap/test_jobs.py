"""The persistent job table (specir.tap.jobs): survival across processes, recovery, retention,
quotas. A real SQLite file and real threads; the query is a stand-in callable."""

import time

import pytest

from specir.errors import SpecIRQueryError, SpecIRServiceError
from specir.tap import jobs as jobs_module
from specir.tap.jobs import JobLimits, JobManager


def _quick(job_id, params, timeout_s, on_start):
    return (f"result of {params['QUERY']}".encode(), "text/plain")


def _wait(manager, job_id, phases, seconds=10):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        job = manager.get(job_id)
        if job is not None and job.phase in phases:
            return job
        time.sleep(0.05)
    return manager.get(job_id)


def test_finished_jobs_survive_a_new_manager(tmp_path):
    first = JobManager(tmp_path, _quick)
    job = first.create({"QUERY": "q1"}, owner="o", client="c")
    first.run(job.job_id)
    assert _wait(first, job.job_id, ("COMPLETED",)).phase == "COMPLETED"
    first._stop.set()  # a crash: no clean close, the database is just left behind
    second = JobManager(tmp_path, _quick)
    try:
        again = second.get(job.job_id)
        assert again.phase == "COMPLETED" and again.owner == "o"
        assert second.result_path(job.job_id).read_bytes() == b"result of q1"
        assert [j.job_id for j in second.list("o")] == [job.job_id]
    finally:
        second.close()


def test_jobs_of_a_dead_worker_become_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs_module, "ORPHAN_S", 0.5)

    def hang(job_id, params, timeout_s, on_start):
        time.sleep(3)
        return b"late", "text/plain"

    first = JobManager(tmp_path, hang)
    job = first.create({"QUERY": "q"}, owner="o", client="c")
    first.run(job.job_id)
    assert _wait(first, job.job_id, ("EXECUTING",)).phase == "EXECUTING"
    first._stop.set()  # heartbeats stop, as after kill -9
    time.sleep(1.0)
    second = JobManager(tmp_path, _quick)
    try:
        lost = second.get(job.job_id)
        assert lost.phase == "ERROR" and "stopped" in lost.error
    finally:
        second.close()


def test_retention_destroys_jobs_and_their_results(tmp_path):
    limits = JobLimits(retention_s=3)
    manager = JobManager(tmp_path, _quick, limits=limits)
    try:
        job = manager.create({"QUERY": "q"}, owner="o", client="c")
        manager.run(job.job_id)
        assert _wait(manager, job.job_id, ("COMPLETED",)).phase == "COMPLETED"
        time.sleep(max(0.0, job.destruction - time.time()) + 0.1)
        manager.purge()
        assert manager.get(job.job_id) is None
        assert not manager.result_path(job.job_id).exists()
    finally:
        manager.close()


def test_quotas_per_client_and_global(tmp_path):
    manager = JobManager(tmp_path, _quick, limits=JobLimits(max_jobs_per_client=2, max_jobs=3))
    try:
        for _ in range(2):
            manager.create({"QUERY": "q"}, owner="a", client="1.1.1.1")
        with pytest.raises(SpecIRQueryError, match="most one client"):
            manager.create({"QUERY": "q"}, owner="a", client="1.1.1.1")
        with pytest.raises(SpecIRQueryError, match="most one client"):
            manager.create({"QUERY": "q"}, owner="fresh", client="1.1.1.1")  # same address
        manager.create({"QUERY": "q"}, owner="b", client="2.2.2.2")
        with pytest.raises(SpecIRServiceError, match="as many async jobs"):
            manager.create({"QUERY": "q"}, owner="c", client="3.3.3.3")
    finally:
        manager.close()


def test_abort_interrupts_the_running_query(tmp_path):
    stopped = []

    def slow(job_id, params, timeout_s, on_start):
        on_start(lambda: stopped.append(True))
        end = time.monotonic() + 10
        while not stopped and time.monotonic() < end:
            time.sleep(0.05)
        raise SpecIRServiceError("interrupted")

    manager = JobManager(tmp_path, slow)
    try:
        job = manager.create({"QUERY": "q"}, owner="o", client="c")
        manager.run(job.job_id)
        _wait(manager, job.job_id, ("EXECUTING",))
        manager.abort(job.job_id)
        assert _wait(manager, job.job_id, ("ABORTED",)).phase == "ABORTED"
        end = time.monotonic() + 5  # the cancel may arrive through the abort poll
        while not stopped and time.monotonic() < end:
            time.sleep(0.05)
        assert stopped
    finally:
        manager.close()
