"""The API against its own OpenAPI schema: schemathesis generates requests from the schema the
running app publishes (data that fits it, and data that does not) and checks each answer: never
a server error, a status, content type and body the schema documents, and invalid data refused.

The requests go in-process (ASGI) to the app of the `api` fixture, in the test's event loop, so
the app runs its real lifespan on either database; a short run per mode, over every operation."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.generation import GenerationMode

from tests.test_api_input import AUTH, api, database  # noqa: F401 (fixtures)

OPERATIONS = ("/api/v1/stats", "/api/v1/visits", "/api/v1/disputes", "/api/v1/summaries",
              "/api/v1/export.xlsx", "/api/v1/report.docx", "/api/v1/targets",
              "/api/v1/systems", "/api/v1/coverage")
COMMON = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance"]
CHECKS = {GenerationMode.POSITIVE: COMMON,
          GenerationMode.NEGATIVE: [*COMMON, "negative_data_rejection"]}
_strategies: dict[tuple[str, GenerationMode], Any] = {}


def _strategy(openapi: dict[str, Any], path: str, mode: GenerationMode) -> Any:
    """Cases for one operation, from the schema the app serves (built once per run)."""
    if (path, mode) not in _strategies:
        schema = schemathesis.openapi.from_dict(openapi)
        _strategies[(path, mode)] = schema[path]["GET"].as_strategy(generation_mode=mode,
                                                                     headers=AUTH)
    return _strategies[(path, mode)]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@settings(max_examples=60, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@given(data=st.data())
async def test_every_answer_is_one_the_schema_documents(api, mode, data):  # noqa: F811
    openapi = (await api.get("/openapi.json")).json()
    assert set(OPERATIONS) == {p for p in openapi["paths"] if p.startswith("/api/")}
    case = data.draw(st.sampled_from(OPERATIONS).flatmap(
        lambda path: _strategy(openapi, path, mode)))
    headers = dict(case.headers or {})  # the token is fixed in every case (401: test_api_input)
    response = await api.request(case.method, case.formatted_path, params=case.query,
                                 headers=headers)
    case.validate_response(response, checks=[getattr(checks, name) for name in CHECKS[mode]],
                           headers=headers)
