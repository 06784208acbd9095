"""The soak's short version (`make soak` and `make soak-aws` run the long ones): jobs of
mixed sizes in both modes from ten concurrent clients on both paths, one worker process
SIGKILLed part-way and restarted by its parent. Every must of the long run holds: no job
lost, none failed, no result printed twice, every result equal to a local count of the
same bytes, memory flat, the embedded stack's storage within its bounds.

The work queue's visibility timeout is short here (the killed worker's job comes back
in seconds, not the default 30) to keep the suite fast; the seed is printed on failure
with the whole report, so a failure can be replayed with `python -m tools.soak`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import CORPUS
from tools.soak.report import render
from tools.soak.run import Config, Report, run_soak

pytestmark = pytest.mark.skipif(
    not any(CORPUS.glob("*.txt")), reason=f"the shared corpus ({CORPUS}) is missing"
)

SEED = int(os.environ.get("WORDFREQ_SOAK_SEED", "11"))


def assert_musts(report: Report) -> None:
    text = "\n".join(render(report, description=f"seed {report.config.seed}"))
    assert report.failures() == [], text
    # The figures the musts are made of, so a report that forgot one cannot pass.
    assert report.kill.replaced_by is not None, text
    assert not report.lost and not report.failed and report.duplicates == 0, text
    assert report.checked == report.config.jobs, text
    assert {o.job.path for o in report.outcomes} == {"job", "compatible"}, text
    assert {o.job.mode for o in report.outcomes} == {"words", "seed"}, text
    # Memory was judged, not waved through for want of samples.
    assert any(s.quarters() for s in report.memory if s.label.startswith("worker (pid")), text


def test_embedded_soak(tmp_path: Path) -> None:
    config = Config(
        backend="embedded",
        jobs=200,
        max_size=256 << 10,
        batch_size=10,
        seed=SEED,
        kill_at=0.3,
        timeout=60,
        visibility_timeout=3,
        sample_s=0.2,
    )
    report = run_soak(config, tmp_path)
    assert_musts(report)
    state = report.data_dir
    assert state is not None
    assert len(state.other_objects) <= state.bounds["uploads"] and state.unaccounted == 0
    assert state.messages.get("work", 0) == 0


def test_aws_soak(tmp_path: Path, moto_endpoint: str) -> None:
    config = Config(
        backend="aws",
        jobs=50,
        max_size=128 << 10,
        batch_size=10,
        seed=SEED,
        kill_at=0.3,
        timeout=60,
        visibility_timeout=3,
        sample_s=0.2,
    )
    report = run_soak(config, tmp_path, endpoint=moto_endpoint)
    assert_musts(report)
    assert report.aws is not None and report.aws["other objects"] == 0
