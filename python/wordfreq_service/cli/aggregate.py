"""What ``count --aggregate`` and ``submit --aggregate`` share: their options, the
progress bar, and how the sum and the per-file statuses are printed.

Text: the usual ``Top Words:`` block of the sum on standard output, and each failed file
as one line on standard error. ``--json``: exactly one object, ``{"total", "unique",
"words", "files"}`` (``formats.corpus``). Exit status 1 when any file failed, unless
``--allow-failures``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from wordfreq_service.formats.corpus import FileStatus

# Only what the options need is imported at start-up: `wordfreq count` without
# --aggregate must not pay for the corpus modules.
GLOB_HELP = (
    "With --aggregate: only the files found in directories whose name matches PATTERN, "
    "as find -name ('*.txt'; repeatable, any may match). Files named as arguments are "
    "always counted."
)


def aggregate_options(func: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.option(
            "--aggregate",
            is_flag=True,
            help="Count FILE... (files and directories, walked) as one corpus: each file "
            "on its own, their counts summed, with each file's status.",
        ),
        click.option("--glob", "globs", multiple=True, metavar="PATTERN", help=GLOB_HELP),
        click.option(
            "--allow-failures",
            is_flag=True,
            help="With --aggregate: exit 0 even when some files could not be counted.",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def refuse_without_aggregate(aggregate: bool, globs: Sequence[str], allow: bool) -> None:
    if not aggregate and (globs or allow):
        flag = "--glob" if globs else "--allow-failures"
        raise click.UsageError(f"{flag} needs --aggregate")


class Progress:
    """Files uploaded and files counted, as bars on standard error when it is a
    terminal; nothing otherwise."""

    def __init__(self, total: int, *, uploads: bool) -> None:
        self._bar: Any = None
        self._uploaded: Any = None
        self._counted: Any = None
        if not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import Progress as Bars

        self._bar = Bars(console=Console(stderr=True), transient=True)
        if uploads:
            self._uploaded = self._bar.add_task("files uploaded", total=total)
        self._counted = self._bar.add_task("files counted", total=total)

    def uploaded(self, _status: object = None) -> None:
        if self._bar is not None and self._uploaded is not None:
            self._bar.advance(self._uploaded)

    def counted(self, _status: object = None) -> None:
        if self._bar is not None:
            self._bar.advance(self._counted)

    @contextmanager
    def shown(self) -> Iterator[Progress]:
        if self._bar is None:
            yield self
            return
        with self._bar:
            yield self


def report(
    total: int,
    unique: int,
    words: Sequence[tuple[str, int]],
    files: Sequence[FileStatus],
    *,
    as_json: bool,
    allow_failures: bool,
    as_csv: bool = False,
    skipped: int = 0,
    language: str | None = None,
) -> int:
    """Print the aggregate (the sum's top words as text, JSON or CSV; the failures on
    standard error); returns the exit status."""
    from wordfreq_service.cli import output

    failed = [f for f in files if not f.ok]
    for status in failed:
        sys.stderr.write(f"wordfreq: error: {status.file}: {_one_line(status.status_message)}\n")
    if skipped and not as_json:
        # JSON has no field for it (its keys are fixed); the text keeps count's note.
        sys.stderr.write(
            f"wordfreq: note: {skipped} runs longer than the maximum word length were not counted\n"
        )
    if language is not None and not as_json:
        sys.stderr.write(output.language_note(language))
    if as_json:
        output.write_pieces(output.aggregate_json(total, unique, words, files, language))
    elif as_csv:
        output.write_pieces(output.words_csv(words))
    else:
        output.write_pieces(output.top_words_text(words))
    if failed:
        sys.stderr.write(
            f"wordfreq: {len(failed)} of {len(files)} files could not be counted"
            + (" (allowed)\n" if allow_failures else "\n")
        )
    return 1 if failed and not allow_failures else 0


def _one_line(text: str) -> str:
    return " ".join(text.split())
