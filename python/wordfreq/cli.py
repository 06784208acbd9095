"""The ``wordfreq`` command line.

Every command turns wordfreq's own errors into one line on standard error and a
non-zero exit (2 for usage and configuration errors, 1 otherwise): never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from wordfreq.errors import ConfigError, InputError, WordfreqError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILURE = 1
EXIT_USAGE = 2


def counting_options(func: F) -> F:
    """Options shared by every command that counts words."""
    decorators = [
        click.option(
            "--mode",
            type=click.Choice(["words", "seed"]),
            default="words",
            show_default=True,
            help="words: Unicode words; seed: the original Go worker's exact behaviour.",
        ),
        click.option(
            "--top",
            type=click.IntRange(min=0),
            default=10,
            show_default=True,
            help="How many of the most frequent words to show.",
        ),
        click.option(
            "--min-length",
            type=click.IntRange(min=1),
            default=None,
            help="Drop words shorter than this many characters (words mode; default 1).",
        ),
        click.option(
            "--stopwords",
            metavar="english|FILE",
            default=None,
            help="Drop stop words: the built-in English list or a file, one word a line.",
        ),
        click.option(
            "--encoding",
            type=click.Choice(["utf-8", "cp1252", "latin-1", "utf-16"]),
            default=None,
            help="Force a decoding (words mode). Default: BOM, else UTF-8 with "
            "per-byte Windows-1252 fallback.",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def build_options(
    mode: str,
    top: int | None,
    min_length: int | None,
    stopwords: str | None,
    encoding: str | None,
) -> Any:
    from wordfreq.engine import CountOptions
    from wordfreq.stopwords import load

    if mode == "seed" and min_length is not None:
        raise ConfigError("--min-length applies to words mode only")
    if mode == "seed" and encoding is not None:
        raise ConfigError("--encoding applies to words mode only (seed mode reads raw bytes)")
    stop = load(stopwords) if stopwords else frozenset()
    return CountOptions(
        mode=mode, top=top, min_length=min_length or 1, stopwords=stop, encoding=encoding
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wordfreq")
def cli() -> None:
    """Count word frequencies: directly, or through the upload -> queue -> worker service."""


@cli.command()
@counting_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--csv", "as_csv", is_flag=True, help="Print every word and its count as CSV.")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def count(
    mode: str,
    top: int,
    min_length: int | None,
    stopwords: str | None,
    encoding: str | None,
    as_json: bool,
    as_csv: bool,
    files: tuple[str, ...],
) -> None:
    """Count the words of FILE... together (``-`` reads standard input)."""
    from wordfreq import output
    from wordfreq.engine import count_files, summarize

    if as_json and as_csv:
        raise ConfigError("--json and --csv are exclusive")
    options = build_options(mode, None if as_csv else top, min_length, stopwords, encoding)
    result = summarize(count_files(files, options), options)
    if as_json:
        text = output.count_json(result.total, result.unique, result.words)
    elif as_csv:
        text = output.words_csv(result.words)
    else:
        text = output.top_words_text(result.words)
    sys.stdout.write(text)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    try:
        rv = cli.main(args=argv, prog_name="wordfreq", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("wordfreq: interrupted", err=True)
        sys.exit(130)
    except ConfigError as exc:
        click.echo(f"wordfreq: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except (InputError, WordfreqError) as exc:
        click.echo(f"wordfreq: error: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
    except BrokenPipeError:
        # A closed pipe (`wordfreq count big.txt | head`) is not an error of ours.
        sys.stderr.close()
        sys.exit(EXIT_FAILURE)
    except Exception as exc:
        # A bug of ours still gets one line; WORDFREQ_TRACEBACK=1 shows the whole story.
        if os.environ.get("WORDFREQ_TRACEBACK") == "1":
            raise
        click.echo(f"wordfreq: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
    sys.exit(rv if isinstance(rv, int) else 0)
