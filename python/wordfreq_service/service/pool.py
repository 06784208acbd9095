"""Running several workers: processes for ``worker``/``up``, threads inside ``submit``.

Worker processes are started with ``spawn`` (forking after the counting core's thread
pool exists is unsafe) and each opens its own backend connections from a picklable
``BackendSpec``. The parent:

* restarts a child that crashed;
* on SIGTERM/SIGINT passes the signal on, waits for the children to drain (their own
  deadline, or their current receive, plus a margin: ``shutdown.kill_after``) and
  returns; a child that outlives that is killed, and its messages reappear when their
  visibility timeout runs out;
* writes its children's log lines: each child's standard error is a pipe to the parent,
  which writes every line whole (``logs.write_line``), so lines from several processes
  never interleave whatever their length; anything a child writes that is not a JSON
  log line (a traceback from a crash) is wrapped in one;
* holds the write end of a pipe each child watches: when the parent dies, even by
  SIGKILL, the children see end-of-file, stop receiving, hand back the messages they
  have not started, finish the running job within their drain deadline and exit,
  instead of working on as orphans beside the next ``up``;
* owns ECS task protection, if any, for the whole task: the children mark themselves
  busy or idle on a shared board, and one thread keeps protection on while any is busy,
  renewed well before it expires, and off once all are idle.
"""

from __future__ import annotations

import contextlib
import json
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, MutableSequence
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Protocol

import structlog

from wordfreq_service import logs
from wordfreq_service.config import BackendSpec
from wordfreq_service.errors import WordfreqError
from wordfreq_service.ports import Backend
from wordfreq_service.service.shutdown import PROTECTION_OFF_S, STOP_POLL_S, kill_after
from wordfreq_service.service.worker import Worker, WorkerSettings, run_until_stopped
from wordfreq_service.service.worker.backoff import OUTAGES, Backoff

log = structlog.get_logger("wordfreq.pool")

#: A relayed line longer than this is passed on in pieces (memory stays bounded).
MAX_RELAYED_LINE = 1 << 20
#: A worker process's exit status when it met an error that retrying will not mend.
EXIT_CANNOT_GO_ON = 3
#: After a failed call to the ECS agent, try again this soon (or at the renewal, if sooner).
PROTECTION_RETRY_SECONDS = 10.0


class _Event(Protocol):
    def set(self) -> None: ...
    def clear(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class Protection(Protocol):
    """ECS task protection (``adapters.aws.task_protection.TaskProtection``)."""

    expires_in_minutes: int

    def set(self, enabled: bool) -> bool: ...


class BusyBoard:
    """Which workers are busy: written by the workers, read by the protection owner.

    With a spawn context it lives in shared memory, so it can be handed to children."""

    def __init__(self, size: int, ctx: SpawnContext | None = None) -> None:
        self.slots: MutableSequence[int]
        self.changed: _Event
        if ctx is None:
            self.slots, self.changed = [0] * size, threading.Event()
        else:
            self.slots, self.changed = ctx.RawArray("b", size), ctx.Event()

    def mark(self, index: int, busy: bool) -> None:
        self.slots[index] = int(busy)
        self.changed.set()

    def any_busy(self) -> bool:
        return any(self.slots)


class BoardSlot:
    """One worker's place on the board; the worker's busy hook."""

    def __init__(self, board: BusyBoard, index: int) -> None:
        self.board, self.index = board, index

    def busy(self) -> None:
        self.board.mark(self.index, True)

    def idle(self) -> None:
        self.board.mark(self.index, False)


class ProtectionOwner:
    """Keeps ECS task protection on while any worker on the board is busy, renewed every
    third of its expiry, and off once all are idle. It calls the agent only for a
    change, a renewal, or a retry: after a failed call the agent's state is unknown, so
    it asks again, backing off from ``retry_seconds`` up to the renewal period."""

    def __init__(
        self,
        protection: Protection,
        board: BusyBoard,
        *,
        renew_seconds: float | None = None,
        retry_seconds: float = PROTECTION_RETRY_SECONDS,
    ) -> None:
        self._protection = protection
        self._board = board
        self._renew = renew_seconds or protection.expires_in_minutes * 60 / 3
        self._retry = min(retry_seconds, self._renew)
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="task-protection", daemon=True)
        self._thread.start()

    def close(self, timeout: float = PROTECTION_OFF_S) -> None:
        """Switch protection off if it may be on (one last try, backoff or not); stop."""
        self._closing = True
        self._board.changed.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        enabled: bool | None = False  # as the agent last confirmed; None: unknown
        renew_at = math.inf
        retry_at, backoff = 0.0, self._retry
        while True:
            closing = self._closing
            wanted = self._board.any_busy() and not closing
            now = time.monotonic()
            due = wanted != enabled or (wanted and now >= renew_at)
            if due and (now >= retry_at or closing):
                if self._protection.set(wanted):
                    enabled, backoff = wanted, self._retry
                    renew_at = now + self._renew if wanted else math.inf
                else:
                    enabled = None
                    retry_at, backoff = now + backoff, min(backoff * 2, self._renew)
            if closing:
                return
            wake = min(renew_at, retry_at if wanted != enabled else math.inf)
            self._board.changed.wait(None if wake == math.inf else max(0.0, wake - now))
            # Cleared before the board is read again: a change after this wakes us.
            self._board.changed.clear()


# -- the child process -----------------------------------------------------------------


def _child_main(
    spec: BackendSpec,
    settings: WorkerSettings,
    debug: bool,
    slot: BoardSlot | None,
    log_pipe: Connection,
    parent_alive: Connection,
) -> None:
    # First, before anything can write: our standard error goes to the parent.
    console = logs.send_stderr_to(log_pipe.fileno())
    log_pipe.close()
    logs.configure(service=True, debug=debug)
    structlog.contextvars.bind_contextvars(pid=os.getpid())
    stop = threading.Event()
    started: list[Worker] = []

    def stop_worker() -> None:
        if started:
            started[0].request_stop()
        else:
            stop.set()  # still opening the stack

    threading.Thread(
        target=_stop_with_parent, args=(stop_worker, parent_alive, console), daemon=True
    ).start()
    # Until the worker's own handlers are in (``run_until_stopped``), a stop while the
    # stack is still opening only sets the flag: no KeyboardInterrupt traceback on
    # Ctrl-C, no death by SIGTERM.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    try:
        backend = open_until_stopped(spec, settings, stop)
        if backend is None:
            return
        started.append(Worker(backend, settings, stop=stop, busy_hook=slot))
        _run_worker(started[0])
    except WordfreqError as exc:
        # Retrying will not mend it: the parent stops the pool rather than restart us.
        log.error("worker cannot go on", error=str(exc))
        sys.exit(EXIT_CANNOT_GO_ON)


def open_until_stopped(
    spec: BackendSpec, settings: WorkerSettings, stop: threading.Event
) -> Backend | None:
    """The worker's backend, opened again after a back-off while the store is
    unavailable (a locked database, a full disk, a server down): a worker starting
    during an outage waits it out instead of exiting. None once ``stop`` is set; any
    other error (``OUTAGES``) is raised."""
    backoff = Backoff(settings.backoff_seconds, settings.max_backoff_seconds, stop)
    while not stop.is_set():
        try:
            backend = spec.open()
        except OUTAGES as exc:
            backoff.failed("cannot open the stack", str(exc))
            continue
        backoff.succeeded()
        return backend
    return None


def _stop_with_parent(
    stop_worker: Callable[[], None], parent_alive: Connection, console: int
) -> None:
    with contextlib.suppress(EOFError, OSError):
        parent_alive.recv_bytes()  # the parent never writes: this returns at its death
    # Nobody relays our log any more: write to the console we were started with.
    logs.restore_stderr(console)
    log.warning("parent process gone; stopping", pid=os.getpid())
    stop_worker()


def _run_worker(worker: Worker) -> None:
    log.info("worker started")
    run_until_stopped(worker)


# -- the parent --------------------------------------------------------------------------


def _relay(pipe: Connection, worker: str) -> None:
    """Write a child's standard error to ours, a whole line at a time."""
    with pipe, open(pipe.fileno(), "rb", closefd=False) as lines:
        while line := lines.readline(MAX_RELAYED_LINE):
            if _is_json_object_line(line):
                logs.write_line(line)
            else:
                text = line.decode("utf-8", "replace").rstrip("\n")
                log.warning("worker output", worker=worker, output=text)


def _is_json_object_line(line: bytes) -> bool:
    if not line.endswith(b"\n"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


class _Children:
    def __init__(
        self,
        spec: BackendSpec,
        settings: WorkerSettings,
        debug: bool,
        board: BusyBoard | None,
        count: int,
    ) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self._args = (spec, settings, debug)
        self._board = board
        # Only the parent holds the write end; it is closed when the parent dies.
        self._alive_reader, self._alive_writer = self._ctx.Pipe(duplex=False)
        self._relays: list[threading.Thread] = []
        self.processes: list[SpawnProcess] = [self._start(i) for i in range(count)]

    def _start(self, index: int) -> SpawnProcess:
        slot = None
        if self._board is not None:
            self._board.mark(index, False)  # a crashed predecessor may have left it busy
            slot = BoardSlot(self._board, index)
        reader, writer = self._ctx.Pipe(duplex=False)
        name = f"worker-{index}"
        child = self._ctx.Process(
            target=_child_main,
            args=(*self._args, slot, writer, self._alive_reader),
            name=name,
        )
        child.start()
        writer.close()  # the child's copy is the only one: its exit ends the relay
        relay = threading.Thread(target=_relay, args=(reader, name), name=f"relay-{index}")
        relay.daemon = True
        relay.start()
        self._relays = [r for r in self._relays if r.is_alive()] + [relay]
        return child

    def restart_crashed(self) -> None:
        for i, child in enumerate(self.processes):
            if not child.is_alive():
                if child.exitcode == EXIT_CANNOT_GO_ON:
                    raise WordfreqError(
                        f"{child.name} stopped on an error that retrying will not mend "
                        "(its log line above says which)"
                    )
                # A crashed child must not shrink the pool for good.
                log.error("worker process exited; restarting", exitcode=child.exitcode)
                child.join()
                self.processes[i] = self._start(i)

    def stop(self, deadline: float) -> None:
        for child in self.processes:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signal.SIGTERM)
        for child in self.processes:
            child.join(max(0.0, deadline - time.monotonic()))
            if child.is_alive():
                log.error("worker did not drain in time; killing it", worker=child.name)
                child.kill()
                child.join()
        if self._board is not None:
            for i in range(len(self.processes)):
                self._board.mark(i, False)  # a killed child may have left itself busy
        for relay in self._relays:
            relay.join(5)  # the children's last lines are out before ours


def run_processes(
    spec: BackendSpec,
    settings: WorkerSettings,
    concurrency: int,
    *,
    debug: bool = False,
    protection: Protection | None = None,
) -> None:
    """Run ``concurrency`` workers until SIGTERM/SIGINT; drain; return. One worker runs
    in this process; more run in child processes."""
    board: BusyBoard | None = None
    if concurrency <= 1:
        board = BusyBoard(1) if protection else None
        stop = threading.Event()
        # A stop that lands before the worker's own handlers are in place still counts.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda _signum, _frame: stop.set())
        backend = open_until_stopped(spec, settings, stop)
        if backend is None:
            return
        slot = BoardSlot(board, 0) if board else None
        worker = Worker(backend, settings, stop=stop, busy_hook=slot)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda _signum, _frame: worker.request_stop())
        owner = ProtectionOwner(protection, board) if protection and board else None
        _log_started(spec, settings, concurrency)
        _run_worker(worker)
        if owner:
            owner.close()
        return
    stopping = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        # Only a flag: logging here could deadlock on the logger's lock.
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if protection:
        board = BusyBoard(concurrency, multiprocessing.get_context("spawn"))
    owner = ProtectionOwner(protection, board) if protection and board else None
    children = _Children(spec, settings, debug, board, concurrency)
    _log_started(spec, settings, concurrency)
    try:
        while not stopping.is_set():
            children.restart_crashed()
            stopping.wait(STOP_POLL_S)
        log.info("stopping workers: draining", deadline_s=settings.drain_seconds)
    finally:
        children.stop(time.monotonic() + kill_after(settings.drain_seconds, settings.wait_seconds))
        if owner:
            owner.close()
    log.info("workers stopped")


def _log_started(spec: BackendSpec, settings: WorkerSettings, count: int) -> None:
    log.info(
        "workers started",
        count=count,
        backend=spec.describe(),
        visibility_timeout=settings.visibility_timeout,
        drain_seconds=settings.drain_seconds,
        split_threshold=settings.split_threshold,
    )


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
