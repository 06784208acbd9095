"""The worker image's install steps, without Docker: build the wheel with maturin, install it
into a fresh virtual environment the way the Dockerfile does (the pinned, hash-checked
dependencies of image-requirements.txt, then the wheel alone), run the image's entry point.

Slow (a release build with LTO, then a pip install from PyPI): a couple of minutes on a
cold cache. The cargo target directory target/image-test is kept between runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from infra_support import REPO_ROOT, VENV_BIN
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
LOCK = REPO_ROOT / "image-requirements.txt"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
# The Dockerfile's pip commands, with the paths it uses; the install test runs the same.
LOCK_INSTALL = ["install", "--no-cache-dir", "--require-hashes", "--only-binary=:all:", "-r"]
WHEEL_INSTALL = ["install", "--no-cache-dir", "--no-deps"]
IN_IMAGE_LOCK, IN_IMAGE_WHEELS = "/tmp/image-requirements.txt", "/tmp/dist/*.whl"


def _runtime_python() -> str:
    """X.Y of the runtime stage's base image (the last FROM)."""
    bases = re.findall(r"^FROM\s+(\S+)", DOCKERFILE, re.MULTILINE)
    match = re.fullmatch(r"python:(\d+\.\d+)-slim-\w+", bases[-1])
    assert match, f"the runtime stage is not an official python slim image: {bases[-1]}"
    return match.group(1)


def _image_environment() -> dict[str, str]:
    """Environment markers as pip evaluates them in the image (CPython, Linux, x86-64)."""
    env = {key: str(value) for key, value in default_environment().items()}
    python = _runtime_python()
    env.update(
        python_version=python,
        python_full_version=f"{python}.0",
        implementation_name="cpython",
        platform_python_implementation="CPython",
        sys_platform="linux",
        platform_system="Linux",
        platform_machine="x86_64",
        os_name="posix",
    )
    return env


def _locked() -> dict[str, tuple[Requirement, list[str]]]:
    """Each entry of the lock: its requirement and its hashes, by canonical name."""
    entries: dict[str, tuple[Requirement, list[str]]] = {}
    text = LOCK.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec, *options = line.split()
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=")]
        assert len(hashes) == len(options), f"unexpected options in the lock: {line}"
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name not in entries, f"{name} twice in the lock"
        entries[name] = (requirement, hashes)
    return entries


def _runtime_closure() -> dict[str, list[Requirement]]:
    """Every distribution the runtime dependencies of pyproject.toml need in the image, with
    the requirements that name it; read from the installed distributions' metadata."""
    env = _image_environment()
    needed: dict[str, list[Requirement]] = {}
    todo = [(Requirement(r), "") for r in PYPROJECT["project"]["dependencies"]]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({**env, "extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        first = name not in needed
        needed.setdefault(name, []).append(requirement)
        if not first:
            continue
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            pytest.fail(f"{name} is not installed here: run `make setup`")
        for extra_name in ["", *requirement.extras]:
            todo.extend((Requirement(r), extra_name) for r in requires)
    return needed


def test_lock_pins_every_runtime_dependency_with_hashes() -> None:
    locked = _locked()
    direct = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]}
    closure = _runtime_closure()
    assert direct <= set(closure)
    missing = sorted(set(closure) - set(locked))
    assert not missing, f"not in {LOCK.name} (run `make image-lock`): {missing}"
    for name, (requirement, hashes) in locked.items():
        [pin] = requirement.specifier
        assert pin.operator == "==" and "*" not in pin.version, f"{name} is not pinned: {pin}"
        assert hashes and all(h.startswith("sha256:") for h in hashes), name
        assert requirement.marker is None and not requirement.extras, name
    # Each pin satisfies every requirement that names it (pyproject's own included).
    for name, requirements in closure.items():
        [pin] = locked[name][0].specifier
        for requirement in requirements:
            assert requirement.specifier.contains(pin.version, prereleases=True), (
                f"{name}=={pin.version} does not satisfy {requirement}"
            )


def test_dockerfile_installs_the_lock_then_the_wheel_alone() -> None:
    runtime = DOCKERFILE[DOCKERFILE.rindex("\nFROM ") :]
    assert f"COPY {LOCK.name} {IN_IMAGE_LOCK}" in runtime
    assert " ".join(["pip", *LOCK_INSTALL, IN_IMAGE_LOCK]) in runtime
    # The wheel's name is not spelled out: the distribution may be renamed.
    assert " ".join(["pip", *WHEEL_INSTALL, IN_IMAGE_WHEELS]) in runtime
    assert "&& pip check" in runtime
    # No other pip install in the runtime stage.
    assert runtime.count("pip install") == 2
    # The build context lets the lock in.
    dockerignore = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    assert f"!{LOCK.name}" in dockerignore


def test_lock_is_made_for_the_image_python_and_platform() -> None:
    """`make image-lock` resolves for the runtime stage's Python on linux/amd64."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\nimage-lock:") :]
    assert f"--python-version {_runtime_python()} " in recipe
    assert "--python-platform x86_64-manylinux" in recipe
    assert "--generate-hashes" in recipe
    assert f"--output-file {LOCK.name}" in recipe or "$(IMAGE_LOCK)" in recipe
    assert f"IMAGE_LOCK := {LOCK.name}" in makefile


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
    pip = str(fresh / "bin" / "pip")
    # As the Dockerfile does: the locked dependencies, hash-checked; the wheel alone; a check
    # that the lock covers what the wheel requires.
    for args in ([*LOCK_INSTALL, str(LOCK)], [*WHEEL_INSTALL, str(wheel)], ["check"]):
        _run([pip, *args], timeout=600, PIP_DISABLE_PIP_VERSION_CHECK="1")
    command, *args = _entrypoint()
    result = _run([str(fresh / "bin" / command), *args, "--help"], timeout=120)
    assert "--backend" in result.stdout
    assert "--queue-url" in result.stdout
