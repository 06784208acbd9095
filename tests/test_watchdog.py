"""``submit``'s watchdog (``cli.unanswered.Watchdog``) in a process of its own (it
handles SIGALRM and may end the process): once it has fired, progress reported by
transfer threads does not postpone the end, and a rearm after the block is harmless."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from wordfreq_service.cli.unanswered import EXIT_FAILURE

#: Far longer than any of these scripts takes when the watchdog works.
HANG_S = 30


def _run(script: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script)],
            capture_output=True,
            text=True,
            timeout=HANG_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the process still ran after {HANG_S} s: {exc.stderr!r}") from None


def test_progress_after_the_deadline_does_not_postpone_the_end() -> None:
    """A transfer thread that reports progress again once the deadline has passed,
    and never ends (the interpreter joins it at exit): the process ends anyway,
    GRACE_S after the deadline, saying why."""
    done = _run(
        """
        import threading, time
        from wordfreq_service.cli.unanswered import Unanswered, Watchdog

        def transfer(watchdog):
            time.sleep(1)  # silent past the deadline, then moving again
            while True:
                watchdog.rearm(60, "uploading big.txt")
                time.sleep(0.05)

        with Watchdog() as watchdog:
            watchdog.rearm(0.3, "uploading big.txt")
            threading.Thread(target=transfer, args=(watchdog,)).start()
            try:
                time.sleep(60)
            except Unanswered as exc:
                print(exc, flush=True)
        """
    )
    assert done.returncode == EXIT_FAILURE, done
    line = "wordfreq: error: no answer for 0.3s uploading big.txt: the service is unavailable"
    assert done.stdout == f"{line}\n"
    # The grace's own line, written as the process ends.
    assert done.stderr == f"{line}\n"


def test_a_rearm_after_the_block_does_not_kill_the_process() -> None:
    done = _run(
        """
        import time
        from wordfreq_service.cli.unanswered import Watchdog

        with Watchdog() as watchdog:
            watchdog.rearm(5, "creating jobs")
        watchdog.rearm(0.05, "uploading late.txt")  # a transfer thread still reporting
        time.sleep(0.5)
        print("finished")
        """
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "finished\n", "")
