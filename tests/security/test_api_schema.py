"""schemathesis against the live OpenAPI document at ``/api/v1/openapi.json``, through the WSGI app.

Every operation is called with generated data (valid and invalid) and a real tenant API key, on a
tenant with a customer, an account, an invoice and a payment request, so that generated ids sometimes
name real rows. Every answer must be documented: no 500, the status code listed for the operation, the
body matching its schema, the content type declared. Bounded and deterministic: a fixed number of
examples per operation, derandomized.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from crm import services as crm_services
from tests.helpers import examples
from tests.security.world import build_world

EXAMPLES_PER_OPERATION = examples(8)
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@pytest.fixture
def wsgi_app(api_key):
    """Django's WSGI app, called directly as a server would, but without closing the test's database
    connection at the end of each request (what Django's own test client does too; it connects the
    signal again after each of its requests, so the data is built first)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(transactional_db, tenant):
    # transactional_db: each request commits on its own, as in production, so that one refused
    # statement does not abort a test-wide transaction under every later request.
    build_world(tenant)
    _, key = crm_services.create_api_key(tenant=tenant, name="schemathesis")
    return key


def exercise(operation, *, headers: dict, exercised: list[int]) -> int:
    """Run ``operation`` on valid and invalid data; every answer is validated. Returns the cases run.

    Not checked: that every schema-valid request is accepted (``positive_data_acceptance``): a schema
    cannot say that a customer id must name one of the tenant's customers, so a well-formed request for
    a missing one is rightly refused (404/422). Nor that every schema-violating request is refused
    (``negative_data_rejection``): unknown query parameters are ignored, as HTTP APIs do, and pydantic
    reads ``0`` as a date; what such a request gets is still checked like any other answer."""
    calls = 0

    @given(case=st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in MODES)))
    @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
    def run(case):
        nonlocal calls
        calls += 1
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance, negative_data_rejection])

    try:
        run()
    finally:
        exercised.append(calls)
    return calls


def test_every_operation_answers_as_documented(wsgi_app, api_key):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app)
    failures, exercised, operations = [], [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            exercise(operation, headers={"Authorization": f"Bearer {api_key}"}, exercised=exercised)
        except (Exception, BaseExceptionGroup) as error:  # collected: all operations' failures are reported
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:1500]}")
    print(f"schemathesis: {operations} operations, {sum(exercised)} cases")

    assert failures == [], "\n\n".join(failures)
    assert operations >= 20
