"""How results are printed: the original Go uploader's text, JSON, CSV.

Every format is a generator of pieces, and :func:`write_pieces` writes them in bounded
chunks: a document as large as the vocabulary is never one string, and no single
``write()`` comes near the kernel's 2 GiB cut-off (Linux returns at most 0x7ffff000 bytes
per call). A write that makes no progress or fails is an :class:`OutputError`, so a
truncated output never exits 0.
"""

from __future__ import annotations

import codecs
import io
import sys

from wordfreq_service.errors import WordfreqError

TYPE_CHECKING = False  # not typing's: `wordfreq count` imports this module, typing costs ~10 ms
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from typing import Protocol

    from wordfreq_service.counting.engine import CountResult
    from wordfreq_service.formats.corpus import FileStatus
    from wordfreq_service.formats.results import JobResult

    class _Writable(Protocol):
        def write(self, data: bytes, /) -> int | None: ...

        def flush(self) -> None: ...


#: The Go uploader gave words of at most this many UTF-8 bytes (Go's ``len``) a second
#: tab, so that counts line up for short words.
GO_SHORT_WORD_BYTES = 5
#: Bytes gathered before each write: big enough to be cheap, far below any OS limit.
WRITE_CHUNK_BYTES = 1 << 16
CSV_ROWS_PER_PIECE = 1024

# Go's encoding/json turns each lone surrogate escape into U+FFFD; do the same when a
# word from a foreign result message carries one, instead of failing to encode it.
_GO_REPLACE = "wordfreq-go-replace"


def _go_replace(exc: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    # Bytes, not text: the UTF-8 encoder takes only ASCII text from an error handler.
    return "\ufffd".encode() * (exc.end - exc.start), exc.end


codecs.register_error(_GO_REPLACE, _go_replace)


class OutputError(WordfreqError):
    """Standard output did not take everything written to it."""


def utf8(text: str) -> bytes:
    return text.encode("utf-8", _GO_REPLACE)


# --- Go's time.Duration.String ------------------------------------------------------

# Below one second Go switches to the largest unit that keeps a non-zero leading digit:
# (upper bound in nanoseconds, digits after the point, unit).
_SUB_SECOND = ((1_000, 0, "ns"), (1_000_000, 3, "µs"), (1_000_000_000, 6, "ms"))


def _decimal(value: int, prec: int) -> str:
    """``value / 10**prec`` without trailing zeros (nor the point when none are left)."""
    whole, frac = divmod(value, 10**prec)
    digits = f"{frac:0{prec}d}".rstrip("0") if prec else ""
    return f"{whole}.{digits}" if digits else str(whole)


def go_duration(nanoseconds: int) -> str:
    """Format a duration exactly as Go's ``time.Duration.String`` does: ``850ns``,
    ``1.2µs``, ``19.569804ms``, ``1.5s``, ``2m3.5s``, ``1h0m0s``, ``0s``."""
    sign = "-" if nanoseconds < 0 else ""
    u = abs(nanoseconds)
    if u == 0:
        return "0s"
    for limit, prec, unit in _SUB_SECOND:
        if u < limit:
            return f"{sign}{_decimal(u, prec)}{unit}"
    seconds, frac = divmod(u, 1_000_000_000)
    text = f"{_decimal((seconds % 60) * 1_000_000_000 + frac, 9)}s"
    minutes = seconds // 60
    if minutes:
        text = f"{minutes % 60}m{text}"
        hours = minutes // 60
        if hours:  # Go stops at hours: days differ in length
            text = f"{hours}h{text}"
    return sign + text


# --- text, as the Go uploader printed it ----------------------------------------------


def top_words_text(words: Iterable[tuple[str, int]]) -> Iterator[str]:
    """``Top Words:``, then ``- word<TAB>count``, with a second tab for short words."""
    yield "Top Words:\n"
    for word, count in words:
        tabs = "\t\t" if len(utf8(word)) <= GO_SHORT_WORD_BYTES else "\t"
        yield f"- {word}{tabs}{count}\n"


def job_text(result: JobResult) -> Iterator[str]:
    """One job's block, byte for byte as the Go uploader's ``printResult``."""
    from wordfreq_service.formats.results import FAILURE

    yield f"Job Results completed in {go_duration(result.duration_ns)} for {result.job_id}\n"
    if result.status == FAILURE:  # the Go uploader's test: any other status lists words
        yield f"Failed: {result.status_message}\n"
        return
    yield from top_words_text(result.words)


def language_note(language: str, where: str = "") -> str:
    """The standard-error line that says what ``--stopwords auto`` found (text and CSV
    outputs; JSON carries it as ``"language"``)."""
    from wordfreq_service.counting.language import UNDETERMINED
    from wordfreq_service.counting.stopwords import LANGUAGES

    # The code comes off the wire (a result message, a corpus): a newer worker may know
    # a language this client does not.
    name = LANGUAGES.get(language)
    if language == UNDETERMINED:
        found = "no language detected with confidence; no stop words dropped"
    elif name is None:
        found = (
            f"language detected: {language!r} (a code this wordfreq does not know); "
            "its stop words dropped"
        )
    else:
        found = f"language detected: {language} ({name}); its stop words dropped"
    return f"wordfreq: note: {where}{found}\n"


def file_header(path: str, first: bool) -> str:
    """Names the file before its block when ``submit`` has several, as ``head`` does."""
    return ("" if first else "\n") + f"==> {path} <==\n"


# --- JSON and CSV ---------------------------------------------------------------------


def words_json(words: Iterable[tuple[str, int]]) -> Iterator[str]:
    """A JSON array of ``{"word", "count"}`` objects, a piece per word."""
    import json  # text output never needs it

    yield "["
    for i, (word, count) in enumerate(words):
        text = json.dumps(word, ensure_ascii=False)
        yield f'{", " if i else ""}{{"word": {text}, "count": {int(count)}}}'
    yield "]"


def json_object(fields: dict[str, object], words: Sequence[tuple[str, int]]) -> Iterator[str]:
    """``fields`` then ``"words"`` as one JSON object on one line, the same text
    ``json.dumps`` would give, without ever holding it whole."""
    import json

    head = json.dumps(fields, ensure_ascii=False)
    yield head[:-1] + (', "words": ' if fields else '"words": ')
    yield from words_json(words)
    yield "}\n"


def count_json(result: CountResult) -> Iterator[str]:
    fields: dict[str, object] = {
        "total": result.total,
        "unique": result.unique,
        "skipped": result.skipped,
    }
    if result.language is not None:
        fields["language"] = result.language
    return json_object(fields, result.words)


def words_csv(words: Iterable[tuple[str, int]]) -> Iterator[str]:
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("word", "count"))
    for rows, row in enumerate(words, 1):
        writer.writerow(row)
        if rows % CSV_ROWS_PER_PIECE == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


# --- writing ------------------------------------------------------------------------


def _stdout() -> _Writable:
    if sys.stdout is None:  # started with standard output closed (`>&-`)
        raise OutputError("standard output is closed")
    sys.stdout.flush()  # anything already written as text goes first
    return sys.stdout.buffer


def write_pieces(pieces: Iterable[str], out: _Writable | None = None) -> None:
    """Write ``pieces`` as UTF-8 to ``out`` (standard output), in bounded chunks, all of
    them or an :class:`OutputError`."""
    stream = out if out is not None else _stdout()
    pending: list[bytes] = []
    size = 0
    for piece in pieces:
        data = utf8(piece)
        pending.append(data)
        size += len(data)
        if size >= WRITE_CHUNK_BYTES:
            _write_all(stream, b"".join(pending))
            pending.clear()
            size = 0
    _write_all(stream, b"".join(pending))
    try:
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write to standard output: {exc}") from exc


def _write_all(stream: _Writable, data: bytes) -> None:
    done = 0
    while done < len(data):
        try:
            # A chunk is small, but a stream may still take only part of it (a raw
            # file, a non-blocking pipe): go on from where it stopped.
            n = stream.write(data[done:] if done else data)
        except BrokenPipeError:
            raise  # the reader left (`| head`): the CLI exits quietly
        except OSError as exc:
            raise OutputError(f"cannot write to standard output: {exc}") from exc
        if not n:
            raise OutputError(
                f"standard output stopped accepting data ({done} of {len(data)} bytes "
                "of a chunk written)"
            )
        done += n


# --- aggregates (count --aggregate, submit --aggregate) -------------------------------


def aggregate_json(
    total: int,
    unique: int,
    words: Sequence[tuple[str, int]],
    files: Iterable[FileStatus],
    language: str | None = None,
) -> Iterator[str]:
    """Exactly ``{"total", "unique", "words": [{"word", "count"}], "files": [{"file",
    "status", "status_message"}]}`` on one line, as ``json.dumps`` would write it, in
    pieces (the word list can be as long as the vocabulary); with ``--stopwords auto``,
    ``"language"`` follows ``"unique"``."""
    import json

    yield f'{{"total": {int(total)}, "unique": {int(unique)}, '
    if language is not None:
        yield f'"language": {json.dumps(language)}, '
    yield '"words": '
    yield from words_json(words)
    yield ', "files": ['
    for i, status in enumerate(files):
        body = {
            "file": status.file,
            "status": status.status,
            "status_message": status.status_message,
        }
        yield (", " if i else "") + json.dumps(body, ensure_ascii=False)
    yield "]}\n"
