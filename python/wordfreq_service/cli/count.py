"""``wordfreq count``: count files directly, no service."""

from __future__ import annotations

import sys

import click

from wordfreq_service.cli.options import counting_options, input_limit_option
from wordfreq_service.errors import ConfigError
from wordfreq_service.formats.job_request import JobRequest


@click.command()
@counting_options
@input_limit_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--csv", "as_csv", is_flag=True, help="Print every word and its count as CSV.")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def count(
    request: JobRequest,
    max_input_bytes: int,
    as_json: bool,
    as_csv: bool,
    files: tuple[str, ...],
) -> None:
    """Count the words of FILE... together (``-`` reads standard input)."""
    from wordfreq_service.cli import output
    from wordfreq_service.counting.engine import count_files, summarize

    if as_json and as_csv:
        raise ConfigError("--json and --csv are exclusive")
    result = summarize(
        count_files(files, request, max_input_bytes=max_input_bytes), request, every_word=as_csv
    )
    if as_json:
        text = output.count_json(result.total, result.unique, result.words)
    elif as_csv:
        text = output.words_csv(result.words)
    else:
        text = output.top_words_text(result.words)
    sys.stdout.write(text)
