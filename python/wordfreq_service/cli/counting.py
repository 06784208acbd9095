"""What ``wordfreq count`` does once its options are parsed: count, summarise, print.

Free of click, so that the plain ``wordfreq count FILE...`` (``plain.py``) and the click
command (``count.py``) share it.
"""

from __future__ import annotations

import sys

from wordfreq_service.errors import ConfigError

TYPE_CHECKING = False  # not typing's: importing typing costs ~10 ms here
if TYPE_CHECKING:
    from collections.abc import Sequence

    from wordfreq_service.formats.job_request import JobRequest


def count_and_print(
    files: Sequence[str],
    request: JobRequest,
    *,
    max_input_bytes: int,
    threads: int | None = None,
    as_json: bool = False,
    as_csv: bool = False,
    top_given: bool = False,
) -> None:
    """Count ``files`` together on ``threads`` (None: every core) and print the result
    (text, ``as_json`` or ``as_csv``: every word unless ``top_given``)."""
    from wordfreq_service.cli import output
    from wordfreq_service.counting.engine import count_files, summarize

    if as_json and as_csv:
        raise ConfigError("--json and --csv are exclusive")
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
    if result.language is not None:
        sys.stderr.write(output.language_note(result.language))
    pieces = output.words_csv(result.words) if as_csv else output.top_words_text(result.words)
    output.write_pieces(pieces)
