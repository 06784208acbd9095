# One entry point. Every target brings the environment up to date itself, so on a
# fresh clone `make demo` and `make test` are all a user needs to type.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(BIN)):$(PATH)

RUST_SOURCES := $(shell find src -name '*.rs' 2>/dev/null) Cargo.toml
NATIVE_STAMP := $(VENV)/.native-stamp
DEPS_STAMP := $(VENV)/.deps-stamp
INFRA_STAMP := infra/node_modules/.stamp

.PHONY: fuzz
.PHONY: setup build test test-big-output demo demo-aws bench bench-documents bench-segment bench-pipeline bench-orphans bench-memory bench-split bench-threads bench-corpus bench-corpus-merge lint fmt clean image-lock
.PHONY: bench-language
.PHONY: soak
.PHONY: bench-ngrams
.PHONY: soak-aws

setup: $(NATIVE_STAMP) $(INFRA_STAMP) browser

# The browser test drives Debian's Chromium (Playwright cannot download its own browser
# here). Installed with apt when missing, as root or through password-less sudo; where
# it cannot be, setup goes on and tests/e2e/test_page.py skips, saying why.
CHROMIUM := /usr/bin/chromium
.PHONY: browser
browser:
	@test -x $(CHROMIUM) && exit 0; \
	if [ "$$(id -u)" = 0 ]; then as_root=; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then as_root="sudo -n"; \
	else echo "note: $(CHROMIUM) is missing and apt needs root: the browser test will skip" >&2; exit 0; fi; \
	if ! command -v apt-get >/dev/null; then echo "note: no apt-get to install chromium: the browser test will skip" >&2; exit 0; fi; \
	echo "installing Debian's chromium for the browser test" >&2; \
	{ $$as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$as_root apt-get install -y -qq chromium >/dev/null; } \
	  || echo "note: chromium could not be installed: the browser test will skip" >&2

$(DEPS_STAMP): pyproject.toml infra/requirements.txt
	@command -v cargo >/dev/null || { echo "error: a Rust toolchain (cargo) is required: https://rustup.rs" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "maturin>=1.9,<2"
	$(BIN)/python -m pip install --quiet -r infra/requirements.txt
	touch $@

# maturin develop installs the package editable-style (Python sources live in python/)
# and builds the native module in release mode; the dev extra brings the test tools.
$(NATIVE_STAMP): $(DEPS_STAMP) $(RUST_SOURCES)
	$(BIN)/maturin develop --release --quiet --extras dev
	touch $@

build: $(NATIVE_STAMP)

# --- infra (CDK app: node CLI for `cdk synth`) ---
$(INFRA_STAMP): infra/package.json
	@command -v npm >/dev/null || { echo "error: Node.js with npm is required for the infrastructure tests" >&2; exit 1; }
	cd infra && npm ci --no-audit --no-fund --loglevel=error
	touch $@
# The worker image's runtime dependencies, every one (transitive ones too) pinned with
# hashes, for the image's Python and platform (Dockerfile: python:3.11-slim, linux/amd64);
# the Dockerfile installs exactly these. Regenerate after changing [project].dependencies:
# `make image-lock` keeps the pins it can, `make image-lock IMAGE_LOCK_FLAGS=--upgrade` moves
# every one to the newest release.
# The API image (Dockerfile's `api` stage) adds Lambda's runtime interface client, locked the
# same way in its own file, on top of the worker's pins (`--constraint`).
IMAGE_LOCK := image-requirements.txt
API_IMAGE_LOCK := image-api-requirements.txt
API_IMAGE_REQUIRES := awslambdaric>=3
UV_VERSION := 0.13.8
IMAGE_LOCK_FLAGS ?=
UV_COMPILE = $(VENV)/uv/bin/uv pip compile - --quiet --generate-hashes \
	--python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	--custom-compile-command "make image-lock" $(IMAGE_LOCK_FLAGS)
image-lock: $(DEPS_STAMP)
	test -x $(VENV)/uv/bin/uv || { $(PYTHON) -m venv $(VENV)/uv && $(VENV)/uv/bin/python -m pip install --quiet "uv==$(UV_VERSION)"; }
	$(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"], sep="\n")' \
	  | $(UV_COMPILE) --output-file $(IMAGE_LOCK)
	echo '$(API_IMAGE_REQUIRES)' | $(UV_COMPILE) --constraint $(IMAGE_LOCK) --output-file $(API_IMAGE_LOCK)
# --- end infra ---

# Two test processes: most tests wait on subprocesses, servers and queues rather than
# compute, so two keep a 2-core machine busy (TEST_PROCESSES=1 runs them in one).
TEST_PROCESSES ?= 2
test: setup
	cargo test --quiet --release
	$(BIN)/pytest -q -n $(TEST_PROCESSES)

# The fault trials of `make test` with many more random seeds (workers killed at chosen
# points of a job); a failing seed is printed, WORDFREQ_FAULT_SEEDS=... replays it.
.PHONY: test-faults
FAULT_TRIALS ?= 20
test-faults: $(NATIVE_STAMP)
	WORDFREQ_FAULT_TRIALS=$(FAULT_TRIALS) $(BIN)/pytest -q -n $(TEST_PROCESSES) tests/faults/test_kill_worker.py

# 2 GB of random bytes through a worker with its default settings (2 GB on disk, so not
# in `make test`, which sends 12 MB with a lower split threshold).
.PHONY: test-big-poison
test-big-poison: $(NATIVE_STAMP)
	WORDFREQ_BIG_POISON=1 $(BIN)/pytest -q -s tests/faults/test_poison.py -k two_gigabytes

# Output over 2 GiB written whole (2.2 GB to a temporary file: too slow for `make test`).
test-big-output: $(NATIVE_STAMP)
	WORDFREQ_BIG_OUTPUT=1 $(BIN)/pytest -q tests/test_output.py -k over_2_gib

# The main job: upload the sample through the embedded stack (no account, no server;
# `submit` brings its own workers when no `wordfreq up` is running on the data directory).
# Without English stop words the top ten would be "the, of, a, to, and, ...".
demo: $(NATIVE_STAMP)
	$(BIN)/wordfreq submit --stopwords english samples/snelling-photography.txt

demo-aws: $(NATIVE_STAMP)
	$(BIN)/python tools/demo_aws.py samples/snelling-photography.txt

# countwords' optimized.c, the C baseline of `make bench`, built when there is a C compiler.
OPTIMIZED_C := ../shared/baselines/countwords-optimized.c
OPTIMIZED := bench/data/optimized
$(OPTIMIZED): $(OPTIMIZED_C)
	mkdir -p $(@D)
	cc -O2 -o $@ $<

bench: $(NATIVE_STAMP)
	@if command -v cc >/dev/null && test -f $(OPTIMIZED_C); then $(MAKE) --no-print-directory $(OPTIMIZED); \
	else echo "note: no cc or no $(OPTIMIZED_C): the benchmark leaves optimized.c out" >&2; fi
	cd bench && ../$(BIN)/python bench_count.py

# Document support's cost to plain text (the 37 MB count sniffed or not, start-up) and
# extraction speed; BEFORE=path/to/another/wordfreq adds a before/after row.
bench-documents: $(NATIVE_STAMP)
	cd bench && ../$(BIN)/python bench_documents.py $(if $(BEFORE),--before $(BEFORE))

bench-pipeline: $(NATIVE_STAMP)
	cd bench && ../$(BIN)/python bench_pipeline.py

# The job path against the compatible path, with 5,000 orphaned results on the queue.
bench-orphans: $(NATIVE_STAMP)
	cd bench && ../$(BIN)/python bench_orphans.py

# Peak RSS on an `a`-bomb, 200 MB lines and 1 GB of text; fails over 150 MiB. Then the
# worker on 0.3M and 3M distinct words: fails when the job path peaks 10% over the
# compatible path.
bench-memory: $(NATIVE_STAMP)
	cd bench && ../$(BIN)/python bench_memory.py

# A 2 GB file through the embedded stack with 1 and 2 worker processes (split into ranges).
bench-split: $(NATIVE_STAMP)
	cd bench && ../$(BIN)/python bench_split.py

# --threads scaling: a ~1 GB file read by the core in ranges vs streamed, 1 and 2 threads.
bench-threads: $(NATIVE_STAMP)
	cd bench && ../$(BIN)/python bench_threads.py

# `count --ngrams 2` and `3` against single words on the 37 MB input; BEFORE=DIR (another
# checkout's python/, its core built) adds single words before the change, interleaved.
bench-ngrams: $(NATIVE_STAMP)
	cd bench && ../$(BIN)/python bench_ngrams.py $(if $(BEFORE),--before $(abspath $(BEFORE)))

# English throughput of the core before the segmentation of unspaced scripts against this
# core, taking turns; Chinese throughput. bench/RESULTS.md "segment". The core before is
# built once (as `make build` builds it) from SEGMENT_BASE, by default the commit before the
# segmentation landed (4b9312e^), and kept under that commit's id in bench/data/core-before,
# so another base is another build.
SEGMENT_BASE ?= 143e0c3
SEGMENT_BASE_ID := $(shell git rev-parse --verify --quiet '$(SEGMENT_BASE)^{commit}' 2>/dev/null)
CORE_BEFORE := bench/data/core-before/$(SEGMENT_BASE_ID)/_core.so
$(CORE_BEFORE): $(DEPS_STAMP)
	@test -n "$(SEGMENT_BASE_ID)" || { echo "error: SEGMENT_BASE=$(SEGMENT_BASE) is not a commit of this repository" >&2; exit 1; }
	mkdir -p $(@D)
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	git archive $(SEGMENT_BASE_ID) | tar -x -C "$$tmp" && \
	(cd "$$tmp" && CARGO_TARGET_DIR=$(abspath $(@D)/..)/target $(abspath $(BIN))/maturin build \
	  --release --quiet --out "$$tmp/wheel") && \
	$(BIN)/python -c 'import sys, zipfile, pathlib; z = zipfile.ZipFile(next(pathlib.Path(sys.argv[1]).glob("*.whl"))); \
	  open(sys.argv[2], "wb").write(z.read(next(n for n in z.namelist() if "/_core." in n)))' "$$tmp/wheel" $@
bench-segment: $(NATIVE_STAMP) $(CORE_BEFORE)
	cd bench && ../$(BIN)/python bench_segment.py --before $(abspath $(CORE_BEFORE))

# 10,000 small files through the embedded stack with `submit --aggregate` (files/s, peak
# memory per process); a few minutes, so not part of `make bench`.
bench-corpus: $(NATIVE_STAMP)
	cd bench && ../$(BIN)/python bench_corpus.py

# What --stopwords auto costs on each corpus book (detection on the final counts), and a
# language's list at start-up.
bench-language: $(NATIVE_STAMP)
	cd bench && ../$(BIN)/python bench_language.py

# A corpus job's merge (what runs inside GET /corpora/{id}) for small and book-sized
# members: what MAX_CORPUS_JOBS is chosen from.
bench-corpus-merge: $(NATIVE_STAMP)
	cd bench && ../$(BIN)/python bench_corpus_merge.py

# The native core under a coverage-guided fuzzer (atheris's libFuzzer) for FUZZ_SECONDS,
# every input checked against the pure-Python reference (fuzz/cases.py). The core is
# built a second time into its own target directory with LLVM's coverage instrumentation
# (stable rustc flags; overflow checks and debug assertions on, without LTO to build
# faster); atheris goes into the venv here only. New inputs land in target/fuzz/corpus,
# a mismatch or crash in target/fuzz/artifacts (keep it in fuzz/regressions).
FUZZ_SECONDS ?= 300
FUZZ_DIR := target/fuzz
FUZZ_CORE := $(FUZZ_DIR)/release/libwordfreq_core.so
FUZZ_STAMP := $(VENV)/.fuzz-stamp
SANCOV_FLAGS := -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=3 \
	-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
	-Cllvm-args=-sanitizer-coverage-trace-compares
$(FUZZ_STAMP): $(DEPS_STAMP)
	$(BIN)/python -m pip install --quiet "atheris>=2.3,<4"
	touch $@
# Only the core's own crate is instrumented (`cargo rustc` flags apply to it alone).
$(FUZZ_CORE): $(RUST_SOURCES) | $(DEPS_STAMP)
	PYO3_PYTHON=$(abspath $(BIN)/python) CARGO_TARGET_DIR=$(FUZZ_DIR) \
	CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
	CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true \
	cargo rustc --quiet --release --lib --crate-type cdylib --features extension-module -- $(SANCOV_FLAGS)
fuzz: $(NATIVE_STAMP) $(FUZZ_STAMP) $(FUZZ_CORE)
	set -o pipefail; $(BIN)/python fuzz/fuzz_core.py --core $(FUZZ_CORE) --work $(FUZZ_DIR) \
	  --seconds $(FUZZ_SECONDS) 2>&1 | tee $(FUZZ_DIR)/fuzz.log | grep -v '^#[0-9]*.*\(NEW\|REDUCE\)'
	$(BIN)/python fuzz/summary.py $(FUZZ_DIR)/fuzz.log $(FUZZ_DIR)/corpus

# 10,000 jobs (1 KB to 5 MB, both modes, both paths) from 10 clients through `wordfreq up
# --workers 2`, one worker process SIGKILLed and restarted part-way: jobs/s, latency,
# nothing lost or printed twice, every result checked, memory flat, storage bounded.
# Tens of minutes; fails when a must does. Figures appended to bench/RESULTS.md.
SOAK_FLAGS ?=
soak: $(NATIVE_STAMP)
	$(BIN)/python -m tools.soak --backend embedded --jobs 10000 --record $(SOAK_FLAGS)

# The same against moto's server (S3, SQS, DynamoDB on loopback), 1,000 jobs.
soak-aws: $(NATIVE_STAMP)
	$(BIN)/python -m tools.soak --backend aws --jobs 1000 --record $(SOAK_FLAGS)

lint: setup
	$(BIN)/ruff check python tests bench infra tools fuzz
	$(BIN)/ruff format --check python tests bench infra tools fuzz
	$(BIN)/mypy
	$(BIN)/python -m mypy.stubtest wordfreq_service._core
	MYPYPATH=infra:infra/tests $(BIN)/mypy --strict infra/wordfreq_infra infra/app.py infra/tests
	cargo clippy --release --all-targets -- -D warnings
	cargo fmt --check

fmt: $(DEPS_STAMP)
	$(BIN)/ruff format python tests bench infra tools fuzz
	$(BIN)/ruff check --fix python tests bench infra tools fuzz
	cargo fmt

clean:
	rm -rf $(VENV) target infra/node_modules infra/cdk.out
