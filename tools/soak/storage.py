"""What the embedded stack's data directory holds at the end of a soak, and the bounds
it must stay within.

* The write-ahead log: under ``WAL_BOUND_BYTES``, the embedded database's own promise
  (it checkpoints the log itself past 8 MiB).
* The database: messages are deleted once handled, and SQLite reuses their pages, so
  what stays is the jobs table (a job's record is kept 7 days by design, its top words
  included): at most ``DB_BASE_BYTES`` plus ``DB_BYTES_PER_JOB`` for each job-path job.
  A leak of queue rows or a log that is never copied back would outgrow it.
* The bucket: nothing but the job path's stored counts (``results/``, kept 7 days with
  their jobs), no uploaded object left once its job is done; the counts of a text are
  smaller than the text, so they total at most the bytes the job path uploaded. At most
  one temporary file per SIGKILLed worker process (one killed in the middle of storing
  counts leaves its half-written file; the store sweeps such files an hour later, as the
  README says), none otherwise.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.adapters.embedded.backend import DATABASE_NAME
from wordfreq_service.adapters.embedded.database import WAL_BOUND_BYTES
from wordfreq_service.errors import NoSuchKey
from wordfreq_service.formats.jobs import counts_key
from wordfreq_service.ports import MAX_BATCH, ObjectStore

DB_BASE_BYTES = 8 << 20
DB_BYTES_PER_JOB = 2 << 10


@dataclass
class WalWatch:
    """The largest the write-ahead log and the database were, sampled while running."""

    database: Path
    peak_wal: int = 0
    peak_db: int = 0

    def sample(self) -> None:
        self.peak_wal = max(self.peak_wal, _size(self.database.with_name(DATABASE_NAME + "-wal")))
        self.peak_db = max(self.peak_db, _size(self.database))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@dataclass
class DataDirState:
    database: int
    wal: int
    peak_wal: int
    peak_db: int
    total: int
    result_objects: int
    result_bytes: int
    #: Uploads that got their result and are still stored (the worker deletes a counted
    #: upload in the background: one SIGKILLed leaves its batch's pending deletes).
    other_objects: list[str]
    #: Stored objects that are neither an upload, nor a job's counts, nor a temporary file.
    unaccounted: int
    temporary_files: int
    messages: dict[str, int]
    jobs: int
    bounds: dict[str, int] = field(default_factory=dict)

    def failures(self) -> list[str]:
        found = []
        if self.peak_wal > WAL_BOUND_BYTES:
            found.append(
                f"the write-ahead log reached {self.peak_wal:,} bytes > {WAL_BOUND_BYTES:,}"
            )
        if max(self.database, self.peak_db) > self.bounds["database"]:
            found.append(
                f"the database reached {max(self.database, self.peak_db):,} bytes "
                f"> {self.bounds['database']:,}"
            )
        if self.result_bytes > self.bounds["results"]:
            found.append(
                f"stored counts total {self.result_bytes:,} bytes > {self.bounds['results']:,}"
            )
        if self.total > self.bounds["data directory"]:
            found.append(
                f"the data directory holds {self.total:,} bytes > {self.bounds['data directory']:,}"
            )
        if len(self.other_objects) > self.bounds["uploads"]:
            found.append(
                f"{len(self.other_objects)} uploaded object(s) left in the bucket "
                f"> {self.bounds['uploads']}"
            )
        if self.unaccounted:
            found.append(f"{self.unaccounted} object(s) in the bucket no job accounts for")
        if self.temporary_files > self.bounds["temporary files"]:
            found.append(
                f"{self.temporary_files} temporary file(s) left in the bucket "
                f"> {self.bounds['temporary files']}"
            )
        for queue in ("work", "dead-letter"):
            if self.messages.get(queue):
                found.append(f"{self.messages[queue]} message(s) left on the {queue} queue")
        return found


def data_dir_state(
    data_dir: Path,
    watch: WalWatch,
    answered: list[tuple[str, str | None]],
    job_path_bytes: int,
    killed: int,
) -> DataDirState:
    """Read once the stack has stopped. ``answered``: the key of every upload that got its
    result, with its job ID on the job path (None on the compatible path); ``killed``:
    how many worker processes were SIGKILLed."""
    db = data_dir / DATABASE_NAME
    watch.sample()
    database, wal = _size(db), _size(db.with_name(DATABASE_NAME + "-wal"))
    total = sum(p.lstat().st_size for p in data_dir.rglob("*") if p.is_file())
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as conn:
        messages = dict(conn.execute("SELECT queue, count(*) FROM messages GROUP BY queue"))
        (jobs,) = conn.execute("SELECT count(*) FROM jobs").fetchone()
    conn.close()
    store = open_embedded(data_dir).store
    others, result_objects, result_bytes = [], 0, 0
    for key, job_id in answered:
        if _exists(store, key):
            others.append(key)
        if job_id is not None and _exists(store, counts_key(job_id)):
            result_objects += 1
            result_bytes += store.head(counts_key(job_id)).size
    objects = [p for p in (data_dir / "buckets").rglob("*") if p.is_file()]
    temporary = sum(1 for p in objects if p.name.startswith(".put-"))
    unknown = len(objects) - temporary - result_objects - len(others)
    database_bound = DB_BASE_BYTES + DB_BYTES_PER_JOB * sum(1 for _, j in answered if j)
    bounds = {
        "database": database_bound,
        "results": job_path_bytes,
        "data directory": database_bound + WAL_BOUND_BYTES + job_path_bytes,
        "temporary files": killed,
        "uploads": killed * MAX_BATCH,
    }
    return DataDirState(
        database=database,
        wal=wal,
        peak_wal=watch.peak_wal,
        peak_db=watch.peak_db,
        total=total,
        result_objects=result_objects,
        result_bytes=result_bytes,
        other_objects=others,
        unaccounted=max(0, unknown),
        temporary_files=temporary,
        messages=messages,
        jobs=jobs,
        bounds=bounds,
    )


def _exists(store: ObjectStore, key: str) -> bool:
    try:
        store.head(key)
    except NoSuchKey:
        return False
    return True
