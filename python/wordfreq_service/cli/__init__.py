"""The ``wordfreq`` command line.

Every command turns wordfreq's own errors into one line on standard error and a
non-zero exit (2 for usage and configuration errors, 1 otherwise): never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import ClassVar

import click

from wordfreq_service.errors import ConfigError, InputError, WordfreqError

EXIT_FAILURE = 1
EXIT_USAGE = 2


class _LazyGroup(click.Group):
    """Imports a command's module only when that command runs, so `wordfreq count` does
    not pay for the service modules at start-up."""

    COMMANDS: ClassVar[dict[str, str]] = {
        "api": "wordfreq_service.cli.api",
        "count": "wordfreq_service.cli.count",
        "submit": "wordfreq_service.cli.submit",
        "up": "wordfreq_service.cli.services",
        "worker": "wordfreq_service.cli.services",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = self.COMMANDS.get(cmd_name)
        if module is None:
            return None
        command = getattr(importlib.import_module(module), cmd_name)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wordfreq-service")
def cli() -> None:
    """Count word frequencies: directly, or through the upload -> queue -> worker service."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    try:
        rv = cli.main(args=argv, prog_name="wordfreq", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        # One line, like every other error: the message names the option and the range.
        command = exc.ctx.command_path if exc.ctx else "wordfreq"
        click.echo(f"wordfreq: error: {exc.format_message()} (see '{command} --help')", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("wordfreq: interrupted", err=True)
        sys.exit(130)
    except ConfigError as exc:
        click.echo(f"wordfreq: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except MemoryError as exc:
        # The counting core reports a word table it could not grow; not a bug of ours.
        click.echo(f"wordfreq: error: {exc or 'out of memory'}", err=True)
        sys.exit(EXIT_FAILURE)
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
