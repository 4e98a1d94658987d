"""Every error is RFC 9457 problem+json with a stable code and JSON pointers."""

import json

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "errors"}


@pytest.fixture
def client_with_token() -> APIClient:
    user = User.objects.create_user("agent1", password="x")
    token = Token.objects.create(user=user)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _problem(response) -> dict:
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == response.status_code
    assert body["type"] == f"urn:forodha:problem:{body['code']}"
    return body


def test_validation_errors_list_every_problem_with_json_pointers(client_with_token):
    # given a body with a wrong type, a nested bad item, an unknown nested field and an unknown field
    body = {
        "name": "x" * 11,
        "amount": "abc",
        "items": [{"hs_code": "8703.22.90", "packages": 1}, {"hs_code": "87", "packages": 0, "colour": "red"}],
        "surprise": True,
    }
    # when
    response = client_with_token.post("/api/v1/test/echo", body, format="json")
    # then every problem is reported at once, each with its pointer
    assert response.status_code == 400
    problem = _problem(response)
    assert problem["code"] == "validation_error"
    assert {(e["pointer"], e["code"]) for e in problem["errors"]} == {
        ("/name", "max_length"),
        ("/amount", "invalid"),
        ("/items/1/hs_code", "invalid"),
        ("/items/1/packages", "min_value"),
        ("/items/1/colour", "unknown_field"),
        ("/surprise", "unknown_field"),
    }


def test_json_pointer_tokens_are_escaped():
    from core.problems import join_pointer

    assert join_pointer("items", 3, "a/b~c") == "/items/3/a~1b~0c"


def test_malformed_json_is_a_parse_error(client_with_token):
    response = client_with_token.post("/api/v1/test/echo", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert _problem(response)["code"] == "parse_error"


def test_wrong_content_type_is_415(client_with_token):
    response = client_with_token.post("/api/v1/test/echo", data="a=b", content_type="text/plain")
    assert response.status_code == 415
    assert _problem(response)["code"] == "unsupported_media_type"


def test_missing_token_is_401_with_challenge():
    response = APIClient().post("/api/v1/test/echo", {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert _problem(response)["code"] == "not_authenticated"


def test_bad_token_is_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/test/forbidden")
    assert response.status_code == 401
    assert _problem(response)["code"] == "authentication_failed"


def test_forbidden_is_403(client_with_token):
    response = client_with_token.get("/api/v1/test/forbidden")
    assert response.status_code == 403
    assert _problem(response)["code"] == "permission_denied"


def test_domain_conflict_keeps_its_code(client_with_token):
    response = client_with_token.get("/api/v1/test/conflict")
    assert response.status_code == 409
    problem = _problem(response)
    assert problem["code"] == "illegal_transition"
    assert problem["detail"] == "Cannot go from released to draft."


def test_unknown_api_path_is_404_problem(client_with_token):
    response = client_with_token.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert _problem(response)["code"] == "not_found"


def test_wrong_method_is_405(client_with_token):
    response = client_with_token.delete("/api/v1/test/echo")
    assert response.status_code == 405
    assert _problem(response)["code"] == "method_not_allowed"


def test_unhandled_exception_is_500_without_internals(client_with_token):
    response = client_with_token.get("/api/v1/test/boom")
    assert response.status_code == 500
    problem = _problem(response)
    assert problem["code"] == "server_error"
    assert b"hunter2" not in response.content
    assert b"Traceback" not in response.content


def test_oversized_body_is_413_before_parsing(client_with_token, settings):
    settings.FORODHA_MAX_BODY_BYTES = 1000
    response = client_with_token.post("/api/v1/test/echo", data="x" * 2000, content_type="application/json")
    assert response.status_code == 413
    assert _problem(response)["code"] == "request_too_large"


def test_deep_nesting_is_a_parse_error_not_a_crash(client_with_token):
    raw = "[" * 10_000 + "]" * 10_000
    response = client_with_token.post("/api/v1/test/echo", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert _problem(response)["code"] == "parse_error"


def test_lone_surrogate_key_is_refused_with_a_pointer_to_its_object(client_with_token):
    raw = '{"name": "tea", "items": [{"\\ud800": 1}]}'
    response = client_with_token.post("/api/v1/test/echo", data=raw, content_type="application/json")
    assert response.status_code == 400
    problem = _problem(response)
    assert [(e["pointer"], e["code"]) for e in problem["errors"]] == [("/items/0", "invalid_character")]
