# syntax=docker/dockerfile:1
# The wordfreq images: the worker (`wordfreq worker --backend aws`, run by ECS Fargate; the
# default target) and the job API (`--target api`, run by Lambda).
# Build context: the repository root, filtered by .dockerignore (only the package sources).

# Stage 0: the Rust toolchain, taken from the official image of the same Debian release.
FROM rust:1.95.0-slim-trixie AS rust

# Stage 1: build the wheel (native core + Python package) with maturin, against the same
# CPython as the runtime stage so the wheel's cp311 tag and glibc match.
FROM python:3.11-slim-trixie AS build
ENV RUSTUP_HOME=/usr/local/rustup \
    CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=rust /usr/local/rustup /usr/local/rustup
COPY --from=rust /usr/local/cargo /usr/local/cargo
# rustc links with the system C compiler. Versions are not pinned: the base image tag fixes
# the Debian release, whose archive replaces superseded versions (a pin would break builds).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir "maturin==1.16.0"
WORKDIR /src
COPY Cargo.toml Cargo.lock pyproject.toml ./
COPY src ./src
COPY python ./python
RUN maturin build --release --locked --out /dist

# Stage 2: the runtime both images share, with the wheel and its dependencies only. The
# dependencies are exactly those of image-requirements.txt (`make image-lock`): every one,
# transitive ones too, pinned and hash-checked; then the wheel, whatever its name, without
# resolving anything more, and `pip check` fails the build if the lock misses one of its
# requirements.
FROM python:3.11-slim-trixie AS runtime
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# The dependencies' layer stays cached until the lock changes.
COPY image-requirements.txt /tmp/image-requirements.txt
RUN pip install --no-cache-dir --require-hashes --only-binary=:all: -r /tmp/image-requirements.txt \
    && rm /tmp/image-requirements.txt
COPY --from=build /dist /tmp/dist
RUN pip install --no-cache-dir --no-deps /tmp/dist/*.whl \
    && pip check \
    && rm -rf /tmp/dist \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin wordfreq

# Stage 3 (`--target api`): the job API on Lambda, behind API Gateway. Lambda's runtime
# interface client (image-api-requirements.txt, made by `make image-lock` with the pins of
# the runtime's lock) runs the handler; nothing else is added to the shared runtime.
FROM runtime AS api
COPY image-api-requirements.txt /tmp/image-api-requirements.txt
RUN pip install --no-cache-dir --require-hashes --only-binary=:all: --no-deps \
        -r /tmp/image-api-requirements.txt \
    && pip check \
    && rm /tmp/image-api-requirements.txt
USER 10001
ENTRYPOINT ["python", "-m", "awslambdaric"]
CMD ["wordfreq_service.api.aws_lambda.handler"]

# Stage 4 (`--target worker`, and the default: the last stage): `wordfreq worker --backend
# aws`, run by ECS Fargate.
FROM runtime AS worker
USER 10001
ENTRYPOINT ["wordfreq", "worker", "--backend", "aws"]
