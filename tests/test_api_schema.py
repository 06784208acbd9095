"""schemathesis against the job API's own ``/openapi.json``, in-process (ASGI), on the
embedded stack: for requests generated from the schema, valid and not, no server error,
and every answer is one the schema describes (status, content type, body).

Examples are capped per operation, and drawn the same way every run (derandomized: a
failure here is the code's, not the luck of the draw), so the run stays well under 20 s.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.api.app import create_app
from wordfreq_service.api.settings import ApiSettings
from wordfreq_service.api.uploads import UploadSigner
from wordfreq_service.service.jobs import JobService, JobSettings

from tests.api_fixtures import TEST_LIMIT

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _app() -> FastAPI:
    # The schema is read when the module is collected (schemathesis' fixture loader
    # does not work with this pytest), so the stack is made then, and removed at exit.
    data_dir = Path(tempfile.mkdtemp(prefix="wordfreq-schema-"))
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    service = JobService(open_embedded(data_dir), JobSettings(max_upload_bytes=TEST_LIMIT))
    return create_app(
        service,
        ApiSettings(max_upload_bytes=TEST_LIMIT),
        uploads=UploadSigner.in_data_dir(data_dir),
    )


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_conforms_to_its_schema(case: Case[Any]) -> None:
    case.call_and_validate(checks=CHECKS)
