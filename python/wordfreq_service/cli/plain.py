"""``wordfreq count FILE...`` with every option at its default, run without click.

Importing click (and typing, inspect, enum... with it) takes ~35 ms here, more than
the whole budget for starting a count; the commonest call needs no parsing at all, only
the file names. Anything else, even one option or ``--``, goes to click, so click stays
the only parser of options, and this path cannot accept what click would refuse: an
argument starting with ``-`` (other than ``-``, standard input) is never taken here.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: importing typing costs ~10 ms here
if TYPE_CHECKING:
    from collections.abc import Sequence

#: Set by a shell asking click for completions: that is click's business.
_COMPLETION_ENV = "_WORDFREQ_COMPLETE"


def count_files(args: Sequence[str]) -> list[str] | None:
    """The files of a plain ``count FILE...`` (no option anywhere), or None."""
    if len(args) < 2 or args[0] != "count" or _COMPLETION_ENV in os.environ:
        return None
    files = list(args[1:])
    if any(arg.startswith("-") and arg != "-" for arg in files):
        return None
    return files


def count(files: Sequence[str]) -> None:
    """What ``wordfreq count FILE...`` does through click, with the same defaults."""
    from wordfreq_service.cli.counting import count_and_print
    from wordfreq_service.counting.inputs import DEFAULT_MAX_INPUT_BYTES
    from wordfreq_service.formats.job_request import JobRequest

    count_and_print(files, JobRequest.make(), max_input_bytes=DEFAULT_MAX_INPUT_BYTES)
