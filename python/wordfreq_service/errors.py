"""Every error wordfreq raises on purpose, under one root.

    WordfreqError
    ├── InputError          bad user input: unreadable file, corrupt or oversized stream
    ├── ConfigError         missing or contradictory configuration (CLI exit 2)
    │   └── RequestError        a job request no worker would carry out (formats.job_request)
    ├── OutputError         standard output did not take the result (cli.output)
    ├── BadResult           a result-queue message that is not a result (formats.results)
    ├── Unprocessable       a message no worker can ever process (service.worker.job)
    ├── Abandoned           a job given up at the drain deadline (service.worker.job)
    ├── BadMessage          a queue message that is not what its producer promised
    └── BackendError        an object store or queue failed
        ├── InvalidKey          a key that could escape the store or is malformed
        ├── UnsafePath          a symbolic link inside the data directory (not followed)
        ├── NoSuchKey           the object is not there (permanent for that job)
        ├── NoSuchQueue         the queue does not exist
        ├── ReceiptHandleInvalid  the receipt handle is stale or unknown
        ├── JobExists           a new job's ID is taken already (job store)
        └── TransientError      unavailable right now; retrying later may work

The CLI prints ``wordfreq: error: message`` on one line for any of these and exits
non-zero (2 for configuration and usage errors, 1 otherwise); services log them and carry
on.
"""

from __future__ import annotations


class WordfreqError(Exception):
    """Root of wordfreq's own errors."""


class InputError(WordfreqError):
    """The user's input cannot be read or counted."""


class ConfigError(WordfreqError):
    """Configuration is missing or inconsistent."""


class BadMessage(WordfreqError):
    """A queue message body is not valid JSON or not the expected shape or version.

    Permanent for that message: services log it and delete or dead-letter it."""


class BackendError(WordfreqError):
    """An object store or message queue operation failed."""


class InvalidKey(BackendError):
    """An object key that is empty, absolute, contains NUL or escapes the store."""


class UnsafePath(BackendError):
    """A symbolic link where the embedded stack keeps a file or directory of its own:
    refused rather than followed out of the data directory; so is a file of another
    kind than the stack makes there (a named pipe in place of an object)."""


class NoSuchKey(BackendError):
    """The object does not exist."""


class NoSuchQueue(BackendError):
    """The queue does not exist."""


class ReceiptHandleInvalid(BackendError):
    """The receipt handle does not name a message currently received."""


class JobExists(BackendError):
    """A job store asked to create a job whose ID is taken (IDs are random: a bug)."""


class SplitPlanMismatch(BackendError):
    """A part recorded against a split whose record holds another part count. The split
    ID names its plan, so only a damaged range task gets here: refused, never merged."""


class TransientError(BackendError):
    """The backend is unavailable; the operation may succeed if retried later."""
