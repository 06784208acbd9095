"""Result messages: the seed's JSON field names, plus what the seed lacked.

The seed's Go uploader reads ``FileKey``, ``JobID``, ``Words`` (``Word``/``Count``),
``Duration`` (nanoseconds), ``Status`` and ``StatusMessage``; wordfreq adds ``Total``,
``Unique``, ``Mode``, ``Skipped`` and ``Language`` without renaming anything, and reads
results from the Go worker, which lack them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from wordfreq_service.errors import WordfreqError

SUCCESS = "success"
FAILURE = "failure"
#: The Go worker's StatusMessage on success; its uploader logged it ("Got response back").
SUCCESS_MESSAGE = "Success"
TRUNCATED_NOTE = "word list truncated to {kept} entries to fit a queue message"

#: SQS refuses messages over 1 MiB; results are cut well below that whatever --top asks.
MAX_RESULT_BYTES = 256 * 1024


class BadResult(WordfreqError):
    """A message on the result queue that is not a result."""


@dataclass
class JobResult:
    file_key: str
    job_id: str
    status: str
    status_message: str = ""
    words: list[tuple[str, int]] = field(default_factory=list)
    duration_ns: int = 0
    total: int | None = None
    unique: int | None = None
    mode: str | None = None
    #: Runs longer than the maximum word length, not counted (absent from Go results).
    skipped: int | None = None
    #: The ETag of the upload the result answers, as its event names it: two uploads to
    #: one key are told apart by it (absent from Go results, and on the job path).
    etag: str | None = None
    #: With ``--stopwords auto``: the language detected (ISO 639-1) or ``und``; else None.
    language: str | None = None

    @classmethod
    def success(
        cls,
        file_key: str,
        job_id: str,
        *,
        words: list[tuple[str, int]],
        total: int,
        unique: int,
        mode: str,
        skipped: int,
        language: str | None = None,
    ) -> JobResult:
        return cls(
            file_key,
            job_id,
            SUCCESS,
            SUCCESS_MESSAGE,
            words=words,
            total=total,
            unique=unique,
            mode=mode,
            skipped=skipped,
            language=language,
        )

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS

    @property
    def truncated(self) -> bool:
        """Whether the worker cut the word list to fit the message (its note then
        replaces the success message)."""
        prefix = TRUNCATED_NOTE.split("{", 1)[0]
        return self.ok and self.status_message.startswith(prefix)

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "FileKey": self.file_key,
            "JobID": self.job_id,
            "Words": [{"Word": w, "Count": c} for w, c in self.words],
            "Duration": self.duration_ns,
            "Status": self.status,
            "StatusMessage": self.status_message,
        }
        if self.total is not None:
            body["Total"] = self.total
        if self.unique is not None:
            body["Unique"] = self.unique
        if self.mode is not None:
            body["Mode"] = self.mode
        if self.skipped is not None:
            body["Skipped"] = self.skipped
        if self.etag is not None:
            body["ETag"] = self.etag
        if self.language is not None:
            body["Language"] = self.language
        return body

    def to_json(self) -> str:
        """The wire form, with the word list cut so the message stays under the limit."""
        body = self.to_wire()
        text = json.dumps(body, ensure_ascii=False)
        words = body["Words"]
        while len(text.encode()) > MAX_RESULT_BYTES and words:
            # Halving keeps this to a handful of passes even for --top in the millions.
            del words[len(words) // 2 :]
            body["StatusMessage"] = TRUNCATED_NOTE.format(kept=len(words))
            text = json.dumps(body, ensure_ascii=False)
        return text

    @classmethod
    def from_json(cls, text: str) -> JobResult:
        try:
            body = json.loads(text)
            words = [(str(w["Word"]), int(w["Count"])) for w in body.get("Words") or []]
            return cls(
                file_key=str(body["FileKey"]),
                job_id=str(body.get("JobID", "")),
                status=str(body.get("Status", "")),
                status_message=str(body.get("StatusMessage", "") or ""),
                words=words,
                duration_ns=int(body.get("Duration") or 0),
                total=_opt_int(body.get("Total")),
                unique=_opt_int(body.get("Unique")),
                mode=body.get("Mode"),
                skipped=_opt_int(body.get("Skipped")),
                etag=None if body.get("ETag") is None else str(body["ETag"]),
                language=None if body.get("Language") is None else str(body["Language"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BadResult(f"not a result message: {exc}") from exc


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
