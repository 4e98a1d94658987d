from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from core import clock
from declarations.models import BankCallbackNonce, Declaration, DeclarationEvent, Payment
from declarations.services import bank_callback_headers, signature_compute
from notifications.models import Notification
from tests.factories.declarations import World, body_im4

pytestmark = pytest.mark.django_db


@pytest.fixture
def lodged(client: APIClient, world: World) -> dict[str, Any]:
    response = client.post("/api/v1/declarations", body_im4(world, items=2, currency="KES"), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _pay(client: APIClient, declaration: dict[str, Any], amount: str | None = None, **extra: Any) -> Any:
    body = {"amount": amount or declaration["eslip"]["amount"], "currency": "KES", "method": "mpesa", **extra}
    return client.post(f"/api/v1/declarations/{declaration['id']}/payments", body, format="json")


def test_exact_payment_moves_to_paid(client: APIClient, lodged: dict[str, Any]) -> None:
    # when
    response = _pay(client, lodged)

    # then
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "paid"
    payment = Payment.objects.get(declaration_id=lodged["id"])
    assert data["payment"]["reference"] == payment.reference
    assert payment.amount == Declaration.objects.get(pk=lodged["id"]).eslips.get(is_current=True).amount
    assert payment.method == "mpesa"
    assert payment.paid_at <= clock.now()
    last = DeclarationEvent.objects.filter(declaration_id=lodged["id"]).order_by("-id").first()
    assert (last.from_status, last.to_status) == ("assessed", "paid")
    assert Notification.objects.filter(declaration_id=lodged["id"], kind="paid").count() == 1


def test_wrong_amount_is_refused(client: APIClient, lodged: dict[str, Any]) -> None:
    # when
    response = _pay(client, lodged, amount="1.00")

    # then
    assert response.status_code == 400
    assert response.json()["code"] == "amount_mismatch"
    assert response.json()["amount_due"] == lodged["eslip"]["amount"]
    assert [(e["code"], e["pointer"]) for e in response.json()["errors"]] == [("amount_mismatch", "/amount")]
    assert Payment.objects.count() == 0
    assert Declaration.objects.get(pk=lodged["id"]).status == "assessed"


def test_other_currency_is_refused(client: APIClient, lodged: dict[str, Any]) -> None:
    response = _pay(client, lodged, currency="USD")
    assert response.status_code == 400
    assert response.json()["code"] == "currency_not_accepted"


def test_double_payment_is_409(client: APIClient, lodged: dict[str, Any]) -> None:
    # given
    assert _pay(client, lodged).status_code == 201

    # when
    again = _pay(client, lodged)

    # then
    assert again.status_code == 409
    assert again.json()["code"] == "already_paid"
    assert Payment.objects.filter(declaration_id=lodged["id"]).count() == 1


def test_idempotency_key_replays_the_first_payment(client: APIClient, lodged: dict[str, Any]) -> None:
    # given
    first = client.post(f"/api/v1/declarations/{lodged['id']}/payments",
                        {"amount": lodged["eslip"]["amount"], "currency": "KES"}, format="json",
                        HTTP_IDEMPOTENCY_KEY="pay-1")

    # when
    second = client.post(f"/api/v1/declarations/{lodged['id']}/payments",
                         {"amount": lodged["eslip"]["amount"], "currency": "KES"}, format="json",
                         HTTP_IDEMPOTENCY_KEY="pay-1")

    # then
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1


def test_unknown_payment_fields_are_rejected(client: APIClient, lodged: dict[str, Any]) -> None:
    response = _pay(client, lodged, tip="1.00")
    assert response.status_code == 400
    assert [(e["code"], e["pointer"]) for e in response.json()["errors"]] == [("unknown_field", "/tip")]


def _meta(headers: dict[str, str]) -> dict[str, str]:
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}


def _callback(body: dict[str, Any], signature: str | None = None, **sign: Any) -> Any:
    raw = json.dumps(body).encode()
    headers = bank_callback_headers(raw, **sign)
    if signature is not None:
        headers["X-Forodha-Signature"] = signature
    if signature == "":
        del headers["X-Forodha-Signature"]
    return APIClient().generic("POST", "/api/v1/payments/bank-callback", raw, content_type="application/json",
                               **_meta(headers))


@override_settings(BANK_CALLBACK_SECRET="s3cret")
def test_bank_callback_confirms_payment_and_is_idempotent(lodged: dict[str, Any]) -> None:
    # given
    body = {"eslip_reference": lodged["eslip"]["reference"], "amount": lodged["eslip"]["amount"],
            "currency": "KES", "bank_reference": "KCB-0001", "paid_at": clock.now().isoformat()}

    # when
    first = _callback(body)
    retry = _callback(body)

    # then
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "paid"
    assert retry.status_code == 200
    assert retry.json()["replayed"] is True
    assert Payment.objects.get(declaration_id=lodged["id"]).bank_reference == "KCB-0001"


@override_settings(BANK_CALLBACK_SECRET="s3cret")
@pytest.mark.parametrize("signature", ["", "sha256=00", "sha256=" + "a" * 64])
def test_bank_callback_bad_signature_is_401(lodged: dict[str, Any], signature: str) -> None:
    # given
    body = {"eslip_reference": lodged["eslip"]["reference"], "amount": lodged["eslip"]["amount"],
            "currency": "KES", "bank_reference": "KCB-0002", "paid_at": clock.now().isoformat()}

    # when
    response = _callback(body, signature)

    # then
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert Payment.objects.count() == 0


@override_settings(BANK_CALLBACK_SECRET="s3cret")
def test_bank_callback_for_another_bank_reference_after_payment_is_409(client: APIClient,
                                                                        lodged: dict[str, Any]) -> None:
    # given
    assert _pay(client, lodged).status_code == 201
    body = {"eslip_reference": lodged["eslip"]["reference"], "amount": lodged["eslip"]["amount"],
            "currency": "KES", "bank_reference": "KCB-0003", "paid_at": clock.now().isoformat()}

    # when
    response = _callback(body)

    # then
    assert response.status_code == 409
    assert response.json()["code"] == "already_paid"


@override_settings(BANK_CALLBACK_SECRET="s3cret")
def test_bank_callback_unknown_eslip_is_404(lodged: dict[str, Any]) -> None:
    body = {"eslip_reference": "ESNOSUCH0001", "amount": "1.00", "currency": "KES", "bank_reference": "X-1",
            "paid_at": clock.now().isoformat()}
    response = _callback(body)
    assert response.status_code == 404
    assert response.json()["code"] == "eslip_not_found"


def _confirmation(lodged: dict[str, Any], bank_reference: str) -> dict[str, Any]:
    return {"eslip_reference": lodged["eslip"]["reference"], "amount": lodged["eslip"]["amount"],
            "currency": "KES", "bank_reference": bank_reference, "paid_at": clock.now().isoformat()}


@override_settings(BANK_CALLBACK_SECRET="s3cret")
def test_a_captured_bank_callback_replayed_as_is_is_409_and_changes_nothing(lodged: dict[str, Any]) -> None:
    # given a callback captured on the wire (body and its three headers)
    raw = json.dumps(_confirmation(lodged, "KCB-0100")).encode()
    headers = _meta(bank_callback_headers(raw))
    first = APIClient().generic("POST", "/api/v1/payments/bank-callback", raw, content_type="application/json",
                                **headers)
    assert first.status_code == 201, first.json()
    events = DeclarationEvent.objects.filter(declaration_id=lodged["id"]).count()

    # when it is sent again, byte for byte
    replay = APIClient().generic("POST", "/api/v1/payments/bank-callback", raw, content_type="application/json",
                                 **headers)

    # then
    assert replay.status_code == 409
    assert replay["Content-Type"] == "application/problem+json"
    assert replay.json()["code"] == "replayed_request"
    assert Payment.objects.filter(declaration_id=lodged["id"]).count() == 1
    assert DeclarationEvent.objects.filter(declaration_id=lodged["id"]).count() == events
    assert BankCallbackNonce.objects.count() == 1


@override_settings(BANK_CALLBACK_SECRET="s3cret")
def test_a_replayed_nonce_is_refused_even_when_the_first_call_failed(lodged: dict[str, Any]) -> None:
    # given a callback refused after authentication (unknown e-slip)
    body = {**_confirmation(lodged, "KCB-0101"), "eslip_reference": "ESNOSUCH0001"}
    assert _callback(body, nonce="n" * 15 + "A").status_code == 404
    # when the same nonce comes again
    replay = _callback(body, nonce="n" * 15 + "A")
    # then
    assert (replay.status_code, replay.json()["code"]) == (409, "replayed_request")


@override_settings(BANK_CALLBACK_SECRET="s3cret", BANK_CALLBACK_TOLERANCE_SECONDS=300)
@pytest.mark.parametrize("skew", [-301, 301, -10**6])
def test_a_callback_signed_outside_the_window_is_401(lodged: dict[str, Any], skew: int) -> None:
    # given a correctly signed callback whose timestamp is too old or too far ahead
    timestamp = int(clock.now().timestamp()) + skew
    # when
    response = _callback(_confirmation(lodged, "KCB-0102"), timestamp=timestamp)
    # then
    assert response.status_code == 401
    assert response.json()["code"] == "stale_timestamp"
    assert Payment.objects.count() == 0
    assert BankCallbackNonce.objects.count() == 0


@override_settings(BANK_CALLBACK_SECRET="s3cret", BANK_CALLBACK_TOLERANCE_SECONDS=300)
@pytest.mark.parametrize("skew", [-299, 299])
def test_a_callback_signed_inside_the_window_is_accepted(lodged: dict[str, Any], skew: int) -> None:
    response = _callback(_confirmation(lodged, "KCB-0103"), timestamp=int(clock.now().timestamp()) + skew)
    assert response.status_code == 201, response.json()


@override_settings(BANK_CALLBACK_SECRET="s3cret")
@pytest.mark.parametrize("tamper", ["timestamp", "nonce", "body"])
def test_the_signature_covers_timestamp_nonce_and_body(lodged: dict[str, Any], tamper: str) -> None:
    # given a valid signature, then one signed part changed
    raw = json.dumps(_confirmation(lodged, "KCB-0104")).encode()
    headers = bank_callback_headers(raw)
    if tamper == "timestamp":
        headers["X-Forodha-Timestamp"] = str(int(headers["X-Forodha-Timestamp"]) - 1)
    elif tamper == "nonce":
        headers["X-Forodha-Nonce"] = "x" * 32
    else:
        raw = raw.replace(b"KCB-0104", b"KCB-0105")
    # when
    response = APIClient().generic("POST", "/api/v1/payments/bank-callback", raw, content_type="application/json",
                                   **_meta(headers))
    # then
    assert (response.status_code, response.json()["code"]) == (401, "invalid_signature")
    assert Payment.objects.count() == 0


@override_settings(BANK_CALLBACK_SECRET="s3cret")
@pytest.mark.parametrize("missing", ["X-Forodha-Timestamp", "X-Forodha-Nonce"])
def test_a_callback_without_timestamp_or_nonce_is_401(lodged: dict[str, Any], missing: str) -> None:
    raw = json.dumps(_confirmation(lodged, "KCB-0106")).encode()
    headers = bank_callback_headers(raw)
    del headers[missing]
    response = APIClient().generic("POST", "/api/v1/payments/bank-callback", raw, content_type="application/json",
                                   **_meta(headers))
    assert (response.status_code, response.json()["code"]) == (401, "invalid_signature")
    assert Payment.objects.count() == 0


@override_settings(BANK_CALLBACK_SECRET="s3cret")
def test_the_signature_is_hmac_over_timestamp_nonce_and_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"s3cret", b"1700000000.abcdefghijklmnop.{}", hashlib.sha256).hexdigest()
    assert signature_compute(b"{}", timestamp=1700000000, nonce="abcdefghijklmnop") == f"sha256={expected}"
