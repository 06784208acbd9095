"""The ``wordfreq`` command line.

Every command turns wordfreq's own errors into one line on standard error and a
non-zero exit (2 for usage and configuration errors, 1 otherwise): never a traceback.

Start-up is part of every count, so this module imports nothing heavy: the click group
(``cli/group.py``) loads when a command needs parsing, and the plain ``wordfreq count
FILE...``, options all at their defaults, runs without click (``cli/plain.py``).
"""

from __future__ import annotations

import os
import sys

from wordfreq_service.errors import ConfigError, InputError, WordfreqError

TYPE_CHECKING = False  # not typing's: importing typing costs ~10 ms here
if TYPE_CHECKING:
    from typing import NoReturn

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def error_line(message: str) -> None:
    """Write one line to standard error (click may not be loaded: no click.echo)."""
    if sys.stderr is not None:  # started with standard error closed (`2>&-`)
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


def interrupted() -> NoReturn:
    error_line("wordfreq: interrupted")
    sys.exit(EXIT_INTERRUPTED)


#: What ``_run`` returns when a plain count has printed its result (flushed).
_COUNTED = object()


def _run(args: list[str]) -> object:
    from wordfreq_service.cli import plain

    files = plain.count_files(args)
    if files is not None:
        plain.count(files)
        # Here, where a closed pipe is still an error main() reports.
        sys.stdout.flush()
        return _COUNTED
    from wordfreq_service.cli import group

    return group.run(args)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    try:
        rv = _run(sys.argv[1:] if argv is None else list(argv))
    except KeyboardInterrupt:
        interrupted()
    except ConfigError as exc:
        error_line(f"wordfreq: error: {exc}")
        sys.exit(EXIT_USAGE)
    except MemoryError as exc:
        # The counting core reports a word table it could not grow; not a bug of ours.
        error_line(f"wordfreq: error: {exc or 'out of memory'}")
        sys.exit(EXIT_FAILURE)
    except (InputError, WordfreqError) as exc:
        error_line(f"wordfreq: error: {exc}")
        sys.exit(EXIT_FAILURE)
    except BrokenPipeError:
        # A closed pipe (`wordfreq count big.txt | head`) is not an error of ours.
        sys.stderr.close()
        sys.exit(EXIT_FAILURE)
    except Exception as exc:
        # A bug of ours still gets one line; WORDFREQ_TRACEBACK=1 shows the whole story.
        if os.environ.get("WORDFREQ_TRACEBACK") == "1":
            raise
        error_line(f"wordfreq: internal error: {type(exc).__name__}: {exc}")
        sys.exit(EXIT_FAILURE)
    if rv is _COUNTED and argv is None:
        # A plain count run as its own process ends without the interpreter's teardown
        # (freeing every module's objects, a last garbage collection): ~3 ms, a sixth of
        # its start-up here. It needs none: its output is flushed, it registers no exit
        # handler and leaves no thread, temporary file or child behind.
        sys.stderr.flush()
        os._exit(0)
    sys.exit(rv if isinstance(rv, int) else 0)
