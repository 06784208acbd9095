"""wordfreq: event-driven word-frequency counting.

The public Python API counts words directly, without the service::

    from wordfreq_service import JobRequest, StopWords, count_files, summarize

    request = JobRequest.make(top=5, stopwords=StopWords.from_spec("english"))
    result = summarize(count_files(["book.txt"], request), request)
    print(result.total, result.unique)
    for word, count in result.words:
        print(word, count)

``JobRequest.make`` validates the options (``RequestError`` names the one out of range);
``Counter`` is the streaming counter underneath (feed it byte chunks, merge counters,
then ``summarize``); ``count_chunks`` counts any iterable of byte chunks. Errors are
``WordfreqError`` and its subclasses (``InputError`` for unreadable input).

Names load on first use, so ``import wordfreq_service`` stays cheap for the command line.
"""

from __future__ import annotations

# Not ``from typing import TYPE_CHECKING``: typing alone costs ~10 ms of start-up here,
# and type checkers treat any name ``TYPE_CHECKING`` as true.
TYPE_CHECKING = False

__all__ = [
    "ENCODINGS",
    "MODES",
    "ConfigError",
    "CountResult",
    "Counter",
    "InputError",
    "JobRequest",
    "RequestError",
    "StopWords",
    "WordfreqError",
    "count_chunks",
    "count_files",
    "summarize",
]

# Public name -> (module, name there).
_EXPORTS: dict[str, tuple[str, str]] = {
    "ENCODINGS": ("wordfreq_service.formats.job_request", "ENCODINGS"),
    "MODES": ("wordfreq_service.formats.job_request", "MODES"),
    "JobRequest": ("wordfreq_service.formats.job_request", "JobRequest"),
    "RequestError": ("wordfreq_service.formats.job_request", "RequestError"),
    "StopWords": ("wordfreq_service.formats.job_request", "StopWords"),
    "CountResult": ("wordfreq_service.counting.engine", "CountResult"),
    "Counter": ("wordfreq_service.counting.engine", "Counter"),
    "count_chunks": ("wordfreq_service.counting.engine", "count_chunks"),
    "count_files": ("wordfreq_service.counting.engine", "count_files"),
    "summarize": ("wordfreq_service.counting.engine", "summarize"),
    "ConfigError": ("wordfreq_service.errors", "ConfigError"),
    "InputError": ("wordfreq_service.errors", "InputError"),
    "WordfreqError": ("wordfreq_service.errors", "WordfreqError"),
}

if TYPE_CHECKING:
    from wordfreq_service.counting.engine import (
        Counter,
        CountResult,
        count_chunks,
        count_files,
        summarize,
    )
    from wordfreq_service.errors import ConfigError, InputError, WordfreqError
    from wordfreq_service.formats.job_request import (
        ENCODINGS,
        MODES,
        JobRequest,
        RequestError,
        StopWords,
    )


if not TYPE_CHECKING:  # type checkers see the imports above, so a misspelt name is caught

    def __getattr__(name: str) -> object:
        try:
            module, attribute = _EXPORTS[name]
        except KeyError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        import importlib

        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value  # later lookups skip this function
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
