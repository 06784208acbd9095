"""Options shared by several commands."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from wordfreq_service.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


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
    from wordfreq_service.counting.engine import CountOptions
    from wordfreq_service.counting.stopwords import load

    if mode == "seed" and min_length is not None:
        raise ConfigError("--min-length applies to words mode only")
    if mode == "seed" and encoding is not None:
        raise ConfigError("--encoding applies to words mode only (seed mode reads raw bytes)")
    stop = load(stopwords) if stopwords else frozenset()
    return CountOptions(
        mode=mode, top=top, min_length=min_length or 1, stopwords=stop, encoding=encoding
    )


def backend_options(func: F) -> F:
    decorators = [
        click.option(
            "--backend",
            type=click.Choice(["embedded", "aws"]),
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
        click.option("--debug", is_flag=True, help="Debug logs [env WORKER_DEBUG=1]."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
