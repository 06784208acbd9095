"""Options shared by several commands."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def counting_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The job request's options, shared by every command that counts words. The command
    receives them validated, as one ``request: JobRequest``; names, ranges and choices
    are the job-request format's (``formats/job_request.py``)."""
    from wordfreq_service.formats import job_request as jr

    flags = {field: option.flag for field, option in jr.OPTIONS.items()}

    @functools.wraps(func)
    def command(**kwargs: Any) -> Any:
        spec = kwargs.pop("stopwords")
        request = jr.JobRequest.make(
            mode=kwargs.pop("mode"),
            top=kwargs.pop("top"),
            min_length=kwargs.pop("min_length"),
            max_word_length=kwargs.pop("max_word_length"),
            encoding=kwargs.pop("encoding"),
            stopwords=jr.StopWords.from_spec(spec) if spec else None,
            ngrams=kwargs.pop("ngrams"),
            format=kwargs.pop("format"),
        )
        return func(request=request, **kwargs)

    decorators = [
        click.option(
            flags["mode"],
            type=click.Choice(jr.MODES, case_sensitive=False),
            default=jr.DEFAULT_MODE,
            show_default=True,
            help="words: Unicode words; seed: the original Go worker's exact behaviour.",
        ),
        click.option(
            flags["top"],
            type=click.IntRange(*jr.TOP_RANGE),
            default=jr.DEFAULT_TOP,
            show_default=True,
            help="How many of the most frequent words to show.",
        ),
        click.option(
            flags["min_length"],
            type=click.IntRange(*jr.MIN_LENGTH_RANGE),
            default=None,
            help=f"Drop words shorter than this many characters (words mode; default "
            f"{jr.DEFAULT_MIN_LENGTH}).",
        ),
        click.option(
            flags["max_word_length"],
            type=click.IntRange(*jr.MAX_WORD_LENGTH_RANGE),
            default=None,
            help="Longer runs are not counted as words, only reported as skipped "
            "(default: "
            + ", ".join(f"{n} in {m} mode" for m, n in jr.DEFAULT_MAX_WORD_LENGTH.items())
            + "; characters in words mode, bytes in seed mode).",
        ),
        click.option(
            flags["stopwords"],
            metavar="LANG[,LANG...]|auto|FILE",
            default=None,
            help="Drop stop words: languages' lists by ISO 639-1 code (en, fr, de, zh, ...; "
            "english is en; several comma-separated: their union; any case), auto (detect "
            "the language from the counts; words mode), or a file, one word a line (a name "
            "that is also a code is the language: write ./de for a file).",
        ),
        click.option(
            flags["encoding"],
            type=click.Choice(jr.ENCODINGS, case_sensitive=False),
            default=None,
            help="Force a decoding (words mode). Default: BOM, else UTF-8 with "
            "per-byte Windows-1252 fallback.",
        ),
        click.option(
            flags["ngrams"],
            type=click.IntRange(*jr.NGRAMS_RANGE),
            default=None,
            help="Count phrases of this many consecutive words, never across a sentence "
            f"end or paragraph break (words mode; default {jr.DEFAULT_NGRAMS}: single words).",
        ),
        click.option(
            flags["format"],
            type=click.Choice(jr.FORMATS, case_sensitive=False),
            default=None,
            help="What the input is (words mode): auto tells HTML, PDF, DOCX, ODT and EPUB "
            f"from the content and counts their text; text counts the bytes as they are "
            f"[default: {jr.DEFAULT_FORMAT}].",
        ),
    ]
    decorated: Callable[..., Any] = command
    for decorator in reversed(decorators):
        decorated = decorator(decorated)
    return decorated


def backend_options(func: F) -> F:
    decorators = [
        click.option(
            "--backend",
            type=click.Choice(["embedded", "aws"], case_sensitive=False),
            default="embedded",
            show_default=True,
            help="embedded: files + SQLite on this machine; aws: S3 + SQS.",
        ),
        click.option(
            "--data-dir",
            type=click.Path(file_okay=False),
            default=None,
            help="Embedded stack's data directory [env WORDFREQ_DATA_DIR; default: the "
            "per-user data directory].",
        ),
        click.option("--region", default=None, help="AWS region [env AWS_REGION, AWS config]."),
        click.option(
            "--debug", is_flag=True, help="Debug logs [env WORKER_DEBUG, read as Go's ParseBool]."
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def threads_option(func: F) -> F:
    """``--threads N``: how many threads count one input (a file, an object); the
    limit is the counting core's."""
    from wordfreq_service._core import MAX_THREADS

    return click.option(
        "--threads",
        type=click.IntRange(1, MAX_THREADS),
        default=None,
        help="Threads that count each input [default: all cores; with several workers, "
        "the cores divided among them].",
    )(func)


def threads_per_worker(threads: int | None, workers: int) -> int:
    """Each worker's counting threads: ``--threads`` when given, else the cores divided
    among the ``workers`` (at least one each), so that busy workers do not fight over
    them."""
    return threads if threads is not None else max(1, cores() // max(1, workers))


def cores() -> int:
    """The default number of workers and threads: the cores this process may run on (its
    affinity and cgroup quota, as the counting core counts them; at most
    ``MAX_WORKERS``)."""
    from wordfreq_service import _core

    return min(_core.cores(), MAX_WORKERS)


class ByteSize(click.ParamType[int]):
    """A size in bytes: ``1048576``, ``512M``, ``16GiB`` (K, M, G, T are binary units),
    from ``minimum`` (1 byte unless given) to ``MAXIMUM``."""

    name = "size"
    MAXIMUM: ClassVar[int] = 1 << 50  # 1 PiB: past any input worth waiting for
    _UNITS: ClassVar[dict[str, int]] = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}
    _SYNTAX: ClassVar[re.Pattern[str]] = re.compile(
        r"\s*(\d{1,20}(?:\.\d{1,20})?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE
    )

    def __init__(self, minimum: int = 1) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        match = self._SYNTAX.fullmatch(str(value))
        if match is None:
            self.fail(f"{value!r} is not a size (for example 500M or 16GiB)", param, ctx)
        # Decimal, not float: exact for every digit string the syntax lets through.
        from decimal import Decimal  # only a size given on the command line needs it

        size = int(Decimal(match.group(1)) * (1 << self._UNITS[match.group(2).lower()]))
        if not self.minimum <= size <= self.MAXIMUM:
            from wordfreq_service.counting.inputs import human_size

            low = "1 byte" if self.minimum == 1 else human_size(self.minimum)
            limit = human_size(self.MAXIMUM)
            self.fail(f"{value!r} is not between {low} and {limit}", param, ctx)
        return size


def input_limit_option(func: F) -> F:
    """The cap on one input's size after decompression: a bomb fails its job, it does
    not occupy a worker for hours."""
    from wordfreq_service.counting.inputs import DEFAULT_MAX_INPUT_BYTES, human_size

    return click.option(
        "--max-input-size",
        "max_input_bytes",
        type=ByteSize(),
        default=DEFAULT_MAX_INPUT_BYTES,
        show_default=human_size(DEFAULT_MAX_INPUT_BYTES),
        help="Largest input, after decompression, that is counted; past it the job fails.",
    )(func)


class Seconds(click.FloatRange):
    """A duration in seconds: a FloatRange that also refuses NaN (which passes any range
    check, every comparison with it being false, and would make a wait endless) and
    infinity."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return seconds


#: The most worker processes (`worker --concurrency`, `up --workers`) or threads
#: (`submit --workers`) one command runs: a few per core on the largest machines, and far
#: below what would exhaust memory or file descriptors.
MAX_WORKERS = 256
#: The type of every option that says how many workers to run.
WORKER_COUNT = click.IntRange(min=1, max=MAX_WORKERS)


def split_threshold_type() -> ByteSize:
    """``--split-threshold``'s sizes: none so small that its ranges (about half of it)
    would fall under ``MIN_PART_BYTES`` and flood the queue with tiny tasks."""
    from wordfreq_service.counting.ranges import MIN_SPLIT_THRESHOLD

    return ByteSize(minimum=MIN_SPLIT_THRESHOLD)


def split_threshold_option(func: F) -> F:
    """The size past which a worker splits an object into ranges for every worker."""
    from wordfreq_service.counting.inputs import human_size
    from wordfreq_service.counting.ranges import DEFAULT_SPLIT_THRESHOLD, SPLIT_THRESHOLD_ENV

    return click.option(
        "--split-threshold",
        "split_threshold",
        type=split_threshold_type(),
        default=None,
        help="Objects larger than this are split into byte ranges that all workers count "
        f"(needs a job store) [env {SPLIT_THRESHOLD_ENV}; default "
        f"{human_size(DEFAULT_SPLIT_THRESHOLD)}].",
    )(func)
