"""The images' install steps, without Docker: build the wheel with maturin, install it into a
fresh virtual environment the way the Dockerfile's shared `runtime` stage does (the pinned,
hash-checked dependencies of image-requirements.txt, then the wheel alone), run the worker's
entry point; then add the `api` stage's runtime interface client (image-api-requirements.txt)
and load what its CMD names.

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
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from infra_support import REPO_ROOT, VENV_BIN
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from wordfreq_infra.image import API_TARGET, DOCKERFILE, WORKER_TARGET
from wordfreq_service.api import settings

DOCKERFILE_TEXT = (REPO_ROOT / DOCKERFILE).read_text()
LOCK = REPO_ROOT / "image-requirements.txt"
API_LOCK = REPO_ROOT / "image-api-requirements.txt"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
# The Dockerfile's pip commands, with the paths it uses; the install test runs the same.
LOCK_INSTALL = ["install", "--no-cache-dir", "--require-hashes", "--only-binary=:all:", "-r"]
WHEEL_INSTALL = ["install", "--no-cache-dir", "--no-deps"]
# The API stage adds the runtime interface client on top of the runtime's packages: exactly
# the lock's, resolving nothing (`pip check` then proves the lock complete).
API_LOCK_INSTALL = [*LOCK_INSTALL[:-1], "--no-deps", "-r"]
IN_IMAGE_LOCK, IN_IMAGE_WHEELS = "/tmp/image-requirements.txt", "/tmp/dist/*.whl"
IN_IMAGE_API_LOCK = "/tmp/image-api-requirements.txt"
RUNTIME_STAGE = "runtime"
RUNTIME_INTERFACE_CLIENT = "awslambdaric"


@dataclass(frozen=True)
class Stage:
    name: str | None
    base: str
    #: The stage's instructions, continuation lines joined.
    body: str

    def exec_form(self, instruction: str) -> list[str]:
        """The stage's one exec-form `instruction` (ENTRYPOINT, CMD), as a list."""
        found = re.findall(rf"^{instruction}\s+(\[.*\])\s*$", self.body, re.MULTILINE)
        assert len(found) == 1, f"stage {self.name}: expected one exec-form {instruction}"
        value: list[str] = json.loads(found[0])
        return value

    @property
    def user(self) -> str | None:
        users = re.findall(r"^USER\s+(\S+)", self.body, re.MULTILINE)
        return users[-1] if users else None


def _stages() -> list[Stage]:
    text = re.sub(r"\s*\\\n\s*", " ", DOCKERFILE_TEXT)
    parts = re.split(r"^FROM\s+", text, flags=re.MULTILINE)[1:]
    stages = []
    for part in parts:
        header, _, body = part.partition("\n")
        base, *alias = header.split()
        assert alias == [] or (len(alias) == 2 and alias[0].upper() == "AS"), header
        stages.append(Stage(name=alias[1] if alias else None, base=base, body=body))
    return stages


STAGES = _stages()
STAGE = {stage.name: stage for stage in STAGES if stage.name}


def _runtime_python() -> str:
    """X.Y of the shared runtime stage's base image."""
    base = STAGE[RUNTIME_STAGE].base
    match = re.fullmatch(r"python:(\d+\.\d+)-slim-\w+", base)
    assert match, f"the runtime stage is not an official python slim image: {base}"
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


def _locked(lock: Path = LOCK) -> dict[str, tuple[Requirement, list[str]]]:
    """Each entry of a lock: its requirement and its hashes, by canonical name."""
    entries: dict[str, tuple[Requirement, list[str]]] = {}
    text = lock.read_text().replace("\\\n", " ")
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


def _assert_pinned_with_hashes(locked: dict[str, tuple[Requirement, list[str]]]) -> None:
    for name, (requirement, hashes) in locked.items():
        [pin] = requirement.specifier
        assert pin.operator == "==" and "*" not in pin.version, f"{name} is not pinned: {pin}"
        assert hashes and all(h.startswith("sha256:") for h in hashes), name
        assert requirement.marker is None and not requirement.extras, name


def test_lock_pins_every_runtime_dependency_with_hashes() -> None:
    locked = _locked()
    direct = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]}
    closure = _runtime_closure()
    assert direct <= set(closure)
    missing = sorted(set(closure) - set(locked))
    assert not missing, f"not in {LOCK.name} (run `make image-lock`): {missing}"
    _assert_pinned_with_hashes(locked)
    # Each pin satisfies every requirement that names it (pyproject's own included).
    for name, requirements in closure.items():
        [pin] = locked[name][0].specifier
        for requirement in requirements:
            assert requirement.specifier.contains(pin.version, prereleases=True), (
                f"{name}=={pin.version} does not satisfy {requirement}"
            )


def test_api_lock_pins_the_runtime_interface_client_with_hashes() -> None:
    """The client and what it needs, pinned and hashed; a package both locks name has the
    same pin in both (`make image-lock` compiles it with the runtime's lock as constraint),
    so installing it over the runtime changes nothing there."""
    api_locked = _locked(API_LOCK)
    assert RUNTIME_INTERFACE_CLIENT in api_locked
    _assert_pinned_with_hashes(api_locked)
    runtime_locked = _locked()
    for name in set(api_locked) & set(runtime_locked):
        assert str(api_locked[name][0]) == str(runtime_locked[name][0]), name


def test_dockerfile_stages_share_one_runtime() -> None:
    """Both images come from the runtime stage (one wheel, one lock); the worker is also
    the last stage, so a plain `docker build .` still makes it."""
    assert STAGE[API_TARGET].base == RUNTIME_STAGE
    assert STAGE[WORKER_TARGET].base == RUNTIME_STAGE
    assert STAGES[-1].name == WORKER_TARGET
    assert STAGE[RUNTIME_STAGE].base.startswith("python:")


def test_dockerfile_installs_the_lock_then_the_wheel_alone() -> None:
    runtime = STAGE[RUNTIME_STAGE].body
    assert f"COPY {LOCK.name} {IN_IMAGE_LOCK}" in runtime
    assert " ".join(["pip", *LOCK_INSTALL, IN_IMAGE_LOCK]) in runtime
    # The wheel's name is not spelled out: the distribution may be renamed.
    assert " ".join(["pip", *WHEEL_INSTALL, IN_IMAGE_WHEELS]) in runtime
    assert "&& pip check" in runtime
    # No other pip install in the runtime stage, and none in the worker's.
    assert runtime.count("pip install") == 2
    assert "pip install" not in STAGE[WORKER_TARGET].body
    # The build context lets the locks in.
    dockerignore = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    assert f"!{LOCK.name}" in dockerignore
    assert f"!{API_LOCK.name}" in dockerignore


def test_dockerfile_api_stage_adds_the_client_alone() -> None:
    api = STAGE[API_TARGET].body
    assert f"COPY {API_LOCK.name} {IN_IMAGE_API_LOCK}" in api
    assert " ".join(["pip", *API_LOCK_INSTALL, IN_IMAGE_API_LOCK]) in api
    assert "&& pip check" in api
    assert api.count("pip install") == 1


def test_lock_is_made_for_the_image_python_and_platform() -> None:
    """`make image-lock` resolves both locks for the runtime stage's Python on linux/amd64,
    the API's with the runtime's pins."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\nimage-lock:") :]
    compile_flags = makefile[makefile.index("\nUV_COMPILE") :]
    assert f"--python-version {_runtime_python()} " in compile_flags
    assert "--python-platform x86_64-manylinux" in compile_flags
    assert "--generate-hashes" in compile_flags
    assert "$(UV_COMPILE) --output-file $(IMAGE_LOCK)" in recipe
    assert "$(UV_COMPILE) --constraint $(IMAGE_LOCK) --output-file $(API_IMAGE_LOCK)" in recipe
    assert f"IMAGE_LOCK := {LOCK.name}" in makefile
    assert f"API_IMAGE_LOCK := {API_LOCK.name}" in makefile
    assert f"API_IMAGE_REQUIRES := {RUNTIME_INTERFACE_CLIENT}" in makefile


def _handler() -> tuple[str, str]:
    """The API image's handler, as its CMD names it for the runtime interface client:
    (module, function)."""
    api = STAGE[API_TARGET]
    assert api.exec_form("ENTRYPOINT") == ["python", "-m", RUNTIME_INTERFACE_CLIENT]
    [handler] = api.exec_form("CMD")
    module, _, function = handler.rpartition(".")
    assert module.startswith("wordfreq_service.") and function, handler
    return module, function


def test_images_run_as_a_non_root_user() -> None:
    assert STAGE[WORKER_TARGET].exec_form("ENTRYPOINT") == [
        "wordfreq",
        "worker",
        "--backend",
        "aws",
    ]
    _handler()
    for target in (WORKER_TARGET, API_TARGET):
        assert STAGE[target].user not in (None, "root", "0"), target
    assert "maturin build --release" in DOCKERFILE_TEXT


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


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtual environment set up as the runtime stage: the wheel built as the
    image's first stage builds it, the locked dependencies, hash-checked, then the wheel
    alone, then a check that the lock covers what the wheel requires."""
    tmp_path = tmp_path_factory.mktemp("image")
    dist = tmp_path / "dist"
    # Its own target directory, so it neither waits on nor invalidates the development
    # build in target/.
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
    for args in ([*LOCK_INSTALL, str(LOCK)], [*WHEEL_INSTALL, str(wheel)], ["check"]):
        _pip(fresh, args)
    yield fresh


def _pip(venv: Path, args: list[str]) -> None:
    _run([str(venv / "bin" / "pip"), *args], timeout=600, PIP_DISABLE_PIP_VERSION_CHECK="1")


@pytest.mark.timeout(1200)
def test_wheel_installs_in_a_fresh_venv_and_runs_the_worker_entrypoint(
    runtime_venv: Path,
) -> None:
    command, *args = STAGE[WORKER_TARGET].exec_form("ENTRYPOINT")
    result = _run([str(runtime_venv / "bin" / command), *args, "--help"], timeout=120)
    assert "--backend" in result.stdout
    assert "--queue-url" in result.stdout


@pytest.mark.timeout(1200)
def test_api_stage_installs_the_client_and_loads_the_handler(runtime_venv: Path) -> None:
    """The API stage's steps on the runtime: its lock alone, `pip check`; then the client
    and the handler its CMD names load as Lambda would load them."""
    _pip(runtime_venv, [*API_LOCK_INSTALL, str(API_LOCK)])
    _pip(runtime_venv, ["check"])
    python = str(runtime_venv / "bin" / "python")
    _run([python, "-c", f"import {RUNTIME_INTERFACE_CLIENT}.bootstrap"], timeout=120)
    module, function = _handler()
    source = REPO_ROOT / "python" / Path(*module.split(".")).with_suffix(".py")
    if not source.exists():
        # The handler is written in parallel with this stack; until it is merged only the
        # client's install is checked.
        print(f"{module} is not in this tree yet: only the client's install was checked")
        return
    # Configured as the stack configures the function; importing makes no AWS call.
    env = {
        settings.BUCKET_ENV: "bucket",
        settings.JOB_TABLE_ENV: "jobs",
        settings.API_KEY_SECRET_ENV: "arn:aws:secretsmanager:us-east-1:123456789012:secret:k",
        settings.MAX_UPLOAD_BYTES_ENV: "1024",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    check = f"import {module} as m; assert callable(m.{function}), {function!r}"
    _run([python, "-c", check], timeout=120, **env)
