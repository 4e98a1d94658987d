"""One response shape per resource (issue #19): the system status, the receipt keys and the
receipt look-up are rendered by the serializers their OpenAPI responses name. Real responses are checked against the
serializer's fields (recursively) and the generated OpenAPI component."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from intake import keys
from intake.models import BufferedSubmission, ProvisionalRelease, ReleaseRuleSnapshot
from intake.provisional import _b64url_decode, token_sign
from intake.selectors import receipt_state
from maintenance.apis import (
    ReceiptKeyListSerializer,
    ReceiptKeySerializer,
    ReceiptStateSerializer,
    SystemStatusSerializer,
)
from maintenance.enums import SubmissionStatus, WindowMode, WindowScope
from maintenance.provisional import release_snapshot_refresh
from maintenance.release_apis import (
    ProvisionalReleaseCheckSerializer,
    ProvisionalReleaseClaimsSerializer,
    ProvisionalReleaseRuleSerializer,
    ProvisionalReleaseRulesSerializer,
)
from tests.declarations.test_response_shapes import (
    assert_component_names_the_fields,
    assert_keys_match,
    assert_response_names,
    assert_valid,
)
from tests.factories.maintenance import BufferedSubmissionFactory, MaintenanceWindowFactory, OutageFactory
from tests.maintenance.test_provisional_release import _issued, _retoken, primary, world  # noqa: F401 - fixtures

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


# ------------------------------------------------------------------------------------------------
# Provisional releases: the verify answer in every case, and the published rules. Exact bodies
# (captured from the hand-built responses before they were rendered by serializers).

EAT_T0 = "2026-12-01T12:00:00+03:00"  # T0 in East Africa Time, as the answers write it
EAT_T0_72H = "2026-12-04T12:00:00+03:00"


def _check(token: str) -> dict[str, Any]:
    response = APIClient().get("/api/v1/provisional-releases/verify", {"token": token})
    assert response.status_code == 200, response.content
    return response.json()


def test_the_verify_answer_is_exact_in_every_case(clock, primary, world, openapi) -> None:  # noqa: F811 - fixtures
    # given a tea export buffered with the primary away: a release was issued with its receipt
    issued = _issued(primary, world)
    token = issued["token"]
    kid = json.loads(_b64url_decode(token.split(".")[0]))["kid"]
    submission_id = issued["claims"]["sub"]
    release = {"release_id": issued["release_id"], "submission_id": submission_id, "trader_pin": world.trader.pin,
               "regime": "EX1", "office": "MBA", "bills_of_lading": [], "containers": [],
               "goods": {"description": "Black tea CTC BP1, 60 kg paper sacks", "hs": ["0902.40.10"], "items": 1,
                         "packages": 320},
               "rule": "perishable-exports", "issued_at": EAT_T0, "expires_at": EAT_T0_72H}
    claims = json.loads(_b64url_decode(token.split(".")[1]))
    forged = _retoken(token, claims={**claims, "pin": "P000000000Z"})
    unknown_kid = _retoken(token, claims=claims, key=Ed25519PrivateKey.generate(), kid="ed25519:ffffffffffffffff")
    no_period, _ = token_sign({"jti": "not-a-uuid", "sub": submission_id})

    answers = {
        "valid": _check(token),
        "bad_signature": _check(forged),
        "unknown_key": _check(unknown_kid),
        "malformed": _check("e30.e30.AAAA"),
        "malformed, signed": _check(no_period),
    }
    BufferedSubmission.objects.filter(pk=submission_id).delete()
    answers["valid, no submission row"] = _check(token)
    ProvisionalRelease.objects.all().delete()
    answers["unknown_release"] = _check(token)
    clock.advance(hours=72)
    answers["expired"] = _check(token)

    expected = {
        "valid": {"valid": True, "key_id": kid, "submission_state": "buffered", "release": release},
        "bad_signature": {"valid": False, "key_id": kid, "reason": "bad_signature",
                          "detail": "The signature does not match the token's contents."},
        "unknown_key": {"valid": False, "key_id": "ed25519:ffffffffffffffff", "reason": "unknown_key",
                        "detail": "No published key has the id ed25519:ffffffffffffffff."},
        "malformed": {"valid": False, "reason": "malformed",
                      "detail": "Not a Forodha provisional release (alg, typ or kid)."},
        "malformed, signed": {"valid": False, "key_id": kid, "reason": "malformed",
                              "detail": "The token has no validity period.",
                              "release": {"release_id": "not-a-uuid", "submission_id": submission_id,
                                          "trader_pin": None, "regime": None, "office": None, "bills_of_lading": [],
                                          "containers": [], "goods": {}, "rule": None, "issued_at": None,
                                          "expires_at": None}},
        "valid, no submission row": {"valid": True, "key_id": kid, "submission_state": None, "release": release},
        "unknown_release": {"valid": False, "key_id": kid, "reason": "unknown_release",
                            "detail": "Forodha has no record of this release.", "release": release},
        "expired": {"valid": False, "key_id": kid, "reason": "expired",
                    "detail": "The release expired at 2026-12-04T09:00:00+00:00.", "release": release},
    }
    for case, answer in answers.items():
        assert json.dumps(answer) == json.dumps(expected[case]), case
    # and each answer is ProvisionalReleaseCheckSerializer's (its optional keys aside), the class the
    # schema names
    for answer in answers.values():
        assert_valid(answer, openapi, "ProvisionalReleaseCheck")
        assert set(answer) <= set(ProvisionalReleaseCheckSerializer().fields)
        assert list(answer) == [name for name in ProvisionalReleaseCheckSerializer().fields if name in answer]
        if "release" in answer:
            assert_keys_match(answer["release"], ProvisionalReleaseClaimsSerializer())
    assert_response_names(openapi, "/api/v1/provisional-releases/verify", "get", "200", "ProvisionalReleaseCheck")
    assert_component_names_the_fields(openapi, "ProvisionalReleaseCheck", ProvisionalReleaseCheckSerializer())
    assert_component_names_the_fields(openapi, "ProvisionalReleaseClaims", ProvisionalReleaseClaimsSerializer())
    check = openapi["components"]["schemas"]["ProvisionalReleaseCheck"]
    assert check["required"] == ["valid"]
    assert check["properties"]["submission_state"]["nullable"] is True


def test_the_published_rules_are_exact(clock, openapi) -> None:
    # before intake has a copy, then after the refresh
    ReleaseRuleSnapshot.objects.all().delete()
    before = APIClient().get("/api/v1/provisional-releases/rules").json()
    release_snapshot_refresh()
    after = APIClient().get("/api/v1/provisional-releases/rules")
    assert after.status_code == 200
    digest = ReleaseRuleSnapshot.objects.get().digest
    assert json.dumps(before) == json.dumps(
        {"refreshed_at": None, "digest": None, "watch_listed_never_qualify": True, "rules": []})
    assert json.dumps(after.json()) == json.dumps({
        "refreshed_at": EAT_T0, "digest": digest, "watch_listed_never_qualify": True, "rules": [
            {"code": "perishable-exports", "name": "Perishable exports (HS chapters 06-09)", "flow": "export",
             "hs_prefixes": ["06", "07", "08", "09"], "requires_aeo": False, "validity_hours": 72},
            {"code": "aeo-imports", "name": "Imports of Authorised Economic Operators", "flow": "import",
             "hs_prefixes": [], "requires_aeo": True, "validity_hours": 72}]})
    # and both are ProvisionalReleaseRulesSerializer's, the class the schema names
    for body in (before, after.json()):
        assert_keys_match(body, ProvisionalReleaseRulesSerializer())
        assert_valid(body, openapi, "ProvisionalReleaseRules")
    assert_response_names(openapi, "/api/v1/provisional-releases/rules", "get", "200", "ProvisionalReleaseRules")
    assert_component_names_the_fields(openapi, "ProvisionalReleaseRules", ProvisionalReleaseRulesSerializer())
    assert_component_names_the_fields(openapi, "ProvisionalReleaseRule", ProvisionalReleaseRuleSerializer())
