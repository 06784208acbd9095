"""The worker image's install steps, without Docker: build the wheel with maturin, install it
into a fresh virtual environment, run the image's entry point.

Slow (a release build with LTO, then a pip install from PyPI): a couple of minutes on a
cold cache. The cargo target directory target/image-test is kept between runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from infra_support import REPO_ROOT, VENV_BIN

DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()


def _entrypoint() -> list[str]:
    match = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", DOCKERFILE, re.MULTILINE)
    assert match, "the Dockerfile has no exec-form ENTRYPOINT"
    entrypoint: list[str] = json.loads(match.group(1))
    return entrypoint


def _run(args: list[str], timeout: float, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args,
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


def test_dockerfile_runs_the_aws_worker_as_a_non_root_user() -> None:
    assert _entrypoint() == ["wordfreq", "worker", "--backend", "aws"]
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert "maturin build --release" in DOCKERFILE


@pytest.mark.timeout(1200)
def test_wheel_installs_in_a_fresh_venv_and_runs_the_worker_entrypoint(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # The same build as the image's first stage (see Dockerfile), with its own target
    # directory so it neither waits on nor invalidates the development build in target/.
    _run(
        [
            str(VENV_BIN / "maturin"),
            "build",
            "--release",
            "--locked",
            "--out",
            str(dist),
            "--interpreter",
            sys.executable,
        ],
        timeout=1100,
        CARGO_TARGET_DIR=str(REPO_ROOT / "target" / "image-test"),
    )
    [wheel] = dist.glob("wordfreq_service-*.whl")
    fresh = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(fresh)], timeout=120)
    _run(
        [str(fresh / "bin" / "pip"), "install", "--no-cache-dir", "--quiet", str(wheel)],
        timeout=600,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    command, *args = _entrypoint()
    result = _run([str(fresh / "bin" / command), *args, "--help"], timeout=120)
    assert "--backend" in result.stdout
    assert "--queue-url" in result.stdout
