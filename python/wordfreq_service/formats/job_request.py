"""The job request: the counting options one job carries, on every path it travels.

This module owns them: their names, defaults and ranges, the rules between them, and
their three spellings —

* command-line options (``--min-length``), built from ``OPTIONS`` by ``cli/options.py``;
* S3 user metadata on the uploaded object (``min-length``; S3 lower-cases names and
  allows only ASCII values, so a stop-word list is percent-encoded);
* the job API's JSON (``min_length``).

A request is validated once, when it is made, whichever spelling it came from: what the
worker would refuse, ``submit`` refuses before uploading anything. Choices (mode,
encoding, stop-word languages) are case-insensitive. The modes, encodings and the
word-length limits are the native core's; the request only chooses among them.

Options that apply to ``words`` mode only (``min_length``, ``encoding``) are ``None``
when not given, so that giving one with ``seed`` mode is an error on every path rather
than silently ignored. ``ngrams`` above 1 is ``words`` mode only too (1, single words,
is what seed mode counts anyway); the metadata and JSON carry it only above 1. So is
``format`` (``auto`` when not given): seed mode never extracts a document, so a document
format with it is an error, ``auto`` and ``text`` both mean the bytes as they are.
"""

from __future__ import annotations

from types import MappingProxyType

from wordfreq_service import _core
from wordfreq_service.counting.stopwords import (
    ALIASES,
    LANGUAGES,
    language_words,
    normalize_entries,
    read_file,
)
from wordfreq_service.documents import formats as document_formats
from wordfreq_service.errors import ConfigError
from wordfreq_service.frozen import Frozen

TYPE_CHECKING = False  # not typing's: `wordfreq count` imports this module, typing costs ~10 ms
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any, Final

MODES: Final[tuple[str, ...]] = _core.MODES
ENCODINGS: Final[tuple[str, ...]] = _core.ENCODINGS
WORDS_ONLY_MODE: Final = "words"
FORMATS: Final[tuple[str, ...]] = document_formats.FORMATS
DEFAULT_FORMAT: Final = document_formats.DEFAULT_FORMAT

DEFAULT_MODE: Final = "words"
DEFAULT_TOP: Final = 10
DEFAULT_MIN_LENGTH: Final = 1
#: Single words; 2 to ``_core.MAX_NGRAMS`` counts sequences of that many words.
DEFAULT_NGRAMS: Final = 1
#: Per mode: 1000 characters in ``words`` mode, 65536 bytes in ``seed`` mode (all the
#: original Go worker's scanner could hold), as the core defines them.
DEFAULT_MAX_WORD_LENGTH: Final[Mapping[str, int]] = MappingProxyType(_core.DEFAULT_MAX_WORD_LENGTH)

#: Inclusive ranges. ``top`` is bounded for sanity, not by the transport: a result message
#: cuts its word list to fit the queue (``formats/results.py``), and says so.
#: ``max_word_length`` is bounded by the core, so memory stays bounded by it.
TOP_RANGE: Final = (0, 100_000)
MIN_LENGTH_RANGE: Final = (1, 1000)
MAX_WORD_LENGTH_RANGE: Final[tuple[int, int]] = (1, _core.MAX_WORD_LENGTH_LIMIT)
NGRAMS_RANGE: Final[tuple[int, int]] = (1, _core.MAX_NGRAMS)

#: The most digits a whole number may have (more is no option's value).
_MAX_DIGITS: Final = 30

#: S3 allows 2 KB of user metadata in all; an inline stop-word list stays well inside it.
MAX_INLINE_STOPWORDS: Final = 1500

#: ``--stopwords auto``: detect the language from the counts, drop its stop words.
AUTO: Final = "auto"
#: What starts a ``stopwords`` metadata value that names languages (or ``auto``). Older
#: clients wrote a bare ``english`` for the English list and any other value as words,
#: percent-encoded (so never with a ``:``): the prefix keeps their ``it`` or ``auto`` the
#: words they were, and a bare ``english`` still travels for older workers.
LANGUAGES_METADATA_PREFIX: Final = "lang:"
#: The one language name older clients and workers know.
_OLD_LANGUAGE: Final = "english"


class RequestError(ConfigError):
    """A job request that no worker would carry out (a usage error wherever it is made)."""


class Option(Frozen):
    """One option's three spellings and its kind."""

    __slots__ = ("field", "metadata", "json", "flag")  # noqa: RUF023 (constructor order)
    field: str
    metadata: str  # S3 user metadata name (lower case)
    json: str  # job API JSON key
    flag: str  # command-line flag

    def __init__(self, field: str, metadata: str, json: str, flag: str) -> None:
        self._set(field=field, metadata=metadata, json=json, flag=flag)


OPTIONS: Final[dict[str, Option]] = {
    o.field: o
    for o in (
        Option("mode", "mode", "mode", "--mode"),
        Option("top", "top", "top", "--top"),
        Option("min_length", "min-length", "min_length", "--min-length"),
        Option("max_word_length", "max-word-length", "max_word_length", "--max-word-length"),
        Option("encoding", "encoding", "encoding", "--encoding"),
        Option("stopwords", "stopwords", "stopwords", "--stopwords"),
        Option("ngrams", "ngrams", "ngrams", "--ngrams"),
        Option("format", "format", "format", "--format"),
    )
}


def text_of(value: str, what: str) -> str:
    """``value`` if it is Unicode text that UTF-8 can carry: JSON's escapes can spell a
    lone surrogate (``"\\ud800"``), which no encoder, metadata header or word accepts."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RequestError(
            f"{what}: {value!r} is not valid text (a lone surrogate at {exc.start})"
        ) from None
    return value


def choose(value: str, choices: tuple[str, ...], what: str) -> str:
    """``value`` as the canonical spelling of one of ``choices``, ignoring case."""
    value = text_of(value, what)
    folded = value.strip().lower()
    for choice in choices:
        if choice.lower() == folded:
            return choice
    raise RequestError(f"{what}: {value!r} is not one of {', '.join(choices)}")


def _in_range(value: int, bounds: tuple[int, int], what: str) -> int:
    low, high = bounds
    if not low <= value <= high:
        raise RequestError(f"{what}: {value} is not in the range {low}..{high}")
    return value


def _whole_number(raw: object, what: str) -> int:
    # ASCII digits only, as Go's Atoi reads them: not "٣", "1_000" or " +7 ".
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= _MAX_DIGITS:
        return int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    raise RequestError(f"{what}: {raw!r} is not a whole number")


def _language_spec(value: str) -> str | None:
    """``value``'s canonical spelling (lower case, no spaces) when it names languages: a
    code, an alias, several comma-separated, or ``auto``; None when any item is none."""
    items = [item.strip().lower() for item in value.split(",")]
    known = all(item in LANGUAGES or item in ALIASES or item == AUTO for item in items)
    if not known:
        return None
    return ",".join(dict.fromkeys(items))


def _languages(value: str, what: str) -> str:
    """``value`` as a languages spec, or a ``RequestError`` naming the unknown ones and
    the choices."""
    value = text_of(value, what)
    spec = _language_spec(value)
    if spec is None:
        unknown = [item.strip() for item in value.split(",") if _language_spec(item) is None]
        choices = ", ".join(f"{code} ({name})" for code, name in LANGUAGES.items())
        raise RequestError(
            f"{what}: unknown language {', '.join(map(repr, unknown))}; expected "
            f"{AUTO}, {', '.join(ALIASES)} or ISO 639-1 codes, comma-separated: {choices}"
        )
    if AUTO in spec.split(",") and spec != AUTO:
        raise RequestError(f"{what}: {AUTO} detects the language; it takes no others")
    return spec


def _looks_like_codes(spec: str) -> bool:
    """Whether a command line's ``spec`` reads as language codes (two to four letters,
    comma-separated) rather than a file name."""
    items = [item.strip() for item in spec.split(",")]
    return all(2 <= len(i) <= 4 and i.isascii() and i.isalpha() for i in items)


class StopWords(Frozen):
    """Languages' lists by name (``builtin``: ISO 639-1 codes or aliases, comma-separated,
    or ``auto``), or the words themselves (normalised as words are)."""

    __slots__ = ("builtin", "words")
    builtin: str | None
    words: frozenset[str]

    def __init__(self, builtin: str | None = None, words: frozenset[str] = frozenset()) -> None:
        self._set(builtin=builtin, words=words)

    @property
    def empty(self) -> bool:
        return self.builtin is None and not self.words

    @property
    def auto(self) -> bool:
        return self.builtin == AUTO

    def canonical(self) -> StopWords:
        """The same lists spelled one way (aliases resolved, codes sorted): ``English``
        and ``en``, ``fr,de`` and ``de,fr`` drop the same words."""
        if not self.builtin or self.auto:
            return self
        codes = sorted({ALIASES.get(name, name) for name in self.builtin.split(",")})
        return StopWords(builtin=",".join(codes))

    def resolve(self) -> frozenset[str]:
        """The words dropped, for any request but ``auto`` (which needs the counts)."""
        if not self.builtin:
            return self.words
        codes = [ALIASES.get(name, name) for name in self.builtin.split(",")]
        if len(codes) == 1:
            return language_words(codes[0])
        return frozenset().union(*map(language_words, codes))

    @classmethod
    def of(cls, value: StopWords | str | Iterable[str] | None) -> StopWords:
        """What a library caller gives: languages (as ``--stopwords`` names them), or
        the words."""
        if value is None or isinstance(value, StopWords):
            return value or cls()
        if isinstance(value, str):
            return cls(builtin=_languages(value, "stopwords"))
        words = list(value)
        if not all(isinstance(w, str) for w in words):
            raise RequestError("stopwords: expected languages or a list of words")
        return cls(words=normalize_entries(text_of(w, "stopwords") for w in words))

    def to_metadata(self) -> str:
        """Languages as ``LANGUAGES_METADATA_PREFIX`` and their names (``english`` alone
        bare, as older workers read it), or the words percent-encoded and joined by
        commas; a trailing comma keeps the one-word list ``english`` a list."""
        if self.builtin:
            if self.builtin == _OLD_LANGUAGE:
                return self.builtin
            return LANGUAGES_METADATA_PREFIX + self.builtin
        from urllib.parse import quote

        inline = ",".join(quote(w, safe="") for w in sorted(self.words))
        if inline == _OLD_LANGUAGE:
            inline += ","
        if len(inline) > MAX_INLINE_STOPWORDS:
            raise RequestError(
                f"the stop-word list is too large to travel with the upload ({len(inline)} "
                f"bytes encoded, limit {MAX_INLINE_STOPWORDS}); use `wordfreq count` for "
                "large lists"
            )
        return inline

    @classmethod
    def from_spec(cls, spec: str) -> StopWords:
        """A command line's ``--stopwords``: languages (any case), else a file. A name
        that is both (a file called ``de``) is the language; ``./de`` is the file. A
        missing file whose name looks like language codes is an unknown language."""
        if _language_spec(spec) is not None:
            return cls(builtin=_languages(spec, "--stopwords"))
        import os.path

        if not os.path.exists(spec) and _looks_like_codes(spec):
            _languages(spec, "--stopwords")  # raises, listing the choices
        return cls(words=read_file(spec))

    @classmethod
    def from_metadata(cls, value: str) -> StopWords:
        # Languages only behind the prefix (or the bare name older clients wrote): an
        # older client's inline list stays words, even "it", "no" or "auto".
        if value[: len(LANGUAGES_METADATA_PREFIX)].lower() == LANGUAGES_METADATA_PREFIX:
            return cls(builtin=_languages(value[len(LANGUAGES_METADATA_PREFIX) :], "stopwords"))
        if value.strip().lower() == _OLD_LANGUAGE:
            return cls(builtin=_OLD_LANGUAGE)
        from urllib.parse import unquote

        return cls(words=normalize_entries(unquote(w) for w in value.split(",")))

    def to_json(self) -> str | list[str] | None:
        if self.builtin:
            return self.builtin
        return sorted(self.words) if self.words else None

    @classmethod
    def from_json(cls, value: object) -> StopWords:
        if value is None:
            return cls()
        if isinstance(value, str | list):
            return cls.of(value)
        raise RequestError("stopwords: expected languages or a list of words")


_NO_STOPWORDS = StopWords()


class JobRequest(Frozen):
    """The counting options of one job. Construct it through ``make`` or one of the
    ``from_*`` readers, which validate; the constructor itself trusts its fields.

    ``min_length``, ``max_word_length`` and ``encoding`` are ``None`` when not given: the
    mode's default applies, and the metadata carries only what was asked.
    """

    __slots__ = (  # noqa: RUF023 (constructor order)
        "mode",
        "top",
        "min_length",
        "max_word_length",
        "encoding",
        "stopwords",
        "ngrams",
        "format",
    )
    mode: str
    top: int
    min_length: int | None
    max_word_length: int | None
    encoding: str | None
    stopwords: StopWords
    ngrams: int
    #: ``--format``; None when not given (``auto``).
    format: str | None

    def __init__(
        self,
        mode: str = DEFAULT_MODE,
        top: int = DEFAULT_TOP,
        min_length: int | None = None,
        max_word_length: int | None = None,
        encoding: str | None = None,
        stopwords: StopWords = _NO_STOPWORDS,
        ngrams: int = DEFAULT_NGRAMS,
        format: str | None = None,
    ) -> None:
        self._set(
            mode=mode,
            top=top,
            min_length=min_length,
            max_word_length=max_word_length,
            encoding=encoding,
            stopwords=stopwords,
            ngrams=ngrams,
            format=format,
        )

    # -- validation ----------------------------------------------------------------

    @classmethod
    def make(
        cls,
        *,
        mode: str = DEFAULT_MODE,
        top: int | str = DEFAULT_TOP,
        min_length: int | str | None = None,
        max_word_length: int | str | None = None,
        encoding: str | None = None,
        stopwords: StopWords | str | Iterable[str] | None = None,
        ngrams: int | str | None = None,
        format: str | None = None,
        label: Mapping[str, str] | None = None,
    ) -> JobRequest:
        """Validate each option and the rules between them. ``label`` maps a field to
        the name errors should use (a flag, a metadata name, a JSON key)."""
        name = {f: (label or {}).get(f, o.flag) for f, o in OPTIONS.items()}
        for field, text, optional in (
            ("mode", mode, False),
            ("encoding", encoding, True),
            ("format", format, True),
        ):
            if not isinstance(text, str) and not (optional and text is None):
                raise RequestError(f"{name[field]}: {text!r} is not a string")
        mode = choose(mode, MODES, name["mode"])
        top_n = _in_range(_whole_number(top, name["top"]), TOP_RANGE, name["top"])
        longest = None
        if max_word_length is not None:
            longest = _in_range(
                _whole_number(max_word_length, name["max_word_length"]),
                MAX_WORD_LENGTH_RANGE,
                name["max_word_length"],
            )
        shortest = None
        if min_length is not None:
            shortest = _in_range(
                _whole_number(min_length, name["min_length"]),
                MIN_LENGTH_RANGE,
                name["min_length"],
            )
        if encoding is not None:
            encoding = choose(encoding, ENCODINGS, name["encoding"])
        sequence = DEFAULT_NGRAMS
        if ngrams is not None:
            sequence = _in_range(
                _whole_number(ngrams, name["ngrams"]), NGRAMS_RANGE, name["ngrams"]
            )
        if format is not None:
            format = choose(format, FORMATS, name["format"])
        _check_format(mode, format, encoding, name)
        if mode != WORDS_ONLY_MODE:
            words_only = (
                ("min_length", shortest),
                ("encoding", encoding),
                ("ngrams", sequence if sequence > DEFAULT_NGRAMS else None),
            )
            for field, value in words_only:
                if value is not None:
                    raise RequestError(
                        f"{name[field]} applies to words mode only "
                        f"({mode} mode reads raw bytes as the Go worker did)"
                    )
        stop = StopWords.of(stopwords)
        if mode != WORDS_ONLY_MODE and stop.auto:
            raise RequestError(
                f"{name['stopwords']} {AUTO} applies to words mode only "
                f"({mode} mode reads raw bytes as the Go worker did)"
            )
        limit = DEFAULT_MAX_WORD_LENGTH[mode] if longest is None else longest
        if shortest is not None and shortest > limit:
            raise RequestError(
                f"{name['min_length']} {shortest} is longer than {name['max_word_length']} "
                f"{limit}: no word could be counted"
            )
        return cls(mode, top_n, shortest, longest, encoding, stop, sequence, format)

    def counts_alike(self, other: JobRequest) -> bool:
        """Whether ``other`` counts and reports as this request does (stop-word lists
        compared by what they name, not how they were spelled)."""
        if self.stopwords.canonical() != other.stopwords.canonical():
            return False
        return all(getattr(self, f) == getattr(other, f) for f in OPTIONS if f != "stopwords")

    # -- what the counting engine asks of its options (``counting.engine.Options``) ----

    def new_counter(
        self, *, at_start: bool = True, threads: int | None = None, utf8: bool = False
    ) -> _core.Counter:
        """A counter for this request (see ``_core.Counter`` for ``at_start`` and
        ``threads``); ``utf8``: for a document's extracted text, UTF-8 whatever
        ``encoding`` says (it applied to the document's bytes)."""
        encoding = "utf-8" if utf8 else self.encoding
        return _core.Counter(
            self.mode,
            encoding,
            self.max_word_length,
            at_start=at_start,
            threads=threads,
            ngrams=self.ngrams,
        )

    @property
    def document_format(self) -> str:
        """``format``, or ``auto`` when not given."""
        return self.format or DEFAULT_FORMAT

    @property
    def extracts(self) -> bool:
        """Whether an input may be a document to extract (words mode, not ``text``)."""
        return self.mode == WORDS_ONLY_MODE and self.document_format != document_formats.TEXT

    @property
    def report_min_length(self) -> int:
        """The filter the report applies (seed mode keeps every token, even "")."""
        if self.mode != WORDS_ONLY_MODE:
            return 0
        return DEFAULT_MIN_LENGTH if self.min_length is None else self.min_length

    def stop_words(self) -> frozenset[str]:
        """The stop words of the lists asked for; none with ``auto``, whose list depends
        on the counts (``stop_words_for``). A job's full counts (its counts CSV) leave
        these out: with ``auto``, an aggregate then detects on the sum of every word."""
        return frozenset() if self.stopwords.auto else self.stopwords.resolve()

    def stop_words_for(self, counter: _core.Counter) -> tuple[frozenset[str], str | None]:
        """The stop words the report of ``counter`` (finished) drops, and the language
        ``auto`` detected in its counts (``UNDETERMINED``: none dropped); None when
        ``auto`` was not asked."""
        if not self.stopwords.auto:
            return self.stopwords.resolve(), None
        from wordfreq_service.counting.language import UNDETERMINED, language_of

        language = language_of(counter, self.report_min_length)
        if language == UNDETERMINED:
            return frozenset(), language
        return language_words(language), language

    # -- object metadata -------------------------------------------------------------

    def to_metadata(self) -> dict[str, str]:
        """The S3 user metadata that carries this request: mode and top always (the
        original workers' readers expect them), the rest only when asked for."""
        meta = {OPTIONS["mode"].metadata: self.mode, OPTIONS["top"].metadata: str(self.top)}
        for field, value in (
            ("min_length", self.min_length),
            ("max_word_length", self.max_word_length),
            ("encoding", self.encoding),
            ("format", self.format),
        ):
            if value is not None:
                meta[OPTIONS[field].metadata] = str(value)
        if not self.stopwords.empty:
            meta[OPTIONS["stopwords"].metadata] = self.stopwords.to_metadata()
        if self.ngrams != DEFAULT_NGRAMS:
            meta[OPTIONS["ngrams"].metadata] = str(self.ngrams)
        return meta

    @classmethod
    def from_metadata(cls, meta: Mapping[str, str], *, default_mode: str) -> JobRequest:
        """The request an uploaded object carries. An object without any (the original
        Go uploader sets none) gets ``default_mode`` and the defaults."""
        key = {f: o.metadata for f, o in OPTIONS.items()}
        get = {k.lower(): v for k, v in meta.items()}.get
        label = {f: f"{m} in object metadata" for f, m in key.items()}
        stop = get(key["stopwords"])
        return cls.make(
            mode=get(key["mode"]) or default_mode,
            top=get(key["top"]) or DEFAULT_TOP,
            min_length=get(key["min_length"]) or None,
            max_word_length=get(key["max_word_length"]) or None,
            encoding=get(key["encoding"]) or None,
            stopwords=StopWords.from_metadata(stop) if stop else None,
            ngrams=get(key["ngrams"]) or None,
            format=get(key["format"]) or None,
            label=label,
        )

    # -- job API JSON ------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {OPTIONS["mode"].json: self.mode, OPTIONS["top"].json: self.top}
        for field, value in (
            ("min_length", self.min_length),
            ("max_word_length", self.max_word_length),
            ("encoding", self.encoding),
            ("stopwords", self.stopwords.to_json()),
            ("format", self.format),
        ):
            if value is not None:
                body[OPTIONS[field].json] = value
        if self.ngrams != DEFAULT_NGRAMS:
            body[OPTIONS["ngrams"].json] = self.ngrams
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> JobRequest:
        key = {f: o.json for f, o in OPTIONS.items()}
        unknown = set(body) - set(key.values())
        if unknown:
            raise RequestError(f"unknown option(s): {', '.join(sorted(unknown))}")
        return cls.make(
            mode=body.get(key["mode"], DEFAULT_MODE),
            top=body.get(key["top"], DEFAULT_TOP),
            min_length=body.get(key["min_length"]),
            max_word_length=body.get(key["max_word_length"]),
            encoding=body.get(key["encoding"]),
            stopwords=StopWords.from_json(body.get(key["stopwords"])),
            ngrams=body.get(key["ngrams"]),
            format=body.get(key["format"]),
            label=key,
        )


def _check_format(
    mode: str, format: str | None, encoding: str | None, name: Mapping[str, str]
) -> None:
    """Seed mode reads bytes, never a document; ``encoding`` decodes bytes, which a PDF,
    DOCX, ODT or EPUB does not leave to it."""
    if format is None or format in (DEFAULT_FORMAT, document_formats.TEXT):
        return
    if mode != WORDS_ONLY_MODE:
        raise RequestError(
            f"{name['format']} {format} applies to words mode only "
            f"({mode} mode reads raw bytes as the Go worker did)"
        )
    if encoding is not None and format in document_formats.UNICODE_DOCUMENTS:
        raise RequestError(
            f"{name['encoding']} does not apply to {name['format']} {format}: its text is "
            "Unicode (it applies to text and to HTML)"
        )
