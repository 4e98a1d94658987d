"""A bad-input corpus against EVERY write endpoint (derived from the URL conf): malformed JSON,
wrong types, a huge body, deep nesting, unicode edge cases, injection strings, wrong content types
and, for the EDIFACT endpoint, wrong EDIFACT. Every answer is a 4xx problem with a `code`, and
not one row of any table changes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from declarations.services import bank_callback_headers

from .conftest import client_for, table_counts
from .test_authorisation_matrix import CASES

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch")
INJECTIONS = ["'; DROP TABLE declarations_declaration; --", "\" OR 1=1 --", "<script>alert(1)</script>",
              "{{7*7}}", "${jndi:ldap://127.0.0.1/a}", "../../../../etc/passwd", "%s%s%s%n", "$where: '1 == 1'"]
UNICODE = ["\u0000", "\ud800", "\udfff", "\u202eevil\u202c", "\U0001f4a9\U0001f1f0\U0001f1ea", "\ufeff",
           "e\u0301\u0301\u0301", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629", "\uffff", "A" * 100_000]


def corpus(json_type: str) -> list[tuple[str, bytes, str]]:
    """(label, raw body, content type) — none of them a valid request to any endpoint."""
    items: list[tuple[str, bytes, str]] = [
        ("truncated json", b'{"regime": "IM4", "items": [', json_type),
        ("lone brace", b"{", json_type),
        ("trailing comma", b'{"a": 1,}', json_type),
        ("single quotes", b"{'a': 1}", json_type),
        ("NaN", b'{"amount": NaN}', json_type),
        ("not utf-8", b'{"a": "\xff\xfe\xfd"}', json_type),
        ("json null", b"null", json_type),
        ("json number", b"12345", json_type),
        ("json string", b'"a string"', json_type),
        ("json array", b"[1, 2, 3]", json_type),
        ("json true", b"true", json_type),
        ("deep arrays", b"[" * 10_000 + b"]" * 10_000, json_type),
        ("deep objects", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, json_type),
        ("huge body", b'{"a": "' + b"x" * (3 * 1024 * 1024) + b'"}', json_type),
        ("many keys", json.dumps({f"k{i}": i for i in range(20_000)}).encode(), json_type),
        ("wrong types", json.dumps({"items": "not a list", "bills_of_lading": 7, "amount": [], "url": 5,
                                    "events": "x", "local_reference": {"a": 1}}).encode(), json_type),
        ("xml", b"<?xml version='1.0'?><declaration><regime>IM4</regime></declaration>", "application/xml"),
        ("form", b"regime=IM4&items=1", "application/x-www-form-urlencoded"),
        ("text", b"regime: IM4", "text/plain"),
        ("multipart", b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n",
         "multipart/form-data; boundary=x"),
        ("no content type", b'{"a": 1}', ""),
        ("json with charset latin-1", '{"a": "\u00e9"}'.encode("latin-1"), "application/json; charset=latin-1"),
    ]
    for n, text in enumerate(INJECTIONS + UNICODE):
        # ensure_ascii: lone surrogates travel as JSON escapes (\ud800), as an attacker would send them
        items.append((f"string body {n}", json.dumps(text).encode(), json_type))
        items.append((f"unknown key {n}", json.dumps({text: text}).encode(), json_type))
    return items


EDIFACT = [
    ("json as edifact", b'{"reference": "X"}'),
    ("garbage", b"\x00\x01\x02\xff garbage"),
    ("una only", b"UNA:+.? '"),
    ("unb without unz", b"UNA:+.? 'UNB+UNOC:3+SENDER+KRA+260101:1200+1'UNH+1+CUSCAR:D:95B:UN'"),
    ("wrong message type", b"UNB+UNOC:3+S+R+260101:1200+1'UNH+1+INVOIC:D:96A:UN'BGM+380+1'UNT+3+1'UNZ+1+1'"),
    ("unbalanced release char", b"UNB+UNOC:3+S+R+260101:1200+1'UNH+1+CUSCAR:D:95B:UN'BGM+785+A??'"),
    ("deep components", b"UNB+" + b":" * 100_000 + b"'"),
    ("injection", b"UNB+UNOC:3+'; DROP TABLE manifests_manifest; --+R+260101:1200+1'"),
    ("nul in segment", b"UNB+UNOC:3+S\x00+R+260101:1200+1'UNZ+0+1'"),
    ("empty", b""),
]


def _write_routes() -> list[tuple[str, str, list[str]]]:
    """(URL name, route, write methods) of every /api/v1/ endpoint that takes a body."""
    found: list[tuple[str, str, list[str]]] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
                view = getattr(pattern.callback, "cls", None)
                methods = [m for m in WRITE_METHODS if view is not None and hasattr(view, m)]
                if methods:
                    found.append((str(pattern.name), "/" + route, methods))

    walk(get_resolver().url_patterns, "")
    return found


# Who may write to each endpoint (the owner for object routes): the corpus must reach the parser
# and validators, not stop at authentication.
WRITER = {
    "manifests": "carrier", "manifests-edifact": "carrier", "manifest-detail": "carrier",
    "manifest-lodge": "carrier", "manifest-arrival": "carrier", "manifest-discharge": "carrier",
    "transit-tracking-events": "tracking", "transit-partner-messages": "anonymous",
    "bank-callback": "anonymous",
}


# Bodies that crashed every JSON endpoint with a 500 (RecursionError in the JSON decoder; a lone
# surrogate echoed in an `unknown_field` error cannot be encoded by the renderer). They need a
# JSON parser that refuses them (reported to the lead: core/parsers.py SafeJSONParser as the
# DEFAULT_PARSER_CLASSES); kept in their own test so the rest of the corpus guards everything else.
LONE_SURROGATES = {json.dumps({text: text}).encode() for text in UNICODE if text in ("\ud800", "\udfff")}


def _is_parser_crash(label: str, raw: bytes) -> bool:
    return label in ("deep arrays", "deep objects") or raw in LONE_SURROGATES


NONCES = "declarations_bankcallbacknonce"


def _unchanged_but_nonces(before: dict[str, int], signed: int) -> None:
    """Nothing changed except the nonces of signed bank callbacks that reached the view (each is
    consumed by its signature check, before the body is refused; edge-refused ones leave none)."""
    after = table_counts()
    assert {k: v for k, v in after.items() if k != NONCES} == {k: v for k, v in before.items() if k != NONCES}
    assert before[NONCES] <= after[NONCES] <= before[NONCES] + signed


def _run(principals: Any, *, crashes: bool) -> tuple[list[str], int, int]:
    """(violations, requests sent, signed bank callbacks: each leaves its nonce, the replay guard)."""
    tokens, objects = principals
    routes = _write_routes()
    assert len(routes) >= 14  # lodging, amendment, actions, webhooks, EDIFACT, transit, bank
    violations: list[str] = []
    sent = signed = 0
    for name, route, methods in routes:
        path = CASES[name].path(objects) if name in CASES else route
        client: APIClient = client_for(tokens[WRITER.get(name, "agent")])
        client.raise_request_exception = False  # a server error is a finding, not a crash of the test
        bodies = [(label, raw, "application/edifact") for label, raw in EDIFACT] if name == "manifests-edifact" \
            else corpus("application/json")
        if name == "manifests-edifact":
            bodies += [("edifact as json", b'{"a": 1}', "application/json"),
                       ("edifact as text", b"UNB+UNOC:3+S+R+260101:1200+1'", "text/plain")]
        bodies = [b for b in bodies if _is_parser_crash(b[0], b[1]) == crashes]
        for method in methods:
            for label, raw, content_type in bodies:
                extra: dict[str, Any] = {"HTTP_IF_MATCH": "*"}
                if name == "bank-callback":
                    signed += 1
                    extra.update({"HTTP_" + k.upper().replace("-", "_"): v  # reach the parser
                                  for k, v in bank_callback_headers(raw).items()})
                response = client.generic(method.upper(), path, raw, content_type=content_type, **extra)
                sent += 1
                where = f"{method.upper()} {path} [{label}] -> {response.status_code}"
                if not 400 <= response.status_code < 500:
                    violations.append(where)
                    continue
                try:
                    code = json.loads(response.content).get("code")
                except (ValueError, AttributeError):
                    code = None
                if not code:
                    violations.append(f"{where} without a problem code")
    return violations, sent, signed


def test_every_write_endpoint_answers_the_corpus_with_4xx_problems_and_changes_nothing(principals: Any) -> None:
    # given
    before = table_counts()
    # when
    violations, sent, signed = _run(principals, crashes=False)
    # then: nothing changed but the nonces of the signed bank callbacks (each refused after its check)
    assert violations == [], "\n".join(violations)
    assert sent > 600
    _unchanged_but_nonces(before, signed)


def test_deep_nesting_and_lone_surrogates_are_refused_with_400_not_500(principals: Any) -> None:
    # given
    before = table_counts()
    # when: 10,000 nested arrays/objects, lone surrogates (JSON escapes) as keys, at every JSON endpoint
    violations, sent, signed = _run(principals, crashes=True)
    # then
    assert violations == [], "\n".join(violations)
    assert sent > 40
    _unchanged_but_nonces(before, signed)


@pytest.mark.parametrize("raw", [b"null", b"[]", b"0", b"false", b'""'])
def test_cancel_with_a_body_that_is_not_an_object_is_400_and_cancels_nothing(principals: Any, raw: bytes) -> None:
    # given: a lodged declaration of the agent (the cancel endpoint used to read any falsy JSON
    # body as "no body" and cancel)
    from declarations.models import Declaration

    tokens, objects = principals
    client = client_for(tokens["agent"])
    # when
    response = client.generic("POST", f"/api/v1/declarations/{objects['declaration']}/cancel", raw,
                              content_type="application/json")
    # then
    assert response.status_code == 400
    assert response.json()["code"]
    assert Declaration.objects.get(pk=objects["declaration"]).status == "assessed"


def test_cancel_without_a_body_still_cancels(principals: Any) -> None:
    from declarations.models import Declaration

    tokens, objects = principals
    response = client_for(tokens["agent"]).post(f"/api/v1/declarations/{objects['declaration']}/cancel")
    assert response.status_code == 200
    assert Declaration.objects.get(pk=objects["declaration"]).status == "cancelled"


# --- NUL and lone surrogates everywhere (issue 17): every string field and key of the main bodies,
# every query and path parameter of every operation. 0 answers >= 500, nothing saved.

BAD_TEXTS = {"nul": "A\u0000B", "surrogate": "A\ud800B"}


def _string_leaves_and_objects(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str, tuple]]:
    """("leaf", path) of every string value and ("object", path) of every object in a JSON value."""
    found: list[tuple[str, tuple]] = []
    if isinstance(value, str):
        found.append(("leaf", path))
    elif isinstance(value, dict):
        found.append(("object", path))
        for key, child in value.items():
            found.extend(_string_leaves_and_objects(child, (*path, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_string_leaves_and_objects(child, (*path, index)))
    return found


def _mutated(body: Any, kind: str, path: tuple, text: str) -> Any:
    copy = json.loads(json.dumps(body))
    target = copy
    for token in path[:-1] if kind == "leaf" else path:
        target = target[token]
    if kind == "leaf":
        target[path[-1]] = text
    else:
        target[text] = "x"
    return copy


def test_nul_and_surrogates_in_every_string_field_and_key_are_400_with_their_pointer(db: Any) -> None:
    from core.problems import join_pointer
    from tests.factories.declarations import body_im4, world_create

    # given the main bodies: a declaration lodging, a payment and a cancellation
    world = world_create()
    client = client_for(world.token)
    lodged = client.post("/api/v1/declarations", body_im4(world, items=2, currency="KES"), format="json").json()
    operations = [
        ("/api/v1/declarations", body_im4(world, items=2)),
        (f"/api/v1/declarations/{lodged['id']}/payments",
         {"amount": lodged["eslip"]["amount"], "currency": "KES", "method": "mpesa"}),
        (f"/api/v1/declarations/{lodged['id']}/cancel", {"reason": "duplicate entry"}),
    ]
    before = table_counts()
    violations: list[str] = []
    sent = 0
    # when every string value, then every object's keys, carries a NUL or a lone surrogate
    for path, body in operations:
        for kind, where in _string_leaves_and_objects(body):
            for label, text in BAD_TEXTS.items():
                raw = json.dumps(_mutated(body, kind, where, text)).encode()  # ensure_ascii: \ud800 escapes
                response = client.generic("POST", path, raw, content_type="application/json")
                sent += 1
                expected = join_pointer(*where)
                got = response.json() if response["Content-Type"] == "application/problem+json" else {}
                pointers = [(e["code"], e["pointer"]) for e in got.get("errors", [])]
                if response.status_code != 400 or got.get("code") != "invalid_character" \
                        or pointers != [("invalid_character", expected)]:
                    violations.append(f"{path} {kind} {expected} [{label}] -> {response.status_code} {pointers}")
    # then
    assert violations == [], "\n".join(violations)
    assert sent > 70
    assert table_counts() == before


def _operations() -> list[tuple[str, str, list[dict[str, Any]]]]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for route, item in schema["paths"].items():
        for method, operation in item.items():
            if route.startswith("/api/v1/") and method in ("get", "post", "put", "patch", "delete"):
                params = [p for p in operation.get("parameters", []) if p["in"] in ("query", "path")]
                if params:
                    found.append((route, method, params))
    return found


@pytest.mark.parametrize("sandbox_mode", [False, True], ids=["normal", "sandbox-recorder-on"])
def test_nul_in_every_query_and_path_parameter_of_every_operation_is_400_and_saves_nothing(
        principals: Any, settings: Any, sandbox_mode: bool) -> None:
    from urllib.parse import quote

    # given (in sandbox mode the API-error recorder sees every 4xx that passed the edge)
    settings.FORODHA_SANDBOX = sandbox_mode
    tokens, objects = principals
    client = client_for(tokens["agent"])
    client.raise_request_exception = False
    operations = _operations()
    assert len(operations) >= 15
    filler = {"id": str(objects["declaration"]), "number": objects["bl"], "pin": objects["pin"]}
    before = table_counts()
    violations: list[str] = []
    sent = 0
    for route, method, params in operations:
        for param in params:
            for label, encoded in (("nul", "AB%00CD"), ("surrogate bytes", "AB%ED%A0%80"), ("nul only", "%00")):
                path = route
                for other in (p for p in params if p["in"] == "path"):
                    value = encoded if other is param else quote(str(filler.get(other["name"], "X1")))
                    path = path.replace("{" + other["name"] + "}", value)
                if param["in"] == "query":
                    path += f"?{param['name']}={encoded}"
                response = client.generic(method.upper(), path, b"{}", content_type="application/json",
                                          HTTP_IF_MATCH="*")
                sent += 1
                where = f"{method.upper()} {path} [{param['in']} {param['name']} {label}] -> {response.status_code}"
                if response.status_code >= 500:
                    violations.append(where)
                    continue
                # UTF-8 cannot carry a surrogate: those bytes arrive as U+FFFD (query) or stay
                # percent-encoded (path), an ordinary value (a search finding nothing is a 200).
                if "%00" in encoded:
                    body = response.json()
                    pointers = {e["pointer"] for e in body.get("errors", [])}
                    expected = {f"/{param['in']}/{param['name']}", "/path"} if param["in"] == "path" \
                        else {f"/query/{param['name']}"}
                    if body.get("code") != "invalid_character" or not pointers & expected:
                        violations.append(f"{where} {body.get('code')} {sorted(pointers)}")
    assert violations == [], "\n".join(violations)
    assert sent > 60
    after = table_counts()
    recorded = after.pop("sandbox_apierrorrecord") - before.pop("sandbox_apierrorrecord")
    assert after == before
    # edge-refused requests (every NUL) are never recorded; the others are, in sandbox mode only
    assert 0 < recorded < sent if sandbox_mode else recorded == 0
