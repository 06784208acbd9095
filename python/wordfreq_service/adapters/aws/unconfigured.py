"""Stand-ins for a store or queue a role does not use.

A client needs the bucket and the result queue, a worker the work and result queues;
the missing one is replaced by a stand-in that names what is missing when used, so a
misconfigured service fails with a ConfigError at the first call instead of an
AttributeError somewhere deeper. Their ``url``/``bucket`` is empty, to be safe to log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import BinaryIO, NoReturn

from wordfreq_service.errors import ConfigError
from wordfreq_service.ports import Message, ObjectInfo, ObjectReader, UploadTarget


class UnconfiguredQueue:
    """Implements ``ports.MessageQueue`` by refusing every operation."""

    def __init__(self, role: str) -> None:
        self._role = role

    @property
    def url(self) -> str:
        return ""

    def send(self, body: str, delay_seconds: int = 0) -> str:
        self._refuse()

    def receive(
        self,
        max_messages: int = 1,
        wait_seconds: float = 0,
        visibility_timeout: int | None = None,
    ) -> list[Message]:
        self._refuse()

    def delete(self, receipt_handle: str) -> None:
        self._refuse()

    def delete_batch(self, receipt_handles: Sequence[str]) -> list[str]:
        self._refuse()

    def change_visibility(self, receipt_handle: str, timeout: int) -> None:
        self._refuse()

    def visibility_timeout(self) -> int:
        self._refuse()

    def approximate_count(self) -> int:
        self._refuse()

    def max_receive_count(self) -> int | None:
        self._refuse()

    def _refuse(self) -> NoReturn:
        raise ConfigError(f"no {self._role} queue URL is configured")


class UnconfiguredStore:
    """Implements ``ports.ObjectStore`` by refusing every operation."""

    @property
    def bucket(self) -> str:
        return ""

    def put(
        self,
        key: str,
        body: BinaryIO,
        metadata: Mapping[str, str] | None = None,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> ObjectInfo:
        self._refuse()

    def get(
        self, key: str, *, start: int = 0, end: int | None = None
    ) -> AbstractContextManager[ObjectReader]:
        self._refuse()

    def head(self, key: str) -> ObjectInfo:
        self._refuse()

    def delete(self, key: str) -> None:
        self._refuse()

    def upload_url(
        self, key: str, size: int, metadata: Mapping[str, str], expires_in: int
    ) -> UploadTarget | None:
        self._refuse()

    def _refuse(self) -> NoReturn:
        raise ConfigError("no bucket is configured")
