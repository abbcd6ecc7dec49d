"""Admission control (specir.tap.admission): killable parse workers and reserved slots."""

import os
import sys
import threading
import time

import pytest

from specir.tap.admission import ParsePool, Slots
from specir.tap.adql import TableInfo
from specir.tap.grammar import ADQLError

TABLES = {"s.t": TableInfo("s.t", '"s"."t"', "ra", "dec")}
SLOW = (
    "SELECT "
    + "(" * 28
    + "ra"
    + ")" * 28
    + " FROM s.t WHERE "
    + " OR ".join(f"dec > {i}" for i in range(400))
)


@pytest.fixture(scope="module")
def pool():
    p = ParsePool(1, timeout_s=0.05)
    yield p
    p.close()


def test_overrunning_parse_is_killed_and_the_pool_recovers(pool):
    victim = pool._all[0].process
    with pytest.raises(ADQLError, match=r"longer than 0\.05 s to parse"):
        pool.translate(SLOW, TABLES, max_chars=100_000, max_depth=30)
    assert victim.poll() is not None  # the worker process was killed
    pool.timeout_s = 30.0
    tr = pool.translate("SELECT ra FROM s.t", TABLES, max_chars=100_000, max_depth=30)
    assert tr.render().sql == 'SELECT "ra" FROM "s"."t" AS "t"'
    with pytest.raises(ADQLError, match="does not exist"):
        pool.translate("SELECT ra FROM nowhere", TABLES, max_chars=100_000, max_depth=30)
    pool.timeout_s = 0.05


def test_reserved_slot_admits_a_cheap_query_while_expensive_ones_wait():
    slots = Slots(3, reserved=1)
    assert slots.acquire(cheap=False, timeout=0) and slots.acquire(cheap=False, timeout=0)
    assert slots.saturated
    assert not slots.acquire(cheap=False, timeout=0.05)
    assert slots.acquire(cheap=True, timeout=0)
    got = []
    waiter = threading.Thread(target=lambda: got.append(slots.acquire(cheap=False, timeout=5)))
    waiter.start()
    time.sleep(0.1)
    slots.release(cheap=False)
    waiter.join(5)
    assert got == [True] and slots.running == 3


def test_expensive_queries_take_no_cheap_slot():
    slots = Slots(2, reserved=1)
    assert slots.acquire(cheap=False, timeout=0)
    assert slots.acquire(cheap=True, timeout=0) and slots.acquire(cheap=True, timeout=0)
    assert not slots.acquire(cheap=True, timeout=0.05)  # every cheap slot is taken
    slots.release(cheap=True)
    assert slots.acquire(cheap=True, timeout=0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_expensive_query_threads_run_at_low_priority():
    from specir.tap.engine import _lower_priority

    seen = []

    def probe():
        _lower_priority(19)
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    worker = threading.Thread(target=probe)
    worker.start()
    worker.join(5)
    assert seen == [19]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < 19  # caller untouched
