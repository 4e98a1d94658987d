"""The OpenAPI schema's examples work: every request example, sent as is to a freshly seeded demo
sandbox (`sandbox seed --scenario demo --seed 42`, what `make run` seeds), gets the answer the
schema documents under the same name; every state-dependent answer (202 contingency receipt, 409
in flight, 422 key reused, 429 throttled, 503 maintenance) is produced by setting that state up;
and every operation documents the answers the shared plumbing can give, as one problem+json schema.

Each example is sent inside a savepoint that is rolled back, so each one meets the freshly seeded
world (the order of the examples does not matter)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import inflection
import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import RequestFactory
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.test import APIClient

from core import clock
from core.idempotency import _request_hash
from core.models import IdempotencyRecord
from core.openapi import CONDITIONS, CONTINGENCY, IN_FLIGHT, KEY_REUSED, MAINTENANCE, THROTTLED
from declarations.models import Declaration
from maintenance.intake import LODGING_ENDPOINTS
from maintenance.models import BufferedSubmission, MaintenanceWindow
from maintenance.services import outage_start
from maintenance.snapshot import store
from risk.services import risk_assessment_create
from sandbox import clock as sandbox_clock
from sandbox.clock import sandbox_clock_set
from sandbox.scenarios import sandbox_seed

pytestmark = pytest.mark.django_db

PROBLEM_REF = "#/components/schemas/Problem"


def _key(name: str) -> str:
    """An example's key in the schema (drf-spectacular camelizes the names)."""
    return str(inflection.camelize(name.replace(" ", "_")))


STATE_KEYS = {_key(name): name for name in CONDITIONS}
KEY = "swagger-example-key-1"


def _schema() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


@dataclass
class Call:
    """One named example of one operation: the request and the answer documented under its name."""

    path: str
    method: str
    name: str
    body: Any = None
    has_body: bool = False
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 0
    answer: Any = None

    @property
    def url(self) -> str:
        url = self.path
        for name, value in self.path_params.items():
            url = url.replace("{" + name + "}", value)
        return url


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method.upper(), operation


def _answers(operation: dict[str, Any]) -> dict[str, tuple[int, Any]]:
    """Response examples by name: (status, value). A name documents exactly one answer."""
    found: dict[str, tuple[int, Any]] = {}
    for status, response in operation["responses"].items():
        for media in (response.get("content") or {}).values():
            for name, example in (media.get("examples") or {}).items():
                assert name not in found, f"example {name!r} documents two answers"
                found[name] = (int(status), example["value"])
    return found


def _calls(path: str, method: str, operation: dict[str, Any]) -> list[Call]:
    """Every request example of the operation (body and parameter examples grouped by name)."""
    body_examples: dict[str, Any] = {}
    for media in (operation.get("requestBody") or {}).get("content", {}).values():
        body_examples.update(media.get("examples") or {})
    parameters = operation.get("parameters", [])
    names = list(body_examples)
    for parameter in parameters:
        names += [n for n in parameter.get("examples", {}) if n not in names]
    answers = _answers(operation)
    calls = []
    for name in names:
        call = Call(path=path, method=method, name=name)
        if name in body_examples:
            call.body, call.has_body = body_examples[name]["value"], True
        for parameter in parameters:
            examples = parameter.get("examples", {})
            if parameter["in"] == "path":
                # A path parameter without an example of this name takes its first one.
                value = examples[name] if name in examples else next(iter(examples.values()), None)
                assert value is not None, f"{method} {path}: path parameter {parameter['name']} has no example"
                call.path_params[parameter["name"]] = str(value["value"])
            elif name in examples:
                target = call.query if parameter["in"] == "query" else call.headers
                target[parameter["name"]] = str(examples[name]["value"])
        assert name in answers, f"{method} {path}: request example {name!r} documents no answer"
        call.status, call.answer = answers[name]
        calls.append(call)
    return calls


def _is_subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _is_subset(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(expected) == len(actual)
                and all(_is_subset(e, a) for e, a in zip(expected, actual, strict=True)))
    return bool(expected == actual)


def _principal(path: str) -> str:
    return "carrier" if path.startswith(("/api/v1/manifests", "/api/v1/bills-of-lading")) else "agent"


class Demo:
    def __init__(self, credentials: dict[str, Any]) -> None:
        self.tokens = {"agent": credentials["agents"][0]["token"], "carrier": credentials["carriers"][0]["token"]}

    def send(self, call: Call, *, token: str | None = "default", headers: dict[str, str] | None = None) -> Any:
        client = APIClient()
        if token == "default":
            principal = _principal(call.path)
            if call.status == 403:  # the other kind of client (agent <-> carrier)
                principal = "agent" if principal == "carrier" else "carrier"
            token = None if call.status == 401 else self.tokens[principal]
        all_headers = {**call.headers, **(headers or {})}
        if token is not None:
            all_headers["Authorization"] = f"Token {token}"
        kwargs: dict[str, Any] = {"headers": all_headers}
        if call.has_body:
            kwargs.update(data=json.dumps(call.body), content_type="application/json")
        return getattr(client, call.method.lower())(call.url + (
            "?" + "&".join(f"{k}={v}" for k, v in call.query.items()) if call.query else ""), **kwargs)

    def token_for(self, call: Call) -> str:
        return self.tokens[_principal(call.path)]


def _check(call: Call, response: Any) -> None:
    where = f"{call.method} {call.path} example {call.name!r}"
    body = response.json() if response.content else None
    assert response.status_code == call.status, (where, response.status_code, body)
    if call.status >= 400:
        assert response["Content-Type"] == "application/problem+json", where
        assert body["code"] == call.answer["code"], (where, body)
        assert sorted((e["code"], e["pointer"]) for e in body["errors"]) == sorted(
            (e["code"], e["pointer"]) for e in call.answer["errors"]), (where, body)
    else:
        assert _is_subset(call.answer, body), (where, call.answer, body)


@pytest.fixture
def demo(settings: Any) -> Iterator[Demo]:
    settings.FORODHA_SANDBOX = True
    result = sandbox_seed(scenario="demo", seed=42, show_progress=False)
    store.invalidate()
    yield Demo(result.credentials)
    sandbox_clock.set_offset(0.0)
    store.invalidate()


@pytest.fixture
def schema() -> dict[str, Any]:
    return _schema()


@contextlib.contextmanager
def _fresh_world() -> Iterator[None]:
    """What happens inside is rolled back: the next example meets the freshly seeded world again.
    State outside the database (the clock offset, the maintenance snapshot) is put back too."""
    offset = clock.offset().total_seconds()
    with transaction.atomic():
        yield
        transaction.set_rollback(True)
    sandbox_clock.set_offset(offset)
    store.invalidate()


def _example_calls(schema: dict[str, Any]) -> list[Call]:
    return [call for path, method, operation in _operations(schema) for call in _calls(path, method, operation)]


def test_every_request_example_gets_its_documented_answer(demo: Demo, schema: dict[str, Any]) -> None:
    # given the schema's request examples, each tied by name to one documented answer
    calls = _example_calls(schema)
    declarations_before = Declaration.objects.count()
    assert len(calls) >= 30
    for call in calls:
        with _fresh_world():
            # when the example is sent as is to the freshly seeded demo
            response = demo.send(call)
            # then the answer is the documented one
            _check(call, response)
            if call.status >= 400 and call.path == "/api/v1/declarations":
                assert Declaration.objects.count() == declarations_before, call.name  # nothing half-saved
    # and the documented statuses cover every kind of example answer asked for
    assert {c.status for c in calls} >= {200, 201, 202, 400, 401, 403, 404, 409, 412, 428}


def test_the_swagger_default_lodging_example_is_the_valid_im4(demo: Demo, schema: dict[str, Any]) -> None:
    # given the example Swagger UI shows first for POST /api/v1/declarations
    operation = schema["paths"]["/api/v1/declarations"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    name = next(iter(examples))
    assert name == _key("IM4")
    assert examples[name]["value"]["regime"] == "IM4"
    call = next(c for c in _calls("/api/v1/declarations", "POST", operation) if c.name == name)
    # when it is sent as is
    response = demo.send(call)
    # then it is lodged and assessed, with an entry number and no error
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "assessed"
    assert re.fullmatch(r"\d{2}MBAIM4\d{8}", body["entry_number"])
    assert body["assessment"]["totals"]["total"] == body["eslip"]["amount"]
    assert Declaration.objects.filter(pk=body["id"], local_reference="PWN-API-0001").exists()


def test_outcome_letter_examples_take_their_lane(demo: Demo, schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/v1/declarations"]["post"]
    calls = {c.name: c for c in _calls("/api/v1/declarations", "POST", operation)}
    for letter, lane in (("G", "green"), ("B", "blue"), ("Y", "yellow"), ("R", "red"), ("Q", "yellow")):
        with _fresh_world():
            # given the lodging example of one sandbox outcome letter
            call = calls[_key(f"{letter} outcome")]
            assert call.body["local_reference"].startswith(letter)
            # when it is lodged and the risk engine scores it
            response = demo.send(call)
            assert response.status_code == 201, response.json()
            outcome = risk_assessment_create(declaration_id=uuid.UUID(response.json()["id"]), actor=None)
            # then the lane is the letter's, forced by the sandbox rule (Q's query comes with clearance)
            assert outcome.assessment is not None
            assert outcome.assessment.lane == lane, letter
            assert [h["forced_lane"] for h in outcome.assessment.hits if h.get("kind") == "sandbox"] == [lane]
            declaration = Declaration.objects.get(pk=response.json()["id"])
            assert (declaration.channel, declaration.status) == (lane, "assessed")


def _primary(calls: list[Call]) -> Call:
    """The operation's first request example that succeeds."""
    return next(c for c in calls if 200 <= c.status < 300)


def test_every_state_dependent_answer_is_produced(demo: Demo, schema: dict[str, Any], settings: Any) -> None:
    checked = set()
    for path, method, operation in _operations(schema):
        answers = _answers(operation)
        conditions = [STATE_KEYS[key] for key in answers if key in STATE_KEYS]
        if not conditions:
            continue
        calls = _calls(path, method, operation)
        primary = _primary(calls)
        for name in conditions:
            status, value = answers[_key(name)]
            where = f"{method} {path} {name!r}"
            with _fresh_world():
                declarations, buffered = Declaration.objects.count(), BufferedSubmission.objects.count()
                if name == CONTINGENCY:
                    # given an outage: lodging is buffered with a signed receipt, nothing is lodged
                    outage_start(reason="examples test", actor=None)
                    store.invalidate()
                    response = demo.send(primary)
                    assert response.status_code == status == 202, (where, response.content)
                    assert _is_subset(value, response.json()), where
                    assert response.json()["receipt"]["signature"]
                    assert BufferedSubmission.objects.count() == buffered + 1
                    assert Declaration.objects.count() == declarations
                    checked.add((path, method, name))
                    continue
                if name == MAINTENANCE:
                    # given the demo's maintenance window (Saturday night) has started
                    window = MaintenanceWindow.objects.get()
                    sandbox_clock_set(at=window.starts_at + dt.timedelta(minutes=5), actor_label="test")
                    store.invalidate()
                    response = demo.send(primary)
                elif name == IN_FLIGHT:
                    # given the same request with the same key is still running
                    token = demo.token_for(primary)
                    request = RequestFactory().generic(primary.method, primary.url, data=json.dumps(
                        primary.body) if primary.has_body else "", content_type="application/json")
                    now = clock.now()
                    IdempotencyRecord.objects.create(
                        scope=hashlib.sha256(f"Token {token}".encode()).hexdigest(), key=KEY,
                        method=primary.method, path=primary.url, request_hash=_request_hash(request),
                        created_at=now, expires_at=now + dt.timedelta(hours=1))
                    response = demo.send(primary, headers={"Idempotency-Key": KEY})
                elif name == KEY_REUSED:
                    # given the key was used for another request first
                    other = next(c for c in calls if c.status not in (401, 403)
                                 and (c.url, c.body) != (primary.url, primary.body))
                    first = demo.send(other, headers={"Idempotency-Key": KEY})
                    assert first.status_code == other.status, (where, first.content)
                    declarations = Declaration.objects.count()
                    response = demo.send(primary, headers={"Idempotency-Key": KEY})
                else:
                    assert name == THROTTLED
                    # given a rate of one request a minute, used up
                    cache.delete("throttle_user_token:" + hashlib.sha256(
                        demo.token_for(primary).encode()).hexdigest()[:32])  # earlier examples' requests
                    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                                               "DEFAULT_THROTTLE_RATES": {"user": "1/min", "anon": "1/min"}}
                    first = demo.send(primary)
                    assert first.status_code == primary.status, (where, first.content)
                    declarations = Declaration.objects.count()
                    response = demo.send(primary)
                    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                                               "DEFAULT_THROTTLE_RATES": {"user": "100000/min",
                                                                          "anon": "100000/min"}}
                # then the documented problem, and nothing was written
                assert response.status_code == status, (where, response.content)
                assert response["Content-Type"] == "application/problem+json", where
                assert response.json()["code"] == value["code"], (where, response.json())
                assert response.has_header("Retry-After") == (status in (409, 429, 503)), where
                assert Declaration.objects.count() == declarations, where
            checked.add((path, method, name))
    assert {name for _, _, name in checked} == set(CONDITIONS)
    assert {(p, m) for p, m, n in checked if n == CONTINGENCY} == {
        ("/api/v1/declarations", "POST"), ("/api/v1/declarations/{declaration_id}/lodge", "POST")}


def _view(path: str) -> Any:
    concrete = re.sub(r"\{[^}]+\}", lambda m: str(uuid.uuid4()) if "id" in m.group() else "1", path)
    return resolve(concrete).func.view_class()


def _lodging(path: str, method: str) -> bool:
    concrete = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
    return any(e.method == method and e.pattern.match(concrete) for e in LODGING_ENDPOINTS)


def test_every_operation_documents_its_answers(schema: dict[str, Any]) -> None:
    missing = {}
    for path, method, operation in _operations(schema):
        documented = {int(s) for s in operation["responses"]}
        security = operation.get("security", [])
        authenticated = bool(security) and {} not in security
        view = _view(path)
        required = {503} if path != "/api/v1/health/live" else set()
        if authenticated:
            required |= {401, 403}
        if "{" in path:
            required.add(404)
        if method in ("POST", "PATCH", "PUT") or any(p["in"] == "query" for p in operation.get("parameters", [])):
            required.add(400)
        if method == "POST" and authenticated:
            required |= {409, 422}  # Idempotency-Key: in flight, reused
            assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"]), (method, path)
        if any(p["name"] == "If-Match" for p in operation.get("parameters", [])):
            required |= {412, 428}
        if _lodging(path, method):
            required.add(202)  # contingency receipt
        if view.get_throttles():
            required.add(429)
        if required - documented:
            missing[f"{method} {path}"] = sorted(required - documented)
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                # then every error answer is the one problem+json schema
                assert list(response["content"]) == ["application/problem+json"], (method, path, status)
                assert response["content"]["application/problem+json"]["schema"] == {"$ref": PROBLEM_REF}
    assert missing == {}
    lodging = {(p, m) for p, m, o in _operations(schema) if "202" in o["responses"] and _lodging(p, m)}
    assert lodging == {("/api/v1/declarations", "POST"), ("/api/v1/declarations/{declaration_id}/lodge", "POST"),
                       ("/api/v1/manifests", "POST"), ("/api/v1/manifests/edifact", "POST")}
    assert set(schema["components"]["schemas"]["Problem"]["required"]) == {
        "type", "title", "status", "detail", "code", "errors"}
