"""How `wordfreq worker` reads its configuration from flags and the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wordfreq_service.cli.services import VISIBILITY_TIMEOUT, setting
from wordfreq_service.errors import ConfigError
from wordfreq_service.ports import MAX_VISIBILITY_TIMEOUT_S
from wordfreq_service.service.worker.settings import WorkerSettings

from tests.e2e.test_embedded_stack import Service
from tests.helpers import run_wordfreq

# Environment values cannot hold NUL, nor text that is not valid Unicode.
ENV_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WORKER_VISIBILITY_TIMEOUT", "ninety"),
        ("WORKER_VISIBILITY_TIMEOUT", "0"),
        ("WORKER_VISIBILITY_TIMEOUT", "1.5"),
        ("WORKER_VISIBILITY_TIMEOUT", str(MAX_VISIBILITY_TIMEOUT_S + 1)),
        ("WORKER_DRAIN_SECONDS", "-1"),
        ("WORKER_DRAIN_SECONDS", "nan"),
        ("WORKER_DRAIN_SECONDS", "inf"),
        ("WORKER_DRAIN_SECONDS", "soon"),
        ("WORKER_SPLIT_THRESHOLD", "1M"),  # ranges under MIN_PART_BYTES
        ("WORKER_SPLIT_THRESHOLD", "big"),
        ("WORKER_SPLIT_THRESHOLD", "2PiB"),
    ],
)
def test_bad_worker_settings_in_the_environment_exit_2_with_one_line(
    name: str, value: str, tmp_path: Path
) -> None:
    proc = run_wordfreq(["worker", "--data-dir", str(tmp_path)], env={name: value}, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and name in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


@given(ENV_TEXT)
def test_an_environment_setting_is_a_valid_value_or_a_configuration_error(value: str) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WORKER_VISIBILITY_TIMEOUT", value)
        try:
            seconds = setting(None, "WORKER_VISIBILITY_TIMEOUT", VISIBILITY_TIMEOUT, 30)
        except ConfigError as exc:
            assert "WORKER_VISIBILITY_TIMEOUT" in str(exc) and "\n" not in str(exc)
            return
    if not value:
        assert seconds == 30
    else:
        assert seconds == int(value) and 1 <= seconds <= MAX_VISIBILITY_TIMEOUT_S


DEFAULT = WorkerSettings()


@pytest.mark.parametrize(
    ("env", "flags", "expected"),
    [
        ({}, [], (DEFAULT.visibility_timeout, DEFAULT.drain_seconds)),
        ({"WORKER_VISIBILITY_TIMEOUT": "", "WORKER_DRAIN_SECONDS": ""}, [],
         (DEFAULT.visibility_timeout, DEFAULT.drain_seconds)),
        ({"WORKER_VISIBILITY_TIMEOUT": "90", "WORKER_DRAIN_SECONDS": "80"}, [], (90, 80)),
        ({"WORKER_VISIBILITY_TIMEOUT": "90", "WORKER_DRAIN_SECONDS": "80"},
         ["--visibility-timeout", "45", "--drain-seconds", "5"], (45, 5)),
    ],
    ids=["defaults", "empty-is-unset", "environment", "flags-override"],
)  # fmt: skip
def test_visibility_and_drain_come_from_flags_then_environment_then_defaults(
    env: dict[str, str],
    flags: list[str],
    expected: tuple[int, float],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("WORKER_VISIBILITY_TIMEOUT", "WORKER_DRAIN_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    service = Service(["worker", "--concurrency", "1", *flags], tmp_path)
    try:
        started = service.wait_for("workers started")
    finally:
        assert service.stop() == 0
    assert (started["visibility_timeout"], started["drain_seconds"]) == expected
    assert json.dumps(started)  # one JSON object, as every service line


@pytest.mark.parametrize(
    ("env", "flags", "expected"),
    [
        ({}, [], DEFAULT.split_threshold),
        ({"WORKER_SPLIT_THRESHOLD": ""}, [], DEFAULT.split_threshold),
        ({"WORKER_SPLIT_THRESHOLD": "64M"}, [], 64 << 20),
        ({"WORKER_SPLIT_THRESHOLD": "64M"}, ["--split-threshold", "1GiB"], 1 << 30),
    ],
    ids=["default", "empty-is-unset", "environment", "flag-overrides"],
)
def test_the_split_threshold_comes_from_flag_then_environment_then_default(
    env: dict[str, str],
    flags: list[str],
    expected: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WORKER_SPLIT_THRESHOLD", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    service = Service(["worker", "--concurrency", "1", *flags], tmp_path)
    try:
        started = service.wait_for("workers started")
    finally:
        assert service.stop() == 0
    assert started["split_threshold"] == expected
    assert DEFAULT.split_threshold == 256 << 20  # the default


@pytest.mark.parametrize(
    ("env", "flags", "expected"),
    [
        ({"WORKER_VISIBILITY_TIMEOUT": "90"}, [], 90),
        ({"WORKER_VISIBILITY_TIMEOUT": "90"}, ["--visibility-timeout", "3"], 3),
    ],
    ids=["environment", "flag-overrides"],
)
def test_up_takes_the_visibility_timeout_as_worker_does(
    env: dict[str, str],
    flags: list[str],
    expected: int | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WORKER_VISIBILITY_TIMEOUT", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    service = Service(["up", "--workers", "1", "--port", "0", *flags], tmp_path)
    try:
        started = service.wait_for("workers started")
    finally:
        assert service.stop() == 0
    assert started["visibility_timeout"] == expected
