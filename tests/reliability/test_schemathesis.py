"""Schemathesis over the whole OpenAPI schema, in-process through the Django WSGI app, with an
authenticated client per kind of principal: 0 server errors, 0 responses that violate the schema,
0 operations that ignore authentication. Bounded for CI (FUZZ_MAX_EXAMPLES, default 5 per
operation); `make fuzz` runs a longer campaign with more examples."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import ignored_auth, response_schema_conformance

from tests.factories.declarations import world_create
from tests.factories.manifests import carrier_with_token
from tests.factories.transit import tracking_system_token

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "5"))
CHECKS = [not_a_server_error, response_schema_conformance, ignored_auth]


def _raw_schema() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


# The CUSCAR endpoint takes raw EDIFACT text: sent as generated strings, like text/plain.
schemathesis.serializer.alias("application/edifact", "text/plain")
schema = schemathesis.openapi.from_dict(_raw_schema())
schema.app = get_wsgi_application()


@pytest.fixture
def tokens(db: Any, officer_token: str) -> dict[str, str]:
    world = world_create()
    _, carrier = carrier_with_token(carrier=world.manifest.carrier)
    return {"agent": world.token, "carrier": carrier, "tracking": tracking_system_token(), "officer": officer_token}


@pytest.fixture(autouse=True)
def _requests_keep_the_test_transaction() -> Iterator[None]:
    """What Django's test client does: the WSGI handler must not close the test's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def principal_for(path: str, method: str) -> str:
    """The kind of principal each part of the API is for (API.md)."""
    if path.startswith(("/api/v1/manifests", "/api/v1/bills-of-lading")):
        return "carrier"
    if path == "/api/v1/transit/tracking-events":
        return "tracking"
    if path == "/api/v1/transit/queue":
        return "officer"
    return "agent"


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: Any, tokens: dict[str, str]) -> None:
    token = tokens[principal_for(case.operation.path, case.method)]
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
