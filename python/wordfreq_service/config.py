"""Where things live and which backend runs: resolved from flags, then environment.

``BackendSpec`` is a small picklable description of a backend, so worker processes can
open their own connections; ``open()`` is the one place that picks an adapter.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from wordfreq_service.errors import ConfigError
from wordfreq_service.ports import Backend

DATA_DIR_ENV = "WORDFREQ_DATA_DIR"


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("wordfreq", appauthor=False))


def resolve_data_dir(flag: str | None) -> Path:
    if flag:
        return Path(flag).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser() if env else default_data_dir()


@dataclass(frozen=True)
class BackendSpec:
    kind: str = "embedded"
    data_dir: Path | None = None
    bucket: str | None = None
    work_queue_url: str | None = None
    result_queue_url: str | None = None
    region: str | None = None
    role_arn: str | None = None
    #: The DynamoDB job table (aws); None: no job store, every upload takes the
    #: compatible path.
    job_table: str | None = None
    #: Embedded: how long a write waits for a database another process holds locked
    #: (None: the database's default).
    lock_wait_s: float | None = None

    def open(self) -> Backend:
        if self.kind == "embedded":
            from wordfreq_service.adapters.embedded import open_embedded

            data_dir = self.data_dir or default_data_dir()
            if self.lock_wait_s is None:
                return open_embedded(data_dir)
            return open_embedded(data_dir, lock_wait_s=self.lock_wait_s)
        if self.kind == "aws":
            from wordfreq_service.adapters.aws import make_session, open_aws

            session = make_session(region=self.region, role_arn=self.role_arn)
            return open_aws(
                bucket=self.bucket,
                work_queue_url=self.work_queue_url,
                result_queue_url=self.result_queue_url,
                session=session,
                job_table=self.job_table,
            )
        raise ConfigError(f"unknown backend {self.kind!r}")

    def describe(self) -> str:
        if self.kind == "embedded":
            return f"embedded stack in {self.data_dir}"
        return f"aws bucket={self.bucket}"


def env_first(flag: str | None, *names: str) -> str | None:
    """The flag if given, else the first environment variable that is set and non-empty."""
    if flag:
        return flag
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None
