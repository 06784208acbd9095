"""The job store in the embedded stack's SQLite database; implements ``ports.JobStore``.

One row per job, in the same database file as the queues. ``advance`` is one
conditional ``UPDATE``, so concurrent workers and API requests never move a job
backwards. Expired rows are invisible at once and deleted by ``purge_expired``
(the stack runs it when it opens, as it does for queues).

The splits of big objects (``service/worker/split.py``) keep their progress in two more
tables: one row per split, one per part recorded, so recording a part twice is the
primary key's conflict, ignored.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from wordfreq_service.adapters.embedded.database import SqliteDatabase
from wordfreq_service.adapters.embedded.queue import SqliteQueue
from wordfreq_service.errors import JobExists, SplitPlanMismatch
from wordfreq_service.ports import CorpusRecord, CorpusState, JobRecord, JobState, SplitProgress

_COLUMNS = (
    "job_id, key, options, size, token_hash, state, created_at, updated_at, expires_at, result,"
    " lease_until, counts"
)
#: The states a lease may be set in: every one before the job ends.
_UNENDED = tuple(s.value for s in JobState if not s.ended)


class SqliteJobStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    def create(self, record: JobRecord) -> None:
        with _creating(record), self._db.write() as conn:
            _insert(conn, record)

    def create_announced(self, record: JobRecord, queue: SqliteQueue, event: str) -> None:
        """Store a new record and send ``event`` (its stored upload's) to ``queue``, in
        one transaction: a worker never sees the event without the job, and a client's
        upload costs one write instead of one each for the job, its lease, the event
        and ``queued``."""
        with _creating(record), self._db.write() as conn:
            _insert(conn, record)
            queue.send_in(conn, event)
        self._db.doorbells.ring(queue.name)

    def get(self, job_id: str, *, now: float | None = None) -> JobRecord | None:
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM jobs WHERE job_id = ? AND expires_at > ?",
            (job_id, time.time() if now is None else now),
        )
        return _record(rows[0]) if rows else None

    def advance(
        self,
        job_id: str,
        state: JobState,
        *,
        result: str | None = None,
        counts: bytes | None = None,
        now: float | None = None,
    ) -> JobRecord | None:
        moment = time.time() if now is None else now
        earlier = [s.value for s in JobState if s.rank < state.rank]
        if not earlier:
            return None
        marks = ", ".join("?" for _ in earlier)
        with self._db.write() as conn:
            row = conn.execute(
                f"UPDATE jobs SET state = ?, updated_at = ?, result = coalesce(?, result),"
                f" counts = coalesce(?, counts)"
                f" WHERE job_id = ? AND expires_at > ? AND state IN ({marks})"
                f" RETURNING {_COLUMNS}",
                (state.value, moment, result, counts, job_id, moment, *earlier),
            ).fetchone()
        return _record(row) if row is not None else None

    def lease(
        self, job_id: str, until: float | None, *, now: float | None = None
    ) -> JobRecord | None:
        moment = time.time() if now is None else now
        marks = ", ".join("?" for _ in _UNENDED)
        with self._db.write() as conn:
            row = conn.execute(
                f"UPDATE jobs SET lease_until = ?"
                f" WHERE job_id = ? AND expires_at > ? AND state IN ({marks})"
                f" RETURNING {_COLUMNS}",
                (until, job_id, moment, *_UNENDED),
            ).fetchone()
        return _record(row) if row is not None else None

    def ping(self) -> None:
        self._db.query("SELECT 1 FROM jobs LIMIT 1")

    def purge_expired(self, *, now: float | None = None) -> list[str]:
        with self._db.write() as conn:
            rows = conn.execute(
                "DELETE FROM jobs WHERE expires_at <= ? RETURNING job_id",
                (time.time() if now is None else now,),
            ).fetchall()
        return [job_id for (job_id,) in rows]

    # -- the splits of big objects ------------------------------------------------------

    def add_part(
        self,
        split_id: str,
        part: int,
        parts: int,
        *,
        failure: str | None = None,
        expires_at: float,
        now: float | None = None,
    ) -> SplitProgress:
        moment = time.time() if now is None else now
        with self._db.write() as conn:
            # An expired split is gone: its record starts afresh.
            expired = conn.execute(
                "DELETE FROM splits WHERE split_id = ? AND expires_at <= ? RETURNING split_id",
                (split_id, moment),
            ).fetchone()
            if expired is not None:
                conn.execute("DELETE FROM split_parts WHERE split_id = ?", (split_id,))
            conn.execute(
                "INSERT OR IGNORE INTO splits (split_id, parts, expires_at) VALUES (?, ?, ?)",
                (split_id, parts, expires_at),
            )
            (stored,) = conn.execute(
                "SELECT parts FROM splits WHERE split_id = ?", (split_id,)
            ).fetchone()
            if stored != parts:
                raise SplitPlanMismatch(
                    f"part {part} of {parts} for split {split_id}, which has {stored} parts"
                )
            added = conn.execute(
                "INSERT OR IGNORE INTO split_parts (split_id, part) VALUES (?, ?)",
                (split_id, part),
            ).rowcount
            if added and failure is not None:
                conn.execute(
                    "UPDATE splits SET failure = coalesce(failure, ?) WHERE split_id = ?",
                    (failure, split_id),
                )
            progress = _progress(conn, split_id, moment)
        assert progress is not None  # written in this transaction
        return progress

    def split_progress(self, split_id: str, *, now: float | None = None) -> SplitProgress | None:
        with self._db.write() as conn:
            return _progress(conn, split_id, time.time() if now is None else now)

    def mark_merged(self, split_id: str, *, now: float | None = None) -> None:
        with self._db.write() as conn:
            conn.execute(
                "UPDATE splits SET merged = 1 WHERE split_id = ? AND expires_at > ?",
                (split_id, time.time() if now is None else now),
            )

    def purge_expired_splits(self, *, now: float | None = None) -> list[SplitProgress]:
        moment = time.time() if now is None else now
        with self._db.write() as conn:
            ids = [
                split_id
                for (split_id,) in conn.execute(
                    "SELECT split_id FROM splits WHERE expires_at <= ?", (moment,)
                ).fetchall()
            ]
            gone = [_progress(conn, split_id, None) for split_id in ids]
            for split_id in ids:
                conn.execute("DELETE FROM split_parts WHERE split_id = ?", (split_id,))
                conn.execute("DELETE FROM splits WHERE split_id = ?", (split_id,))
        return [progress for progress in gone if progress is not None]

    # -- corpus jobs -----------------------------------------------------------------

    def create_corpus(self, record: CorpusRecord) -> None:
        try:
            with self._db.write() as conn:
                conn.execute(
                    f"INSERT INTO corpora ({_CORPUS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.corpus_id,
                        record.token_hash,
                        json.dumps(dict(record.options), ensure_ascii=False),
                        json.dumps(list(record.members)),
                        record.state.value,
                        record.created_at,
                        record.updated_at,
                        record.expires_at,
                    ),
                )
        except Exception as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise JobExists(f"corpus {record.corpus_id} exists already") from exc
            raise

    def get_corpus(self, corpus_id: str, *, now: float | None = None) -> CorpusRecord | None:
        rows = self._db.query(
            f"SELECT {_CORPUS_COLUMNS} FROM corpora WHERE corpus_id = ? AND expires_at > ?",
            (corpus_id, time.time() if now is None else now),
        )
        return _corpus(rows[0]) if rows else None

    def finish_corpus(self, corpus_id: str, *, now: float | None = None) -> CorpusRecord | None:
        moment = time.time() if now is None else now
        with self._db.write() as conn:
            row = conn.execute(
                f"UPDATE corpora SET state = ?, updated_at = ?"
                f" WHERE corpus_id = ? AND expires_at > ? AND state = ?"
                f" RETURNING {_CORPUS_COLUMNS}",
                (CorpusState.DONE.value, moment, corpus_id, moment, CorpusState.RUNNING.value),
            ).fetchone()
        return _corpus(row) if row is not None else None

    def get_jobs(self, job_ids: Sequence[str], *, now: float | None = None) -> list[JobRecord]:
        moment = time.time() if now is None else now
        found: list[JobRecord] = []
        for start in range(0, len(job_ids), _IDS_PER_QUERY):
            batch = job_ids[start : start + _IDS_PER_QUERY]
            marks = ", ".join("?" for _ in batch)
            rows = self._db.query(
                f"SELECT {_COLUMNS} FROM jobs WHERE job_id IN ({marks}) AND expires_at > ?",
                (*batch, moment),
            )
            found.extend(_record(row) for row in rows)
        return found

    def purge_expired_corpora(self, *, now: float | None = None) -> list[str]:
        with self._db.write() as conn:
            rows = conn.execute(
                "DELETE FROM corpora WHERE expires_at <= ? RETURNING corpus_id",
                (time.time() if now is None else now,),
            ).fetchall()
        return [corpus_id for (corpus_id,) in rows]


@contextmanager
def _creating(record: JobRecord) -> Iterator[None]:
    """JobExists for a record whose ID is taken."""
    try:
        yield
    except JobExists:
        raise
    except Exception as exc:
        if isinstance(exc.__cause__, sqlite3.IntegrityError):
            raise JobExists(f"job {record.job_id} exists already") from exc
        raise


def _insert(conn: sqlite3.Connection, record: JobRecord) -> None:
    conn.execute(
        f"INSERT INTO jobs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.job_id,
            record.key,
            json.dumps(dict(record.options), ensure_ascii=False),
            record.size,
            record.token_hash,
            record.state.value,
            record.created_at,
            record.updated_at,
            record.expires_at,
            record.result,
            record.lease_until,
            record.counts,
        ),
    )


def _progress(conn: sqlite3.Connection, split_id: str, now: float | None) -> SplitProgress | None:
    """The split's progress, read in ``conn``'s transaction; None when unknown, or expired
    at ``now`` (None: whether expired or not)."""
    row = conn.execute(
        "SELECT parts, failure, merged FROM splits WHERE split_id = ? AND expires_at > ?",
        (split_id, float("-inf") if now is None else now),
    ).fetchone()
    if row is None:
        return None
    parts, failure, merged = row
    done = conn.execute("SELECT part FROM split_parts WHERE split_id = ?", (split_id,)).fetchall()
    return SplitProgress(
        split_id=split_id,
        parts=parts,
        done=frozenset(part for (part,) in done),
        failure=failure,
        merged=bool(merged),
    )


_CORPUS_COLUMNS = (
    "corpus_id, token_hash, options, members, state, created_at, updated_at, expires_at"
)
#: Job IDs per ``IN (...)`` query: well under SQLite's limit on parameters (32766).
_IDS_PER_QUERY = 500


def _corpus(row: Any) -> CorpusRecord:
    corpus_id, token_hash, options, members, state, created, updated, expires = row
    return CorpusRecord(
        corpus_id=corpus_id,
        token_hash=token_hash,
        options=json.loads(options),
        members=tuple(json.loads(members)),
        state=CorpusState(state),
        created_at=created,
        updated_at=updated,
        expires_at=expires,
    )


def _record(row: Any) -> JobRecord:
    (
        job_id,
        key,
        options,
        size,
        token_hash,
        state,
        created,
        updated,
        expires,
        result,
        lease,
        counts,
    ) = row
    return JobRecord(
        job_id=job_id,
        key=key,
        options=json.loads(options),
        size=size,
        token_hash=token_hash,
        state=JobState(state),
        created_at=created,
        updated_at=updated,
        expires_at=expires,
        result=result,
        lease_until=lease,
        counts=counts,
    )
