"""An SQS-like queue in SQLite, safe for many consumers in many processes.

A message is a row. Receiving is one IMMEDIATE transaction that picks visible rows and
hides them behind a fresh receipt handle, so two consumers can never hold the same
message at once; a handle stops working once its message is received again. A message
received ``max_receive_count`` times that comes back moves to the dead-letter queue on
the next receive, keeping its ID and sent time (as SQS does); messages older than the
queue's retention are dropped by receives. Long polls sleep on a doorbell (see
:mod:`.doorbell`) and re-check at the next visibility expiry.
"""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from wordfreq_service.adapters.embedded.database import SqliteDatabase
from wordfreq_service.errors import BackendError, NoSuchQueue, ReceiptHandleInvalid
from wordfreq_service.ports import (
    DEFAULT_MAX_RECEIVE_COUNT,
    DEFAULT_VISIBILITY_TIMEOUT_S,
    MAX_BATCH,
    MAX_LONG_POLL_S,
    MAX_VISIBILITY_TIMEOUT_S,
    WORK_QUEUE_RETENTION_S,
    Message,
    check_delay,
)

#: A long poll re-checks the queue this often even without a ring, in case a sender
#: died between its commit and its ring.
RECHECK_S = 0.25
#: SQS's rule, which also makes the name safe as a directory name for doorbells.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


@dataclass(frozen=True)
class QueueConfig:
    """A queue's attributes, as SQS names them."""

    name: str
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT_S
    retention_s: float = WORK_QUEUE_RETENTION_S
    dead_letter_queue: str | None = None
    #: Receives after which a returning message is dead-lettered (needs a DLQ).
    max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"queue name {self.name!r}: use 1-80 ASCII letters, digits, - and _")
        _check_visibility(self.visibility_timeout)
        if self.retention_s <= 0:
            raise ValueError("retention must be positive")
        if self.max_receive_count < 1:
            raise ValueError("max_receive_count must be at least 1")


#: SQS's limit on a message body.
MAX_MESSAGE_BYTES = 1 << 20


class SqliteQueue:
    """One queue of a :class:`SqliteDatabase`; implements ``ports.MessageQueue``."""

    def __init__(self, db: SqliteDatabase, name: str) -> None:
        rows = db.query(
            "SELECT visibility_timeout, retention_s, dead_letter_queue, max_receive_count"
            " FROM queues WHERE name = ?",
            (name,),
        )
        if not rows:
            raise NoSuchQueue(f"no queue {name!r} in {db.path}")
        self.config = QueueConfig(name, *rows[0])
        self._db = db

    @classmethod
    def create(
        cls,
        db: SqliteDatabase,
        name: str,
        *,
        visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT_S,
        retention_s: float = WORK_QUEUE_RETENTION_S,
        dead_letter_queue: str | None = None,
        max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT,
    ) -> SqliteQueue:
        """Create the queue, or update its attributes if it exists (like SQS's
        CreateQueue followed by SetQueueAttributes)."""
        config = QueueConfig(
            name, visibility_timeout, retention_s, dead_letter_queue, max_receive_count
        )
        with db.write() as conn:
            if dead_letter_queue is not None and not _exists(conn, dead_letter_queue):
                raise NoSuchQueue(f"dead-letter queue {dead_letter_queue!r} does not exist")
            conn.execute(
                "INSERT INTO queues (name, visibility_timeout, retention_s,"
                " dead_letter_queue, max_receive_count) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET"
                " visibility_timeout = excluded.visibility_timeout,"
                " retention_s = excluded.retention_s,"
                " dead_letter_queue = excluded.dead_letter_queue,"
                " max_receive_count = excluded.max_receive_count",
                (name, visibility_timeout, retention_s, dead_letter_queue, max_receive_count),
            )
        return cls(db, config.name)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def url(self) -> str:
        return f"{self._db.path.resolve().as_uri()}#{self.name}"

    def send(self, body: str, delay_seconds: int = 0) -> str:
        check_delay(delay_seconds)
        with self._db.write() as conn:
            message_id = self.send_in(conn, body, delay_seconds)
        self._db.doorbells.ring(self.name)
        return message_id

    def send_in(self, conn: sqlite3.Connection, body: str, delay_seconds: int = 0) -> str:
        """Enqueue inside the caller's transaction; the caller rings after commit."""
        if not isinstance(body, str):
            raise TypeError(f"message body must be str, not {type(body).__name__}")
        if len(body.encode("utf-8")) > MAX_MESSAGE_BYTES:
            # As SQS: refusing here keeps the embedded backend from accepting what AWS won't.
            raise BackendError(f"message of {len(body.encode())} bytes exceeds the 1 MiB limit")
        message_id = str(uuid.uuid4())
        now = time.time()
        conn.execute(
            "INSERT INTO messages (queue, id, body, sent_at, visible_at) VALUES (?, ?, ?, ?, ?)",
            (self.name, message_id, body, now, now + delay_seconds),
        )
        return message_id

    def receive(
        self,
        max_messages: int = 1,
        wait_seconds: float = 0,
        visibility_timeout: int | None = None,
    ) -> list[Message]:
        if not 1 <= max_messages <= MAX_BATCH:
            raise ValueError(f"max_messages must be 1..{MAX_BATCH}, not {max_messages}")
        if not 0 <= wait_seconds <= MAX_LONG_POLL_S:
            raise ValueError(f"wait_seconds must be 0..{MAX_LONG_POLL_S}, not {wait_seconds}")
        hide_for = (
            self.config.visibility_timeout if visibility_timeout is None else visibility_timeout
        )
        _check_visibility(hide_for)

        messages, _ = self._try_take(max_messages, hide_for)
        if messages or wait_seconds <= 0:
            return messages
        deadline = time.monotonic() + wait_seconds
        with self._db.doorbells.listen(self.name) as bell:
            while True:
                # Listening now: a message sent after this check rings the bell.
                messages, next_visible = self._try_take(max_messages, hide_for)
                if messages:
                    return messages
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                nap = min(remaining, RECHECK_S)
                if next_visible is not None:
                    nap = min(nap, next_visible - time.time())
                bell.wait(nap)

    def delete(self, receipt_handle: str) -> None:
        with self._db.write() as conn:
            deleted = _delete(conn, self.name, receipt_handle)
        if not deleted:
            raise ReceiptHandleInvalid(_stale(receipt_handle))

    def delete_batch(self, receipt_handles: Sequence[str]) -> list[str]:
        if len(receipt_handles) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} receipt handles per batch")
        if not receipt_handles:
            return []
        with self._db.write() as conn:
            return [h for h in receipt_handles if not _delete(conn, self.name, h)]

    def change_visibility(self, receipt_handle: str, timeout: int) -> None:
        _check_visibility(timeout)
        with self._db.write() as conn:
            changed = conn.execute(
                "UPDATE messages SET visible_at = ? WHERE queue = ? AND receipt_handle = ?",
                (time.time() + timeout, self.name, receipt_handle),
            ).rowcount
        if not changed:
            raise ReceiptHandleInvalid(_stale(receipt_handle))
        if timeout == 0:
            self._db.doorbells.ring(self.name)

    def approximate_count(self) -> int:
        now = time.time()
        [(count,)] = self._db.query(
            "SELECT count(*) FROM messages WHERE queue = ? AND visible_at <= ? AND sent_at >= ?",
            (self.name, now, now - self.config.retention_s),
        )
        return int(count)

    def visibility_timeout(self) -> int:
        return self.config.visibility_timeout

    def max_receive_count(self) -> int | None:
        if self.config.dead_letter_queue is None:
            return None
        return self.config.max_receive_count

    def purge_expired(self) -> int:
        """Drop messages older than the retention period; returns how many."""
        with self._db.write() as conn:
            return self._expire(conn, time.time())

    # -- internals --------------------------------------------------------------------

    def _try_take(self, max_messages: int, hide_for: int) -> tuple[list[Message], float | None]:
        """Messages if any are visible, else when the next one will be (None: empty).

        A read comes first, so only a receiver with something to take contends for
        the write lock."""
        while True:
            next_visible = self._next_visible_at()
            if next_visible is None or next_visible > time.time():
                return [], next_visible
            messages = self._take(max_messages, hide_for)
            if messages:
                return messages, None
            # Another consumer won the race, or only expired or dead-lettered messages
            # were visible: the queue has changed, so look again.

    def _take(self, max_messages: int, hide_for: int) -> list[Message]:
        config = self.config
        dead_letter = config.dead_letter_queue
        now = time.time()
        taken: list[Message] = []
        moved = False
        with self._db.write() as conn:
            self._expire(conn, now)
            while len(taken) < max_messages:
                wanted = max_messages - len(taken)
                rows = conn.execute(
                    "SELECT seq, receive_count FROM messages WHERE queue = ? AND visible_at <= ?"
                    " ORDER BY visible_at LIMIT ?",
                    (self.name, now, wanted),
                ).fetchall()
                exhausted = [
                    seq
                    for seq, count in rows
                    if dead_letter is not None and count >= config.max_receive_count
                ]
                fresh = [seq for seq, _ in rows if seq not in exhausted]
                if exhausted:
                    # The ID, sent time and receive count travel along, as in SQS.
                    conn.execute(
                        "UPDATE messages SET queue = ?, visible_at = ?, receipt_handle = NULL"
                        f" WHERE seq IN ({_marks(exhausted)})",
                        (dead_letter, now, *exhausted),
                    )
                    moved = True
                if fresh:
                    taken.extend(
                        Message(
                            message_id=message_id,
                            receipt_handle=handle,
                            body=body,
                            receive_count=count,
                            sent_timestamp=sent_at,
                        )
                        for message_id, handle, body, count, sent_at in conn.execute(
                            "UPDATE messages SET receive_count = receive_count + 1,"
                            " visible_at = ?, receipt_handle = lower(hex(randomblob(16)))"
                            f" WHERE seq IN ({_marks(fresh)})"
                            " RETURNING id, receipt_handle, body, receive_count, sent_at",
                            (now + hide_for, *fresh),
                        ).fetchall()
                    )
                if len(rows) < wanted:
                    break
        if moved and dead_letter is not None:
            self._db.doorbells.ring(dead_letter)
        taken.sort(key=lambda m: m.sent_timestamp)
        return taken

    def _expire(self, conn: sqlite3.Connection, now: float) -> int:
        return conn.execute(
            "DELETE FROM messages WHERE queue = ? AND sent_at < ?",
            (self.name, now - self.config.retention_s),
        ).rowcount

    def _next_visible_at(self) -> float | None:
        """When the next message becomes visible (maybe already): one index probe,
        without the write lock."""
        [(moment,)] = self._db.query(
            "SELECT min(visible_at) FROM messages WHERE queue = ?", (self.name,)
        )
        return None if moment is None else float(moment)


def _delete(conn: sqlite3.Connection, queue: str, receipt_handle: str) -> bool:
    return (
        conn.execute(
            "DELETE FROM messages WHERE queue = ? AND receipt_handle = ?",
            (queue, receipt_handle),
        ).rowcount
        > 0
    )


def _exists(conn: sqlite3.Connection, queue: str) -> bool:
    return conn.execute("SELECT 1 FROM queues WHERE name = ?", (queue,)).fetchone() is not None


def _check_visibility(timeout: int) -> None:
    if not 0 <= timeout <= MAX_VISIBILITY_TIMEOUT_S:
        raise ValueError(f"visibility timeout must be 0..{MAX_VISIBILITY_TIMEOUT_S} s")


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


def _stale(receipt_handle: str) -> str:
    return (
        f"receipt handle {receipt_handle[:16]!r}… is not current: the message was deleted"
        " or received again"
    )
