"""The embedded backend's SQLite database: connections, transactions, schema, errors.

Many processes share one database file. WAL mode lets readers run beside the single
writer; every write is one short ``BEGIN IMMEDIATE`` transaction, which takes the write
lock up front so two writers wait for each other instead of failing mid-way (a deferred
transaction that upgrades to a writer can fail at once with SQLITE_BUSY).

Waiting for the lock is done here rather than by SQLite's busy handler, which sleeps 1,
2, 5, 10... ms between attempts: transactions here last tens of microseconds, so its
first sleep alone would dominate the latency of a contended receive. We retry from 50 µs,
doubling to 2 ms, until ``busy_timeout_s``; then the database is unavailable.

Connections come from a small pool, so any thread can use the database, and a forked
child opens fresh ones: SQLite connections must not cross a fork.

The write-ahead log is bounded, by checkpoints of our own. SQLite's automatic ones are
passive: they copy back only the frames no reader still needs, and the log is reused
from its start only once one has caught up completely. Under a burst, with writers and
readers from many processes never pausing, that moment never comes (checkpoint
starvation, https://sqlite.org/wal.html#avoiding_excessively_large_wal_files): the log
grew by 80 MB a second in trials and, reused rather than shrunk, kept its size for
good. Forcing a TRUNCATE checkpoint once the log passes a size works, but not beside the
automatic ones, which run after every commit of a large log and hold the checkpoint
lock a forced one needs. So every connection turns them off, and a writer that finds the
log past ``WAL_CHECKPOINT_BYTES`` after its commit runs a TRUNCATE checkpoint: it holds
off other writers, waits briefly for readers of older snapshots (longer once the log is
well past the threshold), copies everything back and empties the file. One that finds
another checkpoint running, or cannot finish in time, leaves it to the next commit. The
log stays under ``WAL_BOUND_BYTES``; past the threshold a writer waits for one
checkpoint, tens to a few hundred milliseconds, once per ``WAL_CHECKPOINT_BYTES``
written.

Errors name the database file, so a user sees which file is locked or cannot be opened.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from wordfreq_service.adapters.embedded.doorbell import Doorbells
from wordfreq_service.adapters.embedded.nofollow import refuse_link
from wordfreq_service.errors import BackendError, ConfigError, TransientError

SCHEMA_VERSION = 1
#: A writer that finds the write-ahead log larger than this checkpoints and empties it.
WAL_CHECKPOINT_BYTES = 8 << 20
#: What the log stays under: the threshold plus what is committed while a checkpoint
#: waits for its turn (0.5-5 MB in the burst test, which checks this bound).
WAL_BOUND_BYTES = WAL_CHECKPOINT_BYTES + (8 << 20)
#: How long a checkpoint waits for the write lock and for readers of older snapshots
#: (SQLite's busy handler: sleeps of 1, 2, 5 ms) before leaving it to the next commit;
#: ten times longer once the log is half as large again as the threshold, as a reader
#: descheduled mid-snapshot on a loaded machine outlasts the short wait again and again.
_CHECKPOINT_WAIT_MS = 10
_CHECKPOINT_LONG_WAIT_MS = 100
#: How long a transaction waits for the write lock before the database counts as
#: unavailable (``TransientError``), unless the opener says otherwise.
DEFAULT_LOCK_WAIT_S = 10.0
_T = TypeVar("_T")
_FIRST_RETRY_S = 50e-6
_LONGEST_RETRY_S = 0.002

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queues (
    name TEXT PRIMARY KEY,
    visibility_timeout INTEGER NOT NULL,
    retention_s REAL NOT NULL,
    dead_letter_queue TEXT REFERENCES queues(name),
    max_receive_count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at REAL NOT NULL,
    visible_at REAL NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt_handle TEXT
);
CREATE INDEX IF NOT EXISTS messages_by_visibility ON messages (queue, visible_at);
CREATE INDEX IF NOT EXISTS messages_by_age ON messages (queue, sent_at);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_receipt
    ON messages (receipt_handle) WHERE receipt_handle IS NOT NULL;
CREATE TABLE IF NOT EXISTS bucket_notifications (
    bucket TEXT PRIMARY KEY,
    queue TEXT NOT NULL REFERENCES queues(name)
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    options TEXT NOT NULL,
    size INTEGER NOT NULL,
    token_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    result TEXT,
    lease_until REAL,
    counts BLOB
);
CREATE INDEX IF NOT EXISTS jobs_by_expiry ON jobs (expires_at);
CREATE TABLE IF NOT EXISTS splits (
    split_id TEXT PRIMARY KEY,
    parts INTEGER NOT NULL,
    failure TEXT,
    merged INTEGER NOT NULL DEFAULT 0,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS splits_by_expiry ON splits (expires_at);
CREATE TABLE IF NOT EXISTS split_parts (
    split_id TEXT NOT NULL,
    part INTEGER NOT NULL,
    PRIMARY KEY (split_id, part)
);
CREATE TABLE IF NOT EXISTS corpora (
    corpus_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    options TEXT NOT NULL,
    members TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS corpora_by_expiry ON corpora (expires_at);
"""
#: Columns added since a table was first released, with their definitions: a database
#: made before them gains them when opened (``ADD COLUMN`` with no default keeps old
#: rows as they were, NULL there). Old versions of wordfreq name their columns and
#: read such a database still, so the schema version stays.
_ADDED_COLUMNS = {("jobs", "lease_until"): "REAL", ("jobs", "counts"): "BLOB"}

# Primary result codes that mean "not now" rather than "never": busy or locked past the
# timeout, I/O errors, a read-only or full disk, a file that cannot be opened yet.
_UNAVAILABLE = {
    5,  # SQLITE_BUSY
    6,  # SQLITE_LOCKED
    8,  # SQLITE_READONLY
    10,  # SQLITE_IOERR
    13,  # SQLITE_FULL
    14,  # SQLITE_CANTOPEN
    15,  # SQLITE_PROTOCOL
}


def translate(exc: sqlite3.Error, path: Path) -> BackendError:
    """The wordfreq error for an SQLite failure on the database file ``path``."""
    code = getattr(exc, "sqlite_errorcode", None)
    if (code is not None and code & 0xFF in _UNAVAILABLE) or _is_busy(exc):
        return TransientError(f"{path}: {exc}")
    return BackendError(f"{path}: {exc}")


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


@contextmanager
def translated(path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc


class SqliteDatabase:
    """One database file shared by every queue of an embedded backend. Thread-safe."""

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_s: float = DEFAULT_LOCK_WAIT_S,
        max_idle_connections: int = 8,
    ) -> None:
        self.path = path
        self._wal = path.with_name(path.name + "-wal")
        self._own_files = (path, self._wal, path.with_name(path.name + "-shm"))
        self.busy_timeout_s = busy_timeout_s
        #: Long-poll wake-ups for the queues in this database.
        self.doorbells = Doorbells(path.parent / "doorbells", root=path.parent)
        self._max_idle = max_idle_connections
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._idle: list[sqlite3.Connection] = []

    def initialize(self) -> None:
        """Create the file and schema if missing; refuse a schema from the future."""
        with self.write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ConfigError(
                    f"{self.path} has schema version {version}; this wordfreq knows "
                    f"{SCHEMA_VERSION}: upgrade wordfreq or use another data directory"
                )
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            for (table, column), definition in _ADDED_COLUMNS.items():
                present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed if the block succeeds, else rolled back."""
        with translated(self.path), self._borrow() as conn:
            self._retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
            try:
                yield conn
                self._retry_busy(lambda: conn.execute("COMMIT"))
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
            self._bound_wal(conn)

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """Run one read-only statement (its own snapshot); all rows."""
        with translated(self.path), self._borrow() as conn:
            return self._retry_busy(lambda: conn.execute(sql, parameters).fetchall())

    def close(self) -> None:
        """Close the idle connections; one in use is closed when it is given back."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._max_idle = 0
        for conn in idle:
            with suppress(sqlite3.Error):
                conn.close()

    @contextmanager
    def _borrow(self) -> Iterator[sqlite3.Connection]:
        # A small pool rather than a connection per thread: connections then live as
        # long as the database object, not as long as garbage collection takes to
        # notice a finished thread's (sqlite3 connections sit in reference cycles).
        if os.getpid() != self._pid:
            self._forget_inherited()
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._open()
        try:
            yield conn
        finally:
            self._give_back(conn)

    def _give_back(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            keep = os.getpid() == self._pid and len(self._idle) < self._max_idle
            if keep and not conn.in_transaction:
                self._idle.append(conn)
                return
        if os.getpid() == self._pid:
            with suppress(sqlite3.Error):
                conn.close()

    def _retry_busy(self, attempt: Callable[[], _T]) -> _T:
        deadline = time.monotonic() + self.busy_timeout_s
        pause = _FIRST_RETRY_S
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, _LONGEST_RETRY_S)

    def _bound_wal(self, conn: sqlite3.Connection) -> None:
        """After a commit: empty the write-ahead log if it has grown past the threshold
        (see the module docstring). A stat per commit costs a microsecond."""
        try:
            size = self._wal.stat().st_size
        except OSError:
            return
        if size <= WAL_CHECKPOINT_BYTES:
            return
        overdue = size > WAL_CHECKPOINT_BYTES * 3 // 2
        wait_ms = _CHECKPOINT_LONG_WAIT_MS if overdue else _CHECKPOINT_WAIT_MS
        # SQLite's busy handler waits here, unlike elsewhere: readers cannot be retried
        # from outside. Busy (another checkpoint, readers lingering) is not an error.
        try:
            conn.execute(f"PRAGMA busy_timeout = {wait_ms}")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error:
            pass  # committed already; the next commit tries again
        finally:
            with suppress(sqlite3.Error):
                conn.execute("PRAGMA busy_timeout = 0")

    def _open(self) -> sqlite3.Connection:
        # SQLite follows a link in place of the database (and would write there, and
        # beside it); one in place of its -shm file it refuses only as "unable to open".
        for own in self._own_files:
            refuse_link(own)
        with translated(self.path):
            # Autocommit mode (isolation_level=None): transactions are the explicit ones
            # in write(), never the module's implicit BEGIN before DML. timeout=0: we
            # wait for locks ourselves (see the module docstring).
            conn = sqlite3.connect(
                self.path,
                timeout=0,
                isolation_level=None,
                check_same_thread=False,
            )
            try:
                self._retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL"))
                # In WAL mode NORMAL never corrupts; a power cut may lose the last
                # commits. Objects themselves are fsynced before their event is sent.
                conn.execute("PRAGMA synchronous = NORMAL")
                # Checkpoints are ours (see the module docstring).
                conn.execute("PRAGMA wal_autocheckpoint = 0")
            except BaseException:
                conn.close()
                raise
        return conn

    def _forget_inherited(self) -> None:
        # SQLite connections must not cross a fork, and the parent still uses these:
        # closing them here could release its locks. The lock may have been held by a
        # thread that does not exist in this process.
        self._lock = threading.Lock()
        self._idle = []
        self._pid = os.getpid()
