"""The ``wordfreq`` command group: click, and each command's module, load only when used."""

from __future__ import annotations

import importlib
import sys
from typing import ClassVar

import click


class _LazyGroup(click.Group):
    """Imports a command's module only when that command runs, so `wordfreq count` does
    not pay for the service modules at start-up. ``--help`` imports them all, to list each
    with its short help."""

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


def run(args: list[str]) -> object:
    """Parse ``args`` and run the command; click's own errors end the process here, as
    one line (the others are the caller's)."""
    from wordfreq_service.cli import EXIT_USAGE, error_line, interrupted

    try:
        return cli.main(args=args, prog_name="wordfreq", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        # One line, like every other error: the message names the option and the range.
        command = exc.ctx.command_path if exc.ctx else "wordfreq"
        error_line(f"wordfreq: error: {exc.format_message()} (see '{command} --help')")
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        interrupted()
