"""Service logs: WORKER_DEBUG as the original read it, and whole JSON lines from the
worker processes' output, whatever it was."""

from __future__ import annotations

import json
import logging
import multiprocessing
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st
from wordfreq_service import logs
from wordfreq_service.errors import ConfigError
from wordfreq_service.service.pool import _relay

from tests.helpers import run_wordfreq

GO_TRUE = ["1", "t", "T", "TRUE", "true", "True"]
GO_FALSE = ["0", "f", "F", "FALSE", "false", "False"]
# Environment values cannot hold NUL, nor text that is not valid Unicode.
ENV_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """``logs.configure`` sets process-wide state; later tests must not inherit it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(
    ("value", "debug"),
    [*((v, True) for v in GO_TRUE), *((v, False) for v in GO_FALSE), ("", False), (None, False)],
)
def test_worker_debug_reads_as_gos_parse_bool(
    value: str | None,
    debug: bool,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    if value is None:
        monkeypatch.delenv("WORKER_DEBUG", raising=False)
    else:
        monkeypatch.setenv("WORKER_DEBUG", value)
    assert logs.debug_from_env() is debug
    logs.configure(service=True)
    structlog.get_logger().debug("a debug line")
    assert ("a debug line" in capfd.readouterr().err) is debug


@given(ENV_TEXT.filter(lambda v: v not in GO_TRUE + GO_FALSE + [""]))
def test_every_other_worker_debug_value_is_a_configuration_error(value: str) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WORKER_DEBUG", value)
        with pytest.raises(ConfigError, match="WORKER_DEBUG"):
            logs.debug_from_env()


@pytest.mark.parametrize("value", ["yes", "on", "2", " true", "tRUE"])
def test_worker_with_a_bad_worker_debug_exits_2_with_one_line(value: str) -> None:
    proc = run_wordfreq(["worker", "--backend", "aws"], env={"WORKER_DEBUG": value})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "WORKER_DEBUG" in proc.stderr, proc.stderr


@pytest.mark.usefixtures("restore_logging")
def test_a_worker_process_output_reaches_standard_error_as_json_lines(
    capfd: pytest.CaptureFixture[str],
) -> None:
    logs.configure(service=True)
    reader, writer = multiprocessing.Pipe(duplex=False)
    with open(writer.fileno(), "wb", closefd=False) as out:
        out.write(b'{"event": "job done"}\n')
        out.write(b"Traceback (most recent call last):\n")
        out.write(b'{"event": "cut short by a kill')  # no newline: the writer died
    writer.close()
    _relay(reader, "worker-3")
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    assert lines[0] == {"event": "job done"}
    assert [(e["event"], e["worker"], e["output"]) for e in lines[1:]] == [
        ("worker output", "worker-3", "Traceback (most recent call last):"),
        ("worker output", "worker-3", '{"event": "cut short by a kill'),
    ]
