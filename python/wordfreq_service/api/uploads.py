"""Upload URLs the API signs itself, for stores that have none of their own (the
embedded stack's file store).

They work like S3's pre-signed PUTs: the URL carries an expiry and an HMAC-SHA256
signature over the job ID, the exact size, the expiry and the upload's metadata, so
whoever holds the URL may store exactly that body under that job, with exactly those
``x-amz-meta-*`` headers, until it expires, and nothing else. The key is a random secret
kept in the data directory (readable by its owner only), created once, so URLs stay
valid across restarts of ``wordfreq up`` and between several API processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from wordfreq_service.adapters.embedded.nofollow import open_file
from wordfreq_service.errors import ConfigError, UnsafePath

#: The signing key's file in the data directory.
KEY_FILE: Final = "upload-signing.key"
KEY_BYTES: Final = 32
#: The metadata headers' prefix, as S3 names user metadata.
META_PREFIX: Final = "x-amz-meta-"


def metadata_headers(metadata: Mapping[str, str]) -> dict[str, str]:
    """The headers an upload carries its metadata in."""
    return {f"{META_PREFIX}{name.lower()}": value for name, value in metadata.items()}


class UploadSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < KEY_BYTES:
            raise ConfigError(f"an upload signing key needs {KEY_BYTES} bytes or more")
        self._key = key

    def sign(self, job_id: str, size: int, expires: int, metadata: Mapping[str, str]) -> str:
        # One field a line, metadata sorted by name: no two different uploads share a
        # text (names and values cannot hold a newline: HTTP headers cannot).
        fields = [job_id, str(size), str(expires)]
        fields += [f"{name.lower()}:{value}" for name, value in sorted(metadata.items())]
        text = "\n".join(fields).encode("utf-8")
        return hmac.new(self._key, text, hashlib.sha256).hexdigest()

    def verify(
        self, signature: str, job_id: str, size: int, expires: int, metadata: Mapping[str, str]
    ) -> bool:
        expected = self.sign(job_id, size, expires, metadata)
        return hmac.compare_digest(signature.encode("utf-8", "replace"), expected.encode())

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> UploadSigner:
        return cls(signing_key(data_dir))


def signing_key(data_dir: Path) -> bytes:
    """The data directory's signing key, created (mode 0600) on first use. Safe when
    several processes start at once: the key is written whole under a temporary name
    and linked into place, and whoever links second uses the first one's key."""
    path = Path(data_dir) / KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ConfigError(f"cannot read the upload signing key {path}: {exc}") from exc
    temp = path.with_name(f".{KEY_FILE}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(KEY_BYTES))
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
        return _read_key(path)
    except OSError as exc:
        raise ConfigError(f"cannot create the upload signing key {path}: {exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)


def _read_key(path: Path) -> bytes:
    # Not through a link: a key planted outside the data directory would sign URLs.
    try:
        fd = open_file(path, os.O_RDONLY)
    except UnsafePath as exc:
        raise ConfigError(str(exc)) from None
    with os.fdopen(fd, "rb") as file:
        key = file.read()
    if len(key) < KEY_BYTES:
        raise ConfigError(
            f"the upload signing key {path} is damaged ({len(key)} bytes); delete it and "
            "restart (upload URLs handed out so far stop working)"
        )
    return key
