"""The job API's request and response bodies as pydantic models: what ``/openapi.json``
describes and what FastAPI checks a request against.

The bodies themselves are made by ``formats.jobs`` (``job_view``, ``new_job_view``,
``error_view``); these models only describe them, and the API tests hold the two
together. ``POST /jobs``'s model is built from the job request's own option table
(``formats.job_request.OPTIONS``): the JSON names and ranges are written there once, and
the job request validates the options again, with its rules between them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import SkipJsonSchema

from wordfreq_service.counting.stopwords import ALIASES, LANGUAGES
from wordfreq_service.formats import job_request as jr
from wordfreq_service.formats.corpus import MAX_CORPUS_JOBS
from wordfreq_service.ports import CorpusState, JobState


def _within(bounds: tuple[int, int]) -> Any:
    return Annotated[int, Field(ge=bounds[0], le=bounds[1])]


#: Each option's JSON type and description; keyed by ``OPTIONS``' fields.
_OPTION_SCHEMA: Final[dict[str, tuple[Any, str]]] = {
    "mode": (str, f"One of {', '.join(jr.MODES)} (any case)."),
    "top": (_within(jr.TOP_RANGE), "How many of the most frequent words the result lists."),
    "min_length": (_within(jr.MIN_LENGTH_RANGE), "Shortest word counted (words mode)."),
    "max_word_length": (_within(jr.MAX_WORD_LENGTH_RANGE), "Longer runs are not counted."),
    "encoding": (str, f"One of {', '.join(jr.ENCODINGS)} (words mode)."),
    "stopwords": (
        str | list[str],
        f"{jr.AUTO} (detect the language), languages by ISO 639-1 code, comma-separated "
        f"({', '.join(LANGUAGES)}; {', '.join(ALIASES)} is en), or the words themselves.",
    ),
    "ngrams": (
        _within(jr.NGRAMS_RANGE),
        "Count phrases of this many consecutive words, each as its words joined by one "
        "space (words mode; default 1: single words).",
    ),
    "format": (
        str,
        f"One of {', '.join(jr.FORMATS)} (words mode): auto tells a document from the "
        "upload's content and counts its text; text counts the bytes as they are.",
    ),
}
if set(_OPTION_SCHEMA) != set(jr.OPTIONS):  # pragma: no cover - a new option needs a schema
    raise AssertionError("api.bodies: the job request's options and their schemas differ")


class _Strict(BaseModel):
    # JSON types as the schema says: no "5" for 5, no 5.0, no true; no unknown names.
    model_config = ConfigDict(strict=True, extra="forbid")


if TYPE_CHECKING:

    class NewJobRequest(_Strict):
        size: int

else:
    #: What makes an option optional without making it nullable in the schema.
    _ABSENT = SkipJsonSchema[None]
    #: ``POST /jobs``: the upload's exact size, and the job request's options, all
    #: optional. A null option is accepted here and refused by the job request, as the
    #: rest of its rules are, so the schema shows the options as non-null.
    NewJobRequest = create_model(
        "NewJobRequest",
        __base__=_Strict,
        size=(int, Field(ge=0, description="The upload's exact size in bytes.")),
        **{
            jr.OPTIONS[field].json: (kind | _ABSENT, Field(None, description=text))
            for field, (kind, text) in _OPTION_SCHEMA.items()
        },
    )


class NewJob(BaseModel):
    """``POST /jobs``' answer: send the file's bytes with ``upload_method`` to
    ``upload_url`` with exactly ``upload_headers``; read the result with ``token``."""

    job_id: str
    key: str
    upload_url: str
    upload_method: str
    upload_headers: dict[str, str]
    expires_at: str = Field(description="When the upload URL stops working (ISO 8601, UTC).")
    token: str


class WordCount(BaseModel):
    word: str
    count: int


class JobResultView(BaseModel):
    status: str
    status_message: str
    total: int | None
    unique: int | None
    words: list[WordCount]
    duration_ms: float
    mode: str | None = None
    skipped: int | None = None
    language: str | None = Field(
        None,
        description="With stopwords auto only: the language detected (ISO 639-1), or und.",
        exclude_if=lambda value: value is None,
    )


class JobView(BaseModel):
    job_id: str
    state: JobState
    result: JobResultView | None


class ErrorBody(BaseModel):
    error: str


class Health(BaseModel):
    status: str


class Unhealthy(BaseModel):
    status: str
    error: str


# -- corpus jobs ----------------------------------------------------------------------


class CorpusMember(_Strict):
    job_id: str = Field(description="A job's ID, from POST /jobs.")
    token: str = Field(description="That job's token: the right to read it.")


class NewCorpusRequest(_Strict):
    """``POST /corpora``: jobs created with the same options, counted as one."""

    jobs: list[CorpusMember] = Field(
        min_length=1,
        max_length=MAX_CORPUS_JOBS,
        description=f"The member jobs (1 to {MAX_CORPUS_JOBS}), each once.",
    )


class NewCorpus(BaseModel):
    """``POST /corpora``' answer: read the corpus with ``token``."""

    corpus_id: str
    token: str


class CorpusFile(BaseModel):
    job_id: str
    status: str
    status_message: str


class CorpusResultView(BaseModel):
    """The members' counts summed: ``total``, ``unique`` and the top ``words`` of the
    sum (the members' options), and how each member fared."""

    total: int
    unique: int
    language: str | None = Field(
        None,
        description="With stopwords auto only: the language detected in the sum, or und.",
        exclude_if=lambda value: value is None,
    )
    words: list[WordCount]
    files: list[CorpusFile]


class CorpusView(BaseModel):
    corpus_id: str
    state: CorpusState
    result: CorpusResultView | None = Field(
        description="Once every member has ended: the merged result."
    )
