"""Deployment parameters, read from CDK context (`cdk.json` or `cdk synth -c key=value`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from constructs import Node

# The retention periods CloudWatch Logs accepts (AWS::Logs::LogGroup RetentionInDays).
VALID_LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557}
    | {2922, 3288, 3653}
)
# Fargate task sizes: CPU units -> allowed memory in MiB (1024 units = 1 vCPU).
FARGATE_MEMORY_MIB: dict[int, range] = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
}
_TRUE = frozenset(("1", "true", "yes", "on"))
_FALSE = frozenset(("0", "false", "no", "off", ""))


@dataclass(frozen=True, kw_only=True)
class WordfreqConfig:
    """Context parameters; the defaults match `cdk.json` (a test keeps them in step)."""

    max_tasks: int = 4
    task_cpu: int = 512
    task_memory_mib: int = 1024
    log_retention_days: int = 30
    worker_debug: bool = False
    submitter_principal: str | None = None

    # The context key of each field, as written in cdk.json and on the command line.
    CONTEXT_KEYS: ClassVar[Mapping[str, str]] = {
        "max_tasks": "maxTasks",
        "task_cpu": "taskCpu",
        "task_memory_mib": "taskMemoryMiB",
        "log_retention_days": "logRetentionDays",
        "worker_debug": "workerDebug",
        "submitter_principal": "submitterPrincipal",
    }

    def __post_init__(self) -> None:
        if not 1 <= self.max_tasks <= 1000:
            raise ValueError(f"maxTasks must be between 1 and 1000, got {self.max_tasks}")
        memory = FARGATE_MEMORY_MIB.get(self.task_cpu)
        if memory is None:
            raise ValueError(f"taskCpu must be one of {sorted(FARGATE_MEMORY_MIB)}")
        if self.task_memory_mib not in memory:
            raise ValueError(
                f"taskMemoryMiB {self.task_memory_mib} is not valid with taskCpu {self.task_cpu}"
                f" (Fargate allows {memory.start}..{memory.stop - 1} in steps of {memory.step})"
            )
        if self.log_retention_days not in VALID_LOG_RETENTION_DAYS:
            raise ValueError(
                f"logRetentionDays must be one of {sorted(VALID_LOG_RETENTION_DAYS)},"
                f" got {self.log_retention_days}"
            )

    @classmethod
    def from_context(cls, node: Node) -> WordfreqConfig:
        """Read every parameter present in the context; absent ones keep their default."""
        values: dict[str, Any] = {}
        for name, key in cls.CONTEXT_KEYS.items():
            raw = node.try_get_context(key)
            if raw is None:
                continue
            if name == "worker_debug":
                values[name] = _parse_bool(key, raw)
            elif name == "submitter_principal":
                values[name] = str(raw).strip() or None
            else:
                values[name] = _parse_int(key, raw)
        return cls(**values)


def _parse_int(key: str, raw: object) -> int:
    # `-c key=7` arrives as the string "7", cdk.json's 7 as a number.
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValueError(f"context {key} must be an integer, got {raw!r}")
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"context {key} must be an integer, got {raw!r}") from None


def _parse_bool(key: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"context {key} must be true or false, got {raw!r}")
