"""``wordfreq count``: count files directly, no service."""

from __future__ import annotations

import click
from click.core import ParameterSource

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
    from wordfreq_service.cli.counting import count_and_print

    source = click.get_current_context().get_parameter_source("top")
    count_and_print(
        files,
        request,
        max_input_bytes=max_input_bytes,
        threads=threads,
        as_json=as_json,
        as_csv=as_csv,
        top_given=source is not ParameterSource.DEFAULT,
    )
