"""README.md's job API `curl` commands work against `wordfreq up`, run as written (on
the port the test's `up` listens on) in a directory holding the samples."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api_processes import serving, stop
from tests.helpers import ROOT, run_wordfreq

README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("### Job API", 1)[1].split("\n### ", 1)[0]
CURLS = [line[2:] for line in SECTION.splitlines() if line.startswith("$ curl ")]
README_ADDRESS = "localhost:8000"


def test_the_readme_shows_three_curl_commands() -> None:
    assert len(CURLS) == 3
    assert all(README_ADDRESS in command for command in (CURLS[0], CURLS[2]))


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq")),
    reason="the README's commands need curl and jq, and one of them is not installed",
)
def test_the_readme_curl_commands_run_a_job(tmp_path: Path) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    (work / "samples").symlink_to(ROOT / "samples")
    with serving(["up", "--workers", "1"], tmp_path) as (proc, url, log_path):
        address = re.sub(r"^http://", "", url)
        outputs = []
        for command in CURLS:
            done = subprocess.run(
                ["bash", "-c", f"set -euo pipefail; {command.replace(README_ADDRESS, address)}"],
                cwd=work,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, (command, done.stderr)
            outputs.append(done.stdout)
        job = json.loads((work / "job.json").read_text())
        stored = json.loads(outputs[1])
        view = json.loads(outputs[2])
        assert stored["job_id"] == view["job_id"] == job["job_id"]
        assert stop(proc) == 0, log_path.read_text()
    assert view["state"] == "done", log_path.read_text()
    expected = run_wordfreq(
        [
            "count",
            "--json",
            "--top",
            "3",
            "--stopwords",
            "english",
            "samples/snelling-photography.txt",
        ],
        cwd=ROOT,
    )
    top = [(w["word"], w["count"]) for w in json.loads(expected.stdout)["words"]]
    assert [(w["word"], w["count"]) for w in view["result"]["words"]] == top
