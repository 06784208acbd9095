"""The formats of an aggregate (a corpus counted as one): the per-file statuses and the
API's corpus job (IDs, keys, bodies).

* A file's status (``FileStatus``) is a result's: ``success`` with ``Success``, or
  ``failure`` with the reason; ``--json`` of ``count --aggregate``/``submit --aggregate``
  lists them (``cli.output.aggregate_json``).
* A corpus job (``POST /corpora``) groups jobs of the job service. Its ID is ``c``
  then 32 hex digits, so it can never be taken for a job's ID (``formats.jobs``). Once
  every member has ended, its merged counts are stored at
  ``results/corpora/<corpus_id>.csv.gz`` (the format of a job's counts) and its result,
  the body ``GET /corpora/{id}`` shows, at ``results/corpora/<corpus_id>.json``: under
  ``results/``, which workers ignore and the bucket expires with the jobs, and in a
  prefix of their own, the only one the API may write under ``results/`` (it must not be
  able to overwrite a job's counts).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from wordfreq_service.formats.jobs import RESULTS_PREFIX, counts_key
from wordfreq_service.formats.results import FAILURE, SUCCESS, SUCCESS_MESSAGE

#: The most jobs one corpus job may group. The merge runs inside the ``GET /corpora/{id}``
#: that first finds every member ended, possibly after holding it for ``?wait=20``: it
#: must end within the 8 s then left of the function's 28 s, on a Lambda's fraction of
#: a core (README, "The corpus API"; ``make bench-corpus-merge``: 1.7 s on 2 busy cores
#: for this many book-sized members with wide vocabularies). ``submit --aggregate --api``
#: makes as many corpora as a larger corpus needs and sums them.
MAX_CORPUS_JOBS: Final = 200
#: ``POST /corpora``'s largest body: MAX_CORPUS_JOBS members of about 110 bytes each
#: (``{"job_id": "<32>", "token": "<43>"}, ``), about 33 KB, with room to spare (for
#: indented JSON too).
MAX_CORPUS_BODY: Final = 128 << 10

#: Every object of a corpus job: the one prefix under ``results/`` the API writes.
CORPORA_PREFIX: Final = f"{RESULTS_PREFIX}corpora/"

_CORPUS_ID: Final = re.compile(r"c[0-9a-f]{32}")


@dataclass(frozen=True)
class FileStatus:
    """How one file of an aggregate fared."""

    file: str
    status: str
    status_message: str

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS

    @classmethod
    def success(cls, file: str) -> FileStatus:
        return cls(file, SUCCESS, SUCCESS_MESSAGE)

    @classmethod
    def failure(cls, file: str, reason: str | BaseException, *internal: str) -> FileStatus:
        """A file that could not be counted, for ``reason`` (a message or the exception
        that said why); ``internal``: names of its job (key, ID) that may be in the
        message. See :func:`failure_reason`."""
        return cls(file, FAILURE, failure_reason(file, reason, *internal))


def failure_reason(file: str, reason: str | BaseException, *internal: str) -> str:
    """A failed file's ``status_message``: ``reason`` without the file's name in front
    (an input error names its file, and the entry names it already) and without the
    ``internal`` names of its job (a worker's message names the stored object,
    ``jobs/<id>``, which means nothing to the file's owner): "``<name>: ``" dropped,
    any other mention said as "the file". An exception without a message is its type."""
    text = reason if isinstance(reason, str) else str(reason) or type(reason).__name__
    text = text.removeprefix(f"{file}: ")
    for name in internal:
        text = text.replace(f"{name}: ", "").replace(name, "the file")
    return text or "failed"


# -- the corpus job ---------------------------------------------------------------------


def new_corpus_id() -> str:
    return "c" + uuid.uuid4().hex


def is_corpus_id(text: str) -> bool:
    return bool(_CORPUS_ID.fullmatch(text))


def corpus_counts_key(corpus_id: str) -> str:
    """Where the merged counts go (in the format of a job's counts)."""
    return f"{CORPORA_PREFIX}{corpus_id}.csv.gz"


def corpus_result_key(corpus_id: str) -> str:
    return f"{CORPORA_PREFIX}{corpus_id}.json"


def stored_counts_key(owner_id: str) -> str:
    """The stored counts of a job or of a corpus job, by its ID (the two kinds of ID
    never overlap)."""
    return corpus_counts_key(owner_id) if is_corpus_id(owner_id) else counts_key(owner_id)


def corpus_objects(corpus_id: str) -> tuple[str, str]:
    """Every key a corpus job owns in the bucket; an expired one's go with it."""
    return corpus_counts_key(corpus_id), corpus_result_key(corpus_id)


def corpus_result(
    total: int,
    unique: int,
    words: Sequence[tuple[str, int]],
    members: Iterable[tuple[str, str, str]],
    *,
    language: str | None = None,
) -> dict[str, Any]:
    """The merged result of a corpus job: ``members`` are ``(job_id, status,
    status_message)`` in the order the corpus was created with; ``language`` (only with
    ``--stopwords auto``) the one detected in the sum."""
    result: dict[str, Any] = {"total": total, "unique": unique}
    if language is not None:
        result["language"] = language
    result["words"] = [{"word": w, "count": c} for w, c in words]
    result["files"] = [
        {"job_id": job_id, "status": status, "status_message": message}
        for job_id, status, message in members
    ]
    return result


def corpus_view(corpus_id: str, state: str, result: Mapping[str, Any] | None) -> dict[str, Any]:
    """``GET /corpora/{id}``: the state, and the result once every member has ended."""
    return {"corpus_id": corpus_id, "state": state, "result": result}


def dump_result(result: Mapping[str, Any]) -> bytes:
    return json.dumps(result, ensure_ascii=False).encode()


__all__ = [
    "CORPORA_PREFIX",
    "FAILURE",
    "MAX_CORPUS_BODY",
    "MAX_CORPUS_JOBS",
    "SUCCESS",
    "FileStatus",
    "corpus_counts_key",
    "corpus_objects",
    "corpus_result",
    "corpus_result_key",
    "corpus_view",
    "dump_result",
    "failure_reason",
    "is_corpus_id",
    "new_corpus_id",
    "stored_counts_key",
]
