"""moto's server (the AWS stand-in) unavailable during work. Paused (SIGSTOP, state
kept): a client with a short ``--timeout`` gives up in time, in one line; the worker and
a patient client carry on once it continues. Stopped and
started again on the same port (moto keeps its state in memory, so the queues, bucket
and table are gone until made again): the worker backs off, survives the missing queue,
and resumes once the resources are back; a client meanwhile exits non-zero with one
line within its ``--timeout``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from wordfreq_service.cli.unanswered import GRACE_S

from tests.faults.outage_helpers import BACKING_OFF, RESUMING, wait_for, worker_process
from tests.helpers import WORDFREQ, run_wordfreq
from tools.local_aws import AwsStack, client_env, create_aws_stack

TEXT = "the cat and the hat and the bat\n" * 50
#: A client's own start-up (imports, its AWS clients) before its timeout runs: a second
#: or two, several on a loaded machine. Far under what the bound replaced: read
#: timeouts of 30 s, retried five times (190 s for a 3 s timeout).
STARTUP_ALLOWANCE_S = 8.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoProcess:
    """moto's server in a process of its own, so it can be paused, stopped and started
    again on the same port."""

    def __init__(self, log_path: Path) -> None:
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self._log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=log,
            )
        wait_for("moto's server to listen", self._listening)

    def _listening(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self._log_path.read_text()
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)


@pytest.fixture
def moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoProcess]:
    server = MotoProcess(tmp_path / "moto.log")
    for name, value in client_env(server.endpoint).items():
        monkeypatch.setenv(name, value)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def same_names() -> Iterator[Callable[[], None]]:
    """Make ``create_aws_stack`` name its resources, after each call of the yielded
    function, as it did the first time in the block: the stack made again after a
    restart has the same bucket, queue URLs and table, as a redeployed stack would."""
    drawn: list[uuid.UUID] = []
    replay: list[uuid.UUID] = []
    real = uuid.uuid4

    def uuid4() -> uuid.UUID:
        value = replay.pop(0) if replay else real()
        drawn.append(value)
        return value

    def again() -> None:
        replay[:] = drawn
        drawn.clear()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(uuid, "uuid4", uuid4)  # the module tools.local_aws draws from
        yield again


def _worker_args(stack: AwsStack) -> list[str]:
    return [
        "--backend",
        "aws",
        "--queue-url",
        stack.work_queue_url,
        "--result-queue-url",
        stack.result_queue_url,
        "--job-table",
        stack.job_table,
        "--poll-seconds",
        "1",
    ]


def _submit(stack: AwsStack, sample: Path, timeout: float) -> list[str]:
    return [
        "submit",
        "--backend",
        "aws",
        "--bucket",
        stack.bucket,
        "--queue-url",
        stack.result_queue_url,
        "--json",
        "--timeout",
        f"{timeout:g}",
        str(sample),
    ]


def _the_count(stdout: str) -> int:
    return int({w["word"]: w["count"] for w in json.loads(stdout)["words"]}["the"])


def _gives_up_in_time(stack: AwsStack, sample: Path) -> str:
    """A client with a 1 s timeout, run while the server is down: it exits 1 in time
    with one line, returned."""
    timeout = 1.0
    started = time.monotonic()
    done = run_wordfreq(_submit(stack, sample, timeout), timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("wordfreq: error: ") and "Traceback" not in done.stderr
    limit = timeout + GRACE_S + STARTUP_ALLOWANCE_S
    assert elapsed < limit, f"{elapsed:.1f} s for a {timeout:g} s timeout"
    return line


def test_the_worker_and_clients_through_a_paused_then_restarted_server(
    moto: MotoProcess, tmp_path: Path
) -> None:
    """One worker through both outages, one after the other (a server and a worker
    started once: the test's time goes mostly to starting processes)."""
    sample = tmp_path / "sample.txt"
    sample.write_text(TEXT)
    with same_names() as names_again:
        stack = create_aws_stack(moto.endpoint)
        with worker_process(_worker_args(stack), tmp_path / "w.log", dict(os.environ)) as w:
            # Given the server paused: it accepts connections and answers nothing
            moto.pause()
            patient = None
            try:
                try:
                    patient = subprocess.Popen(
                        [WORDFREQ, *_submit(stack, sample, 60)],
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                    )
                    # Then a client whose timeout is shorter gives up in time, saying so
                    line = _gives_up_in_time(stack, sample)
                finally:
                    moto.resume()
                assert line == (
                    f"wordfreq: error: no answer for 1s uploading {sample}: "
                    "the service is unavailable"
                )
                # And once it continues, the worker and a patient client carry on
                out, err = patient.communicate(timeout=60)
            finally:
                # Not left running past a failed assertion (or a moto that won't resume).
                if patient is not None and patient.poll() is None:
                    patient.kill()
                    patient.communicate()
            assert patient.returncode == 0, err.decode()
            assert _the_count(out.decode()) == 150

            # Given the server stopped: connections refused
            moto.stop()
            # Then a client gives up in time (after the SDK's retries, or the watchdog)
            _gives_up_in_time(stack, sample)
            # When it comes back empty, the worker meets missing queues and waits on
            moto.start()
            wait_for(
                "the worker to meet the missing queue",
                lambda: any("NoSuchQueue" in str(e.get("error")) for e in w.logged(BACKING_OFF)),
                timeout=30,
            )
            assert w.proc.poll() is None
            # and once the stack is made again, it resumes and counts
            names_again()
            assert create_aws_stack(moto.endpoint) == stack
            up = run_wordfreq(_submit(stack, sample, 30), timeout=60)
            assert up.returncode == 0, up.stderr
            assert _the_count(up.stdout) == 150
            assert w.logged(RESUMING)
            assert w.terminate() == 0
            [stopped] = w.logged("worker stopped")
            assert stopped["jobs"] == 2 and stopped["signal"] == "SIGTERM"
