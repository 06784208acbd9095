"""``wordfreq count``: count files directly, no service."""

from __future__ import annotations

import sys

import click
from click.core import ParameterSource

from wordfreq_service.cli.options import counting_options, input_limit_option, threads_option
from wordfreq_service.errors import ConfigError
from wordfreq_service.formats.job_request import JobRequest


@click.command()
@counting_options
@input_limit_option
@threads_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--csv", "as_csv", is_flag=True, help="Print words and counts as CSV: every word unless --top."
)
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def count(
    request: JobRequest,
    max_input_bytes: int,
    threads: int | None,
    as_json: bool,
    as_csv: bool,
    files: tuple[str, ...],
) -> None:
    """Count the words of FILE... together ('-' reads standard input).

    --csv lists every word unless --top is given explicitly."""
    from wordfreq_service.cli import output
    from wordfreq_service.counting.engine import count_files, summarize

    if as_json and as_csv:
        raise ConfigError("--json and --csv are exclusive")
    top_given = (
        click.get_current_context().get_parameter_source("top") is not ParameterSource.DEFAULT
    )
    counter = count_files(files, request, max_input_bytes=max_input_bytes, threads=threads)
    result = summarize(counter, request, every_word=as_csv and not top_given)
    if as_json:
        output.write_pieces(output.count_json(result))
        return
    if result.skipped:
        # JSON carries it as a field; the other formats keep the Go uploader's shape.
        sys.stderr.write(
            f"wordfreq: note: {result.skipped} runs longer than the maximum word length "
            "were not counted\n"
        )
    pieces = output.words_csv(result.words) if as_csv else output.top_words_text(result.words)
    output.write_pieces(pieces)
