"""``wordfreq count``: count files directly, no service."""

from __future__ import annotations

import click
from click.core import ParameterSource

from wordfreq_service.cli.aggregate import aggregate_options, refuse_without_aggregate
from wordfreq_service.cli.options import counting_options, input_limit_option, threads_option
from wordfreq_service.formats.job_request import JobRequest


@click.command()
@counting_options
@input_limit_option
@threads_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--csv", "as_csv", is_flag=True, help="Print words and counts as CSV: every word unless --top."
)
@aggregate_options
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def count(
    request: JobRequest,
    max_input_bytes: int,
    threads: int | None,
    as_json: bool,
    as_csv: bool,
    aggregate: bool,
    globs: tuple[str, ...],
    allow_failures: bool,
    files: tuple[str, ...],
) -> int | None:
    """Count the words of FILE... together ('-' reads standard input).

    --csv lists every word unless --top is given explicitly.

    With --aggregate, FILE... are files and directories (walked recursively in sorted
    order, skipping hidden entries and not following links to directories), each file
    counted on its own and the counts summed; --json then prints {"total", "unique",
    "words", "files"}, and a file that cannot be counted is reported on standard error
    and makes the exit status 1 (unless --allow-failures)."""
    from wordfreq_service.cli.counting import count_and_print
    from wordfreq_service.errors import ConfigError

    refuse_without_aggregate(aggregate, globs, allow_failures)
    top_given = (
        click.get_current_context().get_parameter_source("top") is not ParameterSource.DEFAULT
    )
    if aggregate:
        if as_json and as_csv:
            raise ConfigError("--json and --csv are exclusive")
        return _aggregate(
            request,
            files,
            globs,
            max_input_bytes=max_input_bytes,
            threads=threads,
            as_json=as_json,
            as_csv=as_csv,
            every_word=as_csv and not top_given,
            allow_failures=allow_failures,
        )
    count_and_print(
        files,
        request,
        max_input_bytes=max_input_bytes,
        threads=threads,
        as_json=as_json,
        as_csv=as_csv,
        top_given=top_given,
    )
    return None


def _aggregate(
    request: JobRequest,
    arguments: tuple[str, ...],
    globs: tuple[str, ...],
    *,
    max_input_bytes: int,
    threads: int | None,
    as_json: bool,
    as_csv: bool,
    every_word: bool,
    allow_failures: bool,
) -> int:
    from wordfreq_service.cli.aggregate import Progress, report
    from wordfreq_service.cli.options import cores
    from wordfreq_service.counting.aggregate import count_corpus
    from wordfreq_service.counting.corpus import find_corpus
    from wordfreq_service.counting.engine import summarize

    corpus = find_corpus(arguments, globs)
    progress = Progress(len(corpus.entries), uploads=False)
    with progress.shown():
        summed = count_corpus(
            corpus,
            request,
            # --threads is the whole budget here, shared between files and counters.
            threads=threads or cores(),
            max_input_bytes=max_input_bytes,
            on_counted=progress.counted,
        )
    result = summarize(summed.counter, request, every_word=every_word)
    return report(
        result.total,
        result.unique,
        result.words,
        summed.files,
        as_json=as_json,
        as_csv=as_csv,
        allow_failures=allow_failures,
        skipped=result.skipped,
        language=result.language,
    )
