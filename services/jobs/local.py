"""Jobs without Redis: a worker thread in the process that dispatches them (the embedded default, `make run`).

With no ``REDIS_URL`` there is no rq worker to hand a job to. Nothing else changes: the request records each job in
the outbox in its own transaction, and after its commit ``outbox.dispatch`` marks the rows dispatched and puts their
ids on this process's queue; the response goes out at once. A daemon thread runs the jobs one after another through
the entry point an rq worker calls (``services.jobs.worker.run_outbox_job``), each in transactions of its own.

Nothing is lost when the process stops: the thread is a daemon, so a job under way dies with it, its transaction
never commits and its outbox row stays not done; the periodic ``redispatch_outbox`` (the development server's
periodic thread, or ``flask outbox sweep``) sends it again once its lease has run out. A failed job is tried again
after 5, 30 and 120 seconds, like rq's ``Retry`` on the Redis path, and is then left to that sweep.

Held (``IN_PROCESS_JOBS_HELD``, the test configuration): jobs wait on the queue until :meth:`LocalWorker.drain`,
which lets the thread run them and waits until it has. Tests share one database connection between the test and the
app (each test is one transaction rolled back at its end) and a connection must not be used by two threads at once:
holding the jobs until the test asks for them is what the Redis path does too (they wait in Redis until the test
runs a burst worker), and the jobs still run in this thread, not in the caller's.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections import deque

log = logging.getLogger(__name__)

RETRY_INTERVALS = (5, 30, 120)  # seconds before each new attempt of a failed job (rq's Retry on the Redis path)


class LocalWorker:
    """A queue of outbox ids and the daemon thread that runs them, started with the first job."""

    def __init__(self, *, held: bool = False):
        self._held = held
        self._cond = threading.Condition()
        self._ready: deque[tuple[int, int]] = deque()  # (outbox id, attempts so far)
        self._later: list[tuple[float, int, int, int]] = []  # heap of (due, tiebreak, outbox id, attempts so far)
        self._tiebreak = itertools.count()
        self._running: int | None = None
        self._draining = 0
        self._failures: list[tuple[int, BaseException]] = []
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        """Whether jobs wait for :meth:`drain` instead of running as soon as they come."""
        return self._held

    @held.setter
    def held(self, value: bool) -> None:
        with self._cond:
            self._held = value
            self._cond.notify_all()

    def submit(self, outbox_id: int) -> None:
        """Run the outbox job ``outbox_id`` in the worker thread (after the jobs already waiting)."""
        with self._cond:
            self._ready.append((outbox_id, 0))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="onewindow-jobs", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def drain(self, timeout: float | None = None) -> list[tuple[int, BaseException]]:
        """Let the thread run every job waiting now (held or not) and wait until none is waiting or running.

        Returns the jobs that failed since the last drain, with their exceptions (they are retried later; a retry
        not yet due is not waited for). Raises ``TimeoutError`` after ``timeout`` seconds."""
        with self._cond:
            self._draining += 1
            self._cond.notify_all()
            try:
                done = self._cond.wait_for(lambda: not self._ready and self._running is None, timeout)
            finally:
                self._draining -= 1
            failures, self._failures = self._failures, []
        if not done:
            raise TimeoutError(f"in-process jobs still running after {timeout} s")
        return failures

    def clear(self) -> int:
        """Drop every job waiting or due for a retry, as a stopped process would (the outbox still has them);
        return how many. Tests drop what a test left behind, whose rows went with its rolled-back transaction."""
        with self._cond:
            dropped = len(self._ready) + len(self._later)
            self._ready.clear()
            self._later.clear()
            self._failures.clear()
            return dropped

    @property
    def pending(self) -> int:
        """Jobs waiting or running (retries not yet due left out)."""
        with self._cond:
            return len(self._ready) + (self._running is not None)

    @property
    def retries(self) -> list[int]:
        """Outbox ids of the failed jobs waiting for their next attempt."""
        with self._cond:
            return sorted(outbox_id for _due, _tiebreak, outbox_id, _attempts in self._later)

    def _take(self) -> tuple[int, int]:
        """The next job to run, once there is one and the worker may run it (called with the condition held)."""
        while True:
            now = time.monotonic()
            while self._later and self._later[0][0] <= now:
                _due, _tiebreak, outbox_id, attempts = heapq.heappop(self._later)
                self._ready.append((outbox_id, attempts))
            if self._ready and (not self._held or self._draining):
                item = self._ready.popleft()
                self._running = item[0]
                return item
            self._cond.wait(self._later[0][0] - now if self._later else None)

    def _loop(self) -> None:
        from services.jobs.worker import run_outbox_job

        while True:
            with self._cond:
                outbox_id, attempts = self._take()
            try:
                run_outbox_job(outbox_id)
            except Exception as exc:  # noqa: BLE001 - a failed job must not stop the thread; it is retried
                log.exception("in-process job (outbox %s) failed, attempt %s", outbox_id, attempts + 1)
                with self._cond:
                    self._failures.append((outbox_id, exc))
                    if attempts < len(RETRY_INTERVALS):
                        heapq.heappush(self._later, (time.monotonic() + RETRY_INTERVALS[attempts],
                                                     next(self._tiebreak), outbox_id, attempts + 1))
            finally:
                with self._cond:
                    self._running = None
                    self._cond.notify_all()


_worker: LocalWorker | None = None
_worker_lock = threading.Lock()


def local_worker() -> LocalWorker:
    """This process's in-process worker (held when the app's ``IN_PROCESS_JOBS_HELD`` says so)."""
    global _worker
    if _worker is None:
        from services import runtime

        with _worker_lock:
            if _worker is None:
                try:
                    held = bool(runtime.current().settings.get("IN_PROCESS_JOBS_HELD"))
                except RuntimeError:  # no app configured this process
                    held = False
                _worker = LocalWorker(held=held)
    return _worker


def _forget_after_fork() -> None:
    # A forked child (gunicorn --preload without Redis) has none of the parent's threads, and the parent's lock may
    # have been held at the fork: the child starts a worker of its own with its first job.
    global _worker, _worker_lock
    _worker, _worker_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
