"""Running several workers: processes for ``worker``/``up``, threads inside ``submit``.

Worker processes each open their own backend connections from a picklable
``BackendSpec``. On SIGTERM/SIGINT the parent passes the signal on, waits for the
children to drain (their own deadline plus a margin) and exits 0; a child that outlives
that is killed, and its messages reappear when their visibility timeout runs out.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog

from wordfreq_service.config import BackendSpec
from wordfreq_service.service.worker import Worker, WorkerSettings, run_until_stopped

log = structlog.get_logger("wordfreq.pool")

HookFactory = Callable[[], Any]


def _child_main(
    spec: BackendSpec, settings: WorkerSettings, debug: bool, hook: HookFactory | None
) -> None:
    from wordfreq_service import logs

    logs.configure(service=True, debug=debug)
    worker = Worker(spec.open(), settings, busy_hook=hook() if hook else None)
    structlog.contextvars.bind_contextvars(pid=os.getpid())
    run_until_stopped(worker)


def run_processes(
    spec: BackendSpec,
    settings: WorkerSettings,
    concurrency: int,
    *,
    debug: bool = False,
    hook: HookFactory | None = None,
) -> None:
    """Run ``concurrency`` worker processes until SIGTERM/SIGINT; drain; return."""
    if concurrency <= 1:
        worker = Worker(spec.open(), settings, busy_hook=hook() if hook else None)
        run_until_stopped(worker)
        return
    ctx = multiprocessing.get_context("spawn")
    children = [
        ctx.Process(target=_child_main, args=(spec, settings, debug, hook), name=f"worker-{i}")
        for i in range(concurrency)
    ]
    stopping = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        # Only a flag: logging here could deadlock on the logger's lock (see worker.py).
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    for child in children:
        child.start()
    log.info("workers started", count=concurrency, backend=spec.describe())
    while not stopping.is_set():
        for i, child in enumerate(children):
            if not child.is_alive():
                # A crashed child must not shrink the pool for good.
                log.error("worker process exited; restarting", exitcode=child.exitcode)
                children[i] = ctx.Process(
                    target=_child_main, args=(spec, settings, debug, hook), name=child.name
                )
                children[i].start()
        stopping.wait(0.5)
    log.info("stopping workers: draining", deadline_s=settings.drain_seconds)
    for child in children:
        if child.pid is not None and child.is_alive():
            os.kill(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + settings.drain_seconds + settings.wait_seconds + 5
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            log.error("worker did not drain in time; killing it", worker=child.name)
            child.kill()
            child.join()
    log.info("workers stopped")


class ThreadPool:
    """Workers as threads of this process (the counting core releases the GIL)."""

    def __init__(self, spec: BackendSpec, settings: WorkerSettings, size: int) -> None:
        self._stop = threading.Event()
        self._workers = [Worker(spec.open(), settings, stop=self._stop) for _ in range(size)]
        self._threads = [
            threading.Thread(target=w.run, name=f"worker-{i}", daemon=True)
            for i, w in enumerate(self._workers)
        ]

    def __enter__(self) -> ThreadPool:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, drain_seconds: float = 5.0) -> None:
        for w in self._workers:
            w.request_stop(drain_seconds)
        for t in self._threads:
            t.join(drain_seconds + 5)
