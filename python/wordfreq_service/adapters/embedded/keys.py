"""Which object keys and bucket names the embedded store accepts.

S3 accepts almost any key; a store on a file system must refuse the ones that would
mean something else to a path: ``..`` or ``.`` segments, absolute paths, backslashes
(Windows separators) and NUL. The store never builds paths from keys (it hashes them),
so this is a second wall, and it keeps keys portable to tools that do.
"""

from __future__ import annotations

import re

from wordfreq_service.errors import ConfigError, InvalidKey

#: S3's limit, in UTF-8 bytes.
MAX_KEY_BYTES = 1024

_DRIVE = re.compile(r"[A-Za-z]:")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def validate_key(key: str) -> str:
    """Return ``key`` unchanged, or raise :class:`InvalidKey` saying why not."""
    if not isinstance(key, str) or not key:
        raise InvalidKey("object key is empty")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidKey(f"object key {key!r} is not valid Unicode text") from None
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidKey(f"object key is {len(encoded)} bytes; the limit is {MAX_KEY_BYTES}")
    if "\x00" in key:
        raise InvalidKey(f"object key {key!r} contains NUL")
    if "\\" in key:
        raise InvalidKey(f"object key {key!r} contains a backslash")
    if key.startswith("/") or _DRIVE.match(key):
        raise InvalidKey(f"object key {key!r} is an absolute path")
    if any(segment in (".", "..") for segment in key.split("/")):
        raise InvalidKey(f"object key {key!r} has a '.' or '..' segment")
    return key


def validate_bucket(name: str) -> str:
    """S3's bucket naming rule, which also makes the name a safe directory name."""
    if not _BUCKET.fullmatch(name) or ".." in name:
        raise ConfigError(f"bucket name {name!r}: use 3-63 lower-case letters, digits, '-' or '.'")
    return name
