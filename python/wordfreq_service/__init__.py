"""wordfreq: event-driven word-frequency counting.

The public Python API counts words directly, without the service::

    from wordfreq_service import ENGLISH_STOPWORDS, CountOptions, count_files, summarize

    options = CountOptions(top=5, stopwords=ENGLISH_STOPWORDS)
    result = summarize(count_files(["book.txt"], options), options)
    print(result.total, result.unique)
    for word, count in result.words:
        print(word, count)

``Counter`` is the streaming counter underneath (feed it byte chunks, merge counters,
then ``summarize``); ``count_chunks`` counts any iterable of byte chunks. Errors are
``WordfreqError`` and its subclasses (``InputError`` for unreadable input).

Names load on first use, so ``import wordfreq_service`` stays cheap for the command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "ENCODINGS",
    "ENGLISH_STOPWORDS",
    "MODES",
    "ConfigError",
    "CountOptions",
    "CountResult",
    "Counter",
    "InputError",
    "WordfreqError",
    "count_chunks",
    "count_files",
    "load_stopwords",
    "summarize",
]

# Public name -> (module, name there).
_EXPORTS: dict[str, tuple[str, str]] = {
    "ENCODINGS": ("wordfreq_service.counting.engine", "ENCODINGS"),
    "MODES": ("wordfreq_service.counting.engine", "MODES"),
    "CountOptions": ("wordfreq_service.counting.engine", "CountOptions"),
    "CountResult": ("wordfreq_service.counting.engine", "CountResult"),
    "Counter": ("wordfreq_service.counting.engine", "Counter"),
    "count_chunks": ("wordfreq_service.counting.engine", "count_chunks"),
    "count_files": ("wordfreq_service.counting.engine", "count_files"),
    "summarize": ("wordfreq_service.counting.engine", "summarize"),
    "ENGLISH_STOPWORDS": ("wordfreq_service.counting.stopwords", "ENGLISH"),
    "load_stopwords": ("wordfreq_service.counting.stopwords", "load"),
    "ConfigError": ("wordfreq_service.errors", "ConfigError"),
    "InputError": ("wordfreq_service.errors", "InputError"),
    "WordfreqError": ("wordfreq_service.errors", "WordfreqError"),
}

if TYPE_CHECKING:
    from wordfreq_service.counting.engine import (
        ENCODINGS,
        MODES,
        Counter,
        CountOptions,
        CountResult,
        count_chunks,
        count_files,
        summarize,
    )
    from wordfreq_service.counting.stopwords import ENGLISH as ENGLISH_STOPWORDS
    from wordfreq_service.counting.stopwords import load as load_stopwords
    from wordfreq_service.errors import ConfigError, InputError, WordfreqError


if not TYPE_CHECKING:  # type checkers see the imports above, so a misspelt name is caught

    def __getattr__(name: str) -> Any:
        try:
            module, attribute = _EXPORTS[name]
        except KeyError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value  # later lookups skip this function
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
