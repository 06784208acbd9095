"""Which files a corpus holds: ``count --aggregate`` and ``submit --aggregate`` take files
and directories, and this turns them into the list of files to count, each on its own.

The rules (the README's "Aggregates" says the same):

* Arguments are taken in the order given. A file named as an argument is always in the
  corpus (hidden or not, whatever ``--glob`` says); a directory is walked recursively,
  its entries in sorted order (by name, code point by code point), files and
  sub-directories interleaved as ``sorted`` puts them.
* In a walk, entries whose names start with ``.`` are skipped (``.git``, editor swap
  files); a symbolic link to a file is followed, a symbolic link to a directory is not
  (no cycles, no counting a tree twice); anything that is not a regular file (a FIFO, a
  socket, a device) is skipped, since reading it could block for ever.
* ``--glob PATTERN`` (repeatable: any may match) keeps the files found in walks whose
  *name* matches, as ``find -name`` does (``*.txt``; ``fnmatch`` rules, case-sensitive).
* A file reached twice (named twice, or through two arguments) is counted once, where
  it first appears: the same real path.
* An argument that does not exist, or a directory that cannot be listed, is a failed
  entry of its own: reported like a file that cannot be counted, the rest go on.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from wordfreq_service.counting.inputs import describe_os_error
from wordfreq_service.errors import InputError


class NoFiles(InputError):
    """A corpus with no file to count."""


@dataclass(frozen=True)
class Corpus:
    #: Every entry in order: ``(path, None)`` for a file to count, ``(path, reason)``
    #: for an argument or a directory that could not be read.
    entries: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def files(self) -> list[str]:
        return [path for path, error in self.entries if error is None]


def find_corpus(arguments: Sequence[str], globs: Sequence[str] = ()) -> Corpus:
    """The corpus the arguments name (see the module's rules). Raises :class:`NoFiles`
    when nothing is left to count, nor anything to report."""
    entries: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for path, error, real in _entries(arguments, globs):
        if error is None:
            if real in seen:
                continue
            seen.add(real)
        entries.append((path, error))
    if not entries:
        where = ", ".join(arguments)
        also = f" matching {' or '.join(repr(g) for g in globs)}" if globs else ""
        raise NoFiles(f"no files{also} found in {where}")
    return Corpus(entries)


def _entries(
    arguments: Iterable[str], globs: Sequence[str]
) -> Iterator[tuple[str, str | None, str]]:
    """``(path, error, real path)`` of every entry (the real path of an error: its path)."""
    for argument in arguments:
        if argument == "-":
            yield argument, None, argument
            continue
        try:
            is_dir = stat.S_ISDIR(os.stat(argument).st_mode)
        except OSError as exc:
            yield argument, describe_os_error(exc), argument
            continue
        if is_dir:
            yield from _walk(argument, os.path.realpath(argument), globs)
        else:
            yield argument, None, os.path.realpath(argument)


def _walk(
    directory: str, real_directory: str, globs: Sequence[str]
) -> Iterator[tuple[str, str | None, str]]:
    """The walk of ``directory``, whose real path is ``real_directory``: an entry that is
    no link has its real path there, so ``realpath`` (a ``stat`` of every component)
    is needed only for links to files."""
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        yield directory, f"cannot list the directory: {describe_os_error(exc)}", directory
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(entry.path, os.path.join(real_directory, entry.name), globs)
                continue
            regular = entry.is_file(follow_symlinks=True)
            link = entry.is_symlink()
        except OSError as exc:
            yield entry.path, describe_os_error(exc), entry.path
            continue
        if not regular:
            continue  # a FIFO, socket, device, or a link to a directory or to nothing
        if globs and not any(fnmatch.fnmatchcase(entry.name, g) for g in globs):
            continue
        real = os.path.realpath(entry.path) if link else os.path.join(real_directory, entry.name)
        yield entry.path, None, real
