"""The formats of an aggregate (a corpus counted as one): the per-file statuses and the
API's corpus job (IDs, keys, bodies).

* A file's status (``FileStatus``) is a result's: ``success`` with ``Success``, or
  ``failure`` with the reason; ``--json`` of ``count --aggregate``/``submit --aggregate``
  lists them (``cli.output.aggregate_json``).
* A corpus job (``POST /corpora``) groups jobs of the job service. Its ID is ``c``
  then 32 hex digits, so it can never be taken for a job's ID (``formats.jobs``). Once
  every member has ended, its merged counts are stored at ``results/<corpus_id>.csv.gz``
  (the format of a job's counts) and its result, the body ``GET /corpora/{id}`` shows,
  at ``results/<corpus_id>.json``: both under ``results/``, which workers ignore and the
  bucket expires with the jobs.
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

#: The most jobs one corpus job may group. Its record holds their IDs (33 bytes each),
#: which keeps a DynamoDB item (400 KB at most) far from full; ``submit --aggregate
#: --api`` makes as many corpora as a larger corpus needs.
MAX_CORPUS_JOBS: Final = 5000
#: ``POST /corpora``'s largest body: MAX_CORPUS_JOBS members of about 110 bytes each
#: (``{"job_id": "<32>", "token": "<43>"}, ``) with room to spare.
MAX_CORPUS_BODY: Final = 1 << 20

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
    def failure(cls, file: str, reason: str) -> FileStatus:
        return cls(file, FAILURE, reason)


# -- the corpus job ---------------------------------------------------------------------


def new_corpus_id() -> str:
    return "c" + uuid.uuid4().hex


def is_corpus_id(text: str) -> bool:
    return bool(_CORPUS_ID.fullmatch(text))


def corpus_counts_key(corpus_id: str) -> str:
    """Where the merged counts go: a job's counts key, under the corpus's ID."""
    return counts_key(corpus_id)


def corpus_result_key(corpus_id: str) -> str:
    return f"{RESULTS_PREFIX}{corpus_id}.json"


def corpus_objects(corpus_id: str) -> tuple[str, str]:
    """Every key a corpus job owns in the bucket; an expired one's go with it."""
    return corpus_counts_key(corpus_id), corpus_result_key(corpus_id)


def corpus_result(
    total: int,
    unique: int,
    words: Sequence[tuple[str, int]],
    members: Iterable[tuple[str, str, str]],
) -> dict[str, Any]:
    """The merged result of a corpus job: ``members`` are ``(job_id, status,
    status_message)`` in the order the corpus was created with."""
    return {
        "total": total,
        "unique": unique,
        "words": [{"word": w, "count": c} for w, c in words],
        "files": [
            {"job_id": job_id, "status": status, "status_message": message}
            for job_id, status, message in members
        ],
    }


def corpus_view(corpus_id: str, state: str, result: Mapping[str, Any] | None) -> dict[str, Any]:
    """``GET /corpora/{id}``: the state, and the result once every member has ended."""
    return {"corpus_id": corpus_id, "state": state, "result": result}


def dump_result(result: Mapping[str, Any]) -> bytes:
    return json.dumps(result, ensure_ascii=False).encode()
