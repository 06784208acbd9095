"""One job: an object's metadata turned into counting options, the object streamed into
the counting engine, and the outcome as a result message."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from wordfreq_service.counting.engine import CountOptions, summarize
from wordfreq_service.counting.inputs import decompress_chunks
from wordfreq_service.errors import (
    BackendError,
    InputError,
    NoSuchKey,
    TransientError,
    WordfreqError,
)
from wordfreq_service.formats.results import FAILURE, JobResult
from wordfreq_service.ports import ObjectStore
from wordfreq_service.service.worker.settings import WorkerSettings

#: Object metadata the client sets (S3 lower-cases user metadata names).
META_MODE = "mode"
META_TOP = "top"
META_MIN_LENGTH = "min-length"
META_STOPWORDS = "stopwords"
META_ENCODING = "encoding"
MAX_TOP = 100_000


class Unprocessable(WordfreqError):
    """This message can never succeed; let the redrive policy dead-letter it."""


class Abandoned(WordfreqError):
    """The drain deadline passed mid-job; the message goes back to the queue."""


def _int_option(meta: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = meta.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"bad {name} in object metadata: {raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise InputError(f"bad {name} in object metadata: {value} is not in {low}..{high}")
    return value


def options_from_metadata(meta: dict[str, str], settings: WorkerSettings) -> CountOptions:
    from urllib.parse import unquote

    from wordfreq_service.counting.stopwords import ENGLISH

    top = _int_option(meta, META_TOP, settings.default_top, 0, MAX_TOP)
    min_length = _int_option(meta, META_MIN_LENGTH, 1, 1, 1000)
    spec = meta.get(META_STOPWORDS, "")
    stop = ENGLISH if spec == "english" else frozenset(unquote(w) for w in spec.split(",") if w)
    try:
        return CountOptions(
            mode=meta.get(META_MODE, settings.default_mode),
            top=top,
            min_length=min_length,
            stopwords=stop,
            encoding=meta.get(META_ENCODING) or None,
        )
    except ValueError as exc:
        raise InputError(f"bad counting options in object metadata: {exc}") from exc


def count_object(
    store: ObjectStore,
    key: str,
    job_id: str,
    settings: WorkerSettings,
    deadline: Callable[[], float | None],
) -> JobResult:
    """Count one stored object with the options in its metadata; every failure that is
    the object's own becomes a ``failure`` result."""
    options: CountOptions | None = None
    try:
        with store.get(key) as obj:
            options = options_from_metadata(dict(obj.info.metadata), settings)
            counter = options.new_counter()
            chunks = decompress_chunks(
                _guarded(obj.iter_chunks(settings.chunk_size), deadline),
                key,
                settings.chunk_size,
            )
            for chunk in chunks:
                counter.feed(chunk)
            summary = summarize(counter, options)
    except NoSuchKey:
        return JobResult(
            key,
            job_id,
            FAILURE,
            f"object not found: {key}",
            mode=options.mode if options else None,
        )
    except InputError as exc:
        return JobResult(
            key, job_id, FAILURE, f"cannot count: {exc}", mode=options.mode if options else None
        )
    except ValueError as exc:
        return JobResult(key, job_id, FAILURE, f"cannot count: {exc}")
    except TransientError:
        raise
    except BackendError as exc:
        raise Unprocessable(str(exc)) from exc
    return JobResult.success(
        key,
        job_id,
        words=summary.words,
        total=summary.total,
        unique=summary.unique,
        mode=options.mode,
        skipped=summary.skipped,
    )


def _guarded(chunks: Iterable[bytes], deadline: Callable[[], float | None]) -> Iterator[bytes]:
    for chunk in chunks:
        due = deadline()
        if due is not None and time.monotonic() > due:
            raise Abandoned("drain deadline passed")
        yield chunk
