"""One response shape per resource (issue #19): the system status, the receipt keys and the
receipt look-up are rendered by the serializers their OpenAPI responses name. Real responses are checked against the
serializer's fields (recursively) and the generated OpenAPI component."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from intake import keys
from intake.selectors import receipt_state
from maintenance.apis import (
    ReceiptKeyListSerializer,
    ReceiptKeySerializer,
    ReceiptStateSerializer,
    SystemStatusSerializer,
)
from maintenance.enums import SubmissionStatus, WindowMode, WindowScope
from tests.declarations.test_response_shapes import assert_keys_match, assert_valid
from tests.factories.maintenance import BufferedSubmissionFactory, MaintenanceWindowFactory, OutageFactory

from .conftest import T0

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_system_status_renders_exactly_the_serializer_shape(clock, api_client, openapi) -> None:
    # quiet, then a buffer window with an upcoming one, then an outage too
    bodies = [api_client.get("/api/v1/system/status").json()]
    active = MaintenanceWindowFactory(starts_at=T0 - H, ends_at=T0 + H, scope=WindowScope.FULL,
                                      mode=WindowMode.BUFFER, reason="Core upgrade")
    MaintenanceWindowFactory(starts_at=T0 + 30 * H, ends_at=T0 + 32 * H, reason="Patch")
    BufferedSubmissionFactory(window=active)
    bodies.append(api_client.get("/api/v1/system/status").json())
    OutageFactory(started_at=T0 - 2 * H, reason="Power")
    bodies.append(api_client.get("/api/v1/system/status").json())
    assert bodies[0]["maintenance"]["window"] is None
    assert bodies[1]["maintenance"]["window"]["reason"] == "Core upgrade"
    assert bodies[1]["upcoming"]
    for body in bodies:
        assert_keys_match(body, SystemStatusSerializer())
        assert_valid(body, openapi, "SystemStatus")


def test_receipt_keys_render_exactly_the_serializer_shape(clock, api_client, openapi) -> None:
    # the current key, then the list after a rotation (the retired key has a valid_to)
    current = api_client.get("/api/v1/system/receipt-key").json()
    keys.key_rotate()
    listed = api_client.get("/api/v1/system/receipt-keys").json()
    assert [k["current"] for k in listed["keys"]] == [True, False]
    assert listed["keys"][1]["key_id"] == current["key_id"]
    assert listed["keys"][1]["valid_to"] is not None
    assert_keys_match(current, ReceiptKeySerializer())
    assert_valid(current, openapi, "ReceiptKey")
    assert_keys_match(listed, ReceiptKeyListSerializer())
    assert_valid(listed, openapi, "ReceiptKeyList")


def test_receipt_states_render_exactly_the_serializer_shape(clock, openapi) -> None:
    # every state of a buffered submission (the look-up over HTTP: test_database_down.py)
    rows = [
        BufferedSubmissionFactory(status=SubmissionStatus.PENDING),
        BufferedSubmissionFactory(status=SubmissionStatus.REPLAYING),
        BufferedSubmissionFactory(status=SubmissionStatus.LODGED, finished_at=T0, result={
            "resource_id": "d-1", "entry_number": "26MBAIM400000018", "result": {"status": "assessed"}}),
        BufferedSubmissionFactory(status=SubmissionStatus.LODGED, finished_at=T0, result={
            "resource_id": "d-2", "entry_number": None}),
        BufferedSubmissionFactory(status=SubmissionStatus.REJECTED, finished_at=T0, result={
            "code": "validation_error", "detail": "The request has validation errors.",
            "errors": [{"code": "required", "detail": "Required.", "pointer": "/items"}]}),
    ]
    rendered = []
    for row in rows:
        document = receipt_state(submission_id=row.pk)
        data = ReceiptStateSerializer(document).data
        assert json.dumps(ReceiptStateSerializer.render(document)) == json.dumps(document)
        assert json.dumps(data) == json.dumps(document)
        rendered.append(data)
    assert [d["state"] for d in rendered] == ["buffered", "replaying", "lodged", "lodged", "rejected"]
    assert rendered[2]["lodged"]["result"] == {"status": "assessed"}
    assert "result" not in rendered[3]["lodged"]
    for data in rendered:
        assert_valid(data, openapi, "ReceiptState")
        lodged = data["lodged"]
        if lodged is not None and "result" not in lodged:  # an optional key: the others are all there
            lodged = {**lodged, "result": None}
        assert_keys_match({**data, "lodged": lodged}, ReceiptStateSerializer())
