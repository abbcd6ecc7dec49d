"""Admission control: killable parse workers and query slots with capacity kept for cheap queries.

A query is admitted in three steps, cheapest first: the text is checked for length and
parenthesis depth (:func:`specir.tap.grammar.prepare`, linear time, in the request's
process); it is parsed and translated in a :class:`ParsePool` worker process that is killed
when it overruns its time budget; it then waits for an execution slot from :class:`Slots`,
which keeps part of the capacity for *cheap* queries (every catalog table confined to a
constant region, so HEALPix pruning bounds the rows read, or only TAP_SCHEMA read), so that
runaway joins cannot hold every slot while cone searches wait.
"""

import logging
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from specir.errors import SpecIRServiceError
from specir.tap.grammar import ADQLError

__all__ = ["ParsePool", "Slots"]

log = logging.getLogger(__name__)


class Slots:
    """``total`` slots for cheap queries, and ``total - reserved`` for expensive ones.

    Expensive queries run on low-priority threads (:class:`specir.tap.engine.Engine`), so
    they do not take a cheap query's slot: however many runaway joins run, ``total`` cheap
    queries may run beside them.

    Examples
    --------
    >>> slots = Slots(2, reserved=1)
    >>> slots.acquire(cheap=False, timeout=0), slots.acquire(cheap=False, timeout=0)
    (True, False)
    >>> slots.acquire(cheap=True, timeout=0)
    True
    """

    def __init__(self, total, *, reserved=1):
        self.total = total
        self.reserved = min(reserved, total - 1)
        self.running = 0
        self.expensive = 0
        self._cond = threading.Condition()

    def _fits(self, cheap):
        if cheap:  # expensive queries run at low CPU priority: they take no cheap slot
            return self.running - self.expensive < self.total
        return self.expensive < self.total - self.reserved

    def acquire(self, *, cheap, timeout):
        """Take a slot; False when none frees up within ``timeout`` seconds."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._fits(cheap), timeout=timeout):
                return False
            self.running += 1
            self.expensive += not cheap
            return True

    def release(self, *, cheap):
        with self._cond:
            self.running -= 1
            self.expensive -= not cheap
            self._cond.notify_all()

    @property
    def saturated(self):
        """True when no expensive query could start now."""
        with self._cond:
            return not self._fits(False)


def _read(stream, n):
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _send(stream, obj):
    data = pickle.dumps(obj)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive(stream):
    (size,) = struct.unpack("<Q", _read(stream, 8))
    return pickle.loads(_read(stream, size))


def serve_parse_requests():
    """Main loop of a parse worker process: requests on stdin, answers on stdout."""
    from specir.tap.adql import translate_template

    sys.setrecursionlimit(20_000)  # left-recursive rules (long OR chains) recurse deeply
    os.nice(19)  # a hostile parse yields the CPU to the serving processes
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    _send(stdout, "ready")
    while True:
        try:
            adql, tables, max_chars, max_depth = _receive(stdin)
        except EOFError:
            return
        try:
            limits = {"max_chars": max_chars, "max_depth": max_depth}
            value = (True, translate_template(adql, tables, **limits))
        except ADQLError as exc:
            value = (False, exc)
        except Exception as exc:  # a construct the translator does not handle
            value = (False, ADQLError(f"the query could not be translated ({exc})", "simplify it"))
        _send(stdout, value)


class _Worker:
    """One parse worker: a plain subprocess (server workers are daemonic and may not use
    multiprocessing children), spoken to with length-prefixed pickles over pipes."""

    def __init__(self):
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        code = "from specir.tap.admission import serve_parse_requests; serve_parse_requests()"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            bufsize=0,
        )
        if self.recv(120) != "ready":
            self.kill()
            raise SpecIRServiceError("an ADQL parse worker did not start")

    def send(self, obj):
        _send(self.process.stdin, obj)

    def recv(self, timeout):
        """The next answer, or None when none comes within ``timeout`` seconds."""
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        return _receive(self.process.stdout) if ready else None

    def kill(self):
        self.process.kill()
        self.process.wait(timeout=5)
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()


class ParsePool:
    """Worker processes that parse and translate ADQL, each killed if it overruns.

    Parameters
    ----------
    processes : int
        Parse workers (parses running at once).
    timeout_s : float
        Budget of one parse; a worker still busy after it is killed and replaced.
    """

    def __init__(self, processes=2, *, timeout_s=5.0):
        self.timeout_s = timeout_s
        self._idle = queue.Queue()
        self._all = []
        for _ in range(processes):
            self._add()

    def _add(self):
        worker = _Worker()
        self._all.append(worker)
        self._idle.put(worker)

    def translate(self, adql, tables, *, max_chars, max_depth, wait_s=30.0):
        """:func:`specir.tap.adql.translate_template` in a worker, within the time budget."""
        try:
            worker = self._idle.get(timeout=wait_s)
        except queue.Empty:
            raise SpecIRServiceError("every ADQL parser is busy: retry in a few seconds") from None
        start = time.perf_counter()
        try:
            worker.send((adql, dict(tables), max_chars, max_depth))
            answer = worker.recv(self.timeout_s)
        except (EOFError, OSError):
            answer = None
        if answer is None:
            log.warning("parse overran %.1f s; worker killed", time.perf_counter() - start)
            self._all.remove(worker)
            worker.kill()
            self._add()
            raise ADQLError(
                f"the query took longer than {self.timeout_s:g} s to parse",
                "simplify it: fewer nested parentheses, sub-queries or OR terms",
            )
        self._idle.put(worker)
        ok, value = answer
        if not ok:
            raise value
        return value

    def close(self):
        for worker in self._all:
            worker.kill()
        self._all.clear()
