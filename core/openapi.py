"""OpenAPI plumbing: one problem+json component, the answers every operation can give, and the
convention that ties a request example to the answer it gets.

- `Problem` (RFC 9457, `application/problem+json`) is the ONE schema of every 4xx/5xx answer:
  `ForodhaAutoSchema` gives it to every error response, whatever the view declared.
- The answers that follow from the plumbing rather than from a view are added to every operation
  they apply to (`standard_answers`): 400 (body, query or Idempotency-Key problems), 401/403
  (authenticated operations), 404 (a path parameter names an object), 409/422 (`Idempotency-Key`
  on authenticated POSTs: in flight / reused with another body), 412/428 (`If-Match`), 413 (body
  too large), 429 (throttled views), 503 (maintenance window or database outage). A view still
  declares its own answers (and 202 for the contingency receipt on lodging endpoints).
- Examples are named. A request example (body and/or parameter examples) and a response example
  with the SAME name document one call and its answer: Swagger UI shows both, and
  tests/core/test_openapi_examples.py sends every request example to a freshly seeded demo
  sandbox and checks that the answer is the one documented under that name. Answers that depend
  on the server's state rather than the request (202 contingency, 429 throttling, 503 maintenance,
  409 in flight, 422 key reused) are response examples only; the test sets up the state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from .problems import PROBLEM_CONTENT_TYPE, problem_body

# Titles as the exception handler and the middlewares write them.
TITLES = {
    400: "Validation failed", 401: "Not authenticated", 403: "Forbidden", 404: "Not found", 409: "Conflict",
    412: "Precondition failed", 413: "Content too large", 422: "Unprocessable content",
    428: "Precondition required", 429: "Too many requests", 503: "Service unavailable",
}

STANDARD_DESCRIPTIONS = {
    400: "The request is malformed or breaks a rule; `errors` lists every problem with a JSON pointer.",
    401: "No valid `Authorization: Token <key>` header.",
    403: "Authenticated, but this kind of client may not use this operation.",
    404: "No such object, or it belongs to someone else.",
    409: "Conflicts with the object's state, or a request with this `Idempotency-Key` is still running "
         "(`idempotency_request_in_flight`, `Retry-After`).",
    412: "`If-Match` does not match the current `ETag` (someone changed it since you read it).",
    413: "The body is larger than `FORODHA_MAX_BODY_BYTES`.",
    422: "This `Idempotency-Key` was already used with a different request (`idempotency_key_reused`).",
    428: "The update needs an `If-Match` header with the object's `ETag`.",
    429: "Too many requests for this credential; retry after `Retry-After` seconds.",
    503: "Scheduled maintenance (`maintenance_window`, with the window and `Retry-After`) or the database "
         "is unavailable (`database_unavailable`); retry after `Retry-After` seconds.",
}

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Optional, 1-255 printable characters. Same key + same request replays the first answer "
                "(`Idempotent-Replayed: true`); same key + another request is 422; while the first is still "
                "running, 409. Keys are scoped to your credentials and kept 48 hours.",
)


class ProblemErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code of this problem")
    detail = serializers.CharField()
    pointer = serializers.CharField(help_text="JSON pointer into the request body (`/items/3/hs_code`), "
                                              "`?name` for a query parameter, empty when not about one field")


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details; some codes add members (`window`, `packages_remaining`, ...)."""

    type = serializers.CharField(help_text="`urn:forodha:problem:<code>`")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable machine-readable code")
    # A field named like Serializer.errors: the metaclass moves fields off the class, so the
    # property is untouched (this serializer only describes the schema, it never validates).
    errors = ProblemErrorSerializer(many=True)  # type: ignore[assignment]


def problem_example(name: str, status: int, code: str, detail: str, *,
                    errors: Iterable[tuple[str, str]] = (), summary: str = "", description: str = "",
                    extra: dict[str, Any] | None = None) -> OpenApiExample:
    """A response example of a problem answer; `errors` are (code, pointer) pairs. Tests compare the
    status, the code and the (code, pointer) pairs with the real answer."""
    body = problem_body(status=status, title=TITLES.get(status, "Error"), detail=detail, code=code,
                        errors=[{"code": c, "detail": "...", "pointer": p} for c, p in errors], extra=extra)
    return OpenApiExample(name, value=body, summary=summary or f"{status} {code}", description=description,
                          response_only=True, status_codes=[str(status)])


def problem(*examples: OpenApiExample, description: str = "") -> OpenApiResponse:
    """An error answer: the one Problem schema, with named examples."""
    return OpenApiResponse(ProblemSerializer, description=description, examples=list(examples))


def answer_example(name: str, status: int, value: dict[str, Any], *, summary: str = "",
                   description: str = "") -> OpenApiExample:
    """A success answer's example. `value` holds the fields the answer is checked on (a subset of the
    response: ids and times differ per world)."""
    return OpenApiExample(name, value=value, summary=summary or name, description=description,
                          response_only=True, status_codes=[str(status)])


def request_example(name: str, value: Any, *, summary: str = "", description: str = "") -> OpenApiExample:
    return OpenApiExample(name, value=value, summary=summary or name, description=description, request_only=True)


def parameter_examples(values: dict[str, Any]) -> list[OpenApiExample]:
    """Examples of one parameter, by example name (the name ties it to the body and the answer)."""
    return [OpenApiExample(name, value=value, summary=name) for name, value in values.items()]


def _requires_authentication(view: Any) -> bool:
    if not getattr(view, "authentication_classes", None):
        return False
    return not any(isinstance(p, AllowAny) for p in view.get_permissions())


def standard_answers(*, method: str, path: str, view: Any, has_body: bool, has_query: bool,
                     has_if_match: bool) -> set[int]:
    """The error answers an operation can give through the shared plumbing (not its own rules)."""
    answers = {503}
    if getattr(view, "schema_never_unavailable", False):
        answers = set()
    authenticated = _requires_authentication(view)
    if authenticated:
        answers |= {401, 403}
    if "{" in path:
        answers.add(404)
    if has_body or has_query or method == "POST":
        answers.add(400)
    if has_body:
        answers.add(413)
    if method == "POST" and authenticated:
        answers |= {409, 422}  # core.idempotency: scoped to the client's credentials
    if has_if_match:
        answers |= {412, 428}
    if view.get_throttles():
        answers.add(429)
    return answers


class ForodhaAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema plus the shared answers and the one Problem component."""

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self.method == "POST" and _requires_authentication(self.view) and not any(
                isinstance(p, OpenApiParameter) and p.name == IDEMPOTENCY_KEY.name for p in parameters):
            parameters.append(IDEMPOTENCY_KEY)
        return parameters

    def get_operation(self, path: str, path_regex: str, path_prefix: str, method: str,
                      registry: Any) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        parameters: Sequence[dict[str, Any]] = operation.get("parameters", [])
        responses: dict[str, Any] = operation["responses"]
        for code in standard_answers(
                method=method, path=path, view=self.view, has_body="requestBody" in operation,
                has_query=any(p["in"] == "query" for p in parameters),
                has_if_match=any(p["in"] == "header" and p["name"] == "If-Match" for p in parameters)):
            responses.setdefault(str(code), {"description": STANDARD_DESCRIPTIONS[code]})
        ref = self.resolve_serializer(ProblemSerializer, "response").ref
        for status, response in responses.items():
            if int(status) < 400:
                continue
            examples: dict[str, Any] = {}
            for media in (response.get("content") or {}).values():
                examples.update(media.get("examples", {}))
            media_type: dict[str, Any] = {"schema": ref}
            if examples:
                media_type["examples"] = examples
            response["content"] = {PROBLEM_CONTENT_TYPE: media_type}
            if not response.get("description") or response["description"] == "No response body":
                response["description"] = STANDARD_DESCRIPTIONS.get(int(status), "application/problem+json")
        operation["responses"] = dict(sorted(responses.items()))
        return operation


# --- answers that depend on the server's state ------------------------------------------------------
# Response examples only, with these names; tests/core/test_openapi_examples.py creates each state
# and sends the operation's first successful request example.
CONTINGENCY = "contingency receipt"
IN_FLIGHT = "key in flight"
KEY_REUSED = "key reused"
THROTTLED = "throttled"
MAINTENANCE = "maintenance window"
CONDITIONS = (CONTINGENCY, IN_FLIGHT, KEY_REUSED, THROTTLED, MAINTENANCE)


class ContingencyReceiptSerializer(serializers.Serializer):
    """What the maintenance middleware answers while lodging is in contingency (API.md)."""

    status = serializers.ChoiceField(choices=["buffered"])
    detail = serializers.CharField()
    receipt = serializers.DictField(help_text="Signed receipt: submission_id, received_at, body_sha256, "
                                              "endpoint, agent, key_id, algorithm (Ed25519), signature")
    contingency = serializers.DictField(help_text="source (outage or window) and since")
    provisional_release = serializers.DictField(
        allow_null=True, required=False,
        help_text="Goods qualifying under the published rules (GET /api/v1/provisional-releases/rules) may leave "
                  "now: release_id, token (compact JWS, EdDSA, kid = receipt key id), key_id, rule, trader_pin, "
                  "issued_at, expires_at, claims, print_url (printable page with the QR code), verify_url. "
                  "null when they do not qualify.")


def condition_answers(*, lodging: bool, examples: bool = True) -> dict[int, OpenApiResponse]:
    """The documented answers of an authenticated POST that the server's state decides: 409 while the
    same Idempotency-Key runs, 422 for a reused key, 429 when throttled; for a lodging endpoint also
    202 (contingency receipt) and 503 (a maintenance window of scope lodging)."""
    answers: dict[int, OpenApiResponse] = {
        409: problem(problem_example(
            IN_FLIGHT, 409, "idempotency_request_in_flight",
            "A request with this Idempotency-Key is still being processed.",
            description="The same Idempotency-Key is still being processed (retry after Retry-After).")),
        422: problem(problem_example(
            KEY_REUSED, 422, "idempotency_key_reused", "This Idempotency-Key was already used with a different "
            "request.", errors=[("idempotency_key_reused", "")],
            description="An Idempotency-Key sent before with another body.")),
        429: problem(problem_example(THROTTLED, 429, "throttled", "Request was throttled.",
                                     description="More requests than THROTTLE_USER_RATE allows.")),
    }
    if lodging:
        answers[202] = OpenApiResponse(
            ContingencyReceiptSerializer,
            description="Lodging is in contingency (outage or buffer-mode window): the submission is stored "
                        "with a signed receipt and lodged when service returns (docs/maintenance.md).",
            examples=[answer_example(CONTINGENCY, 202, {"status": "buffered"})])
        answers[503] = problem(problem_example(
            MAINTENANCE, 503, "maintenance_window", "Scheduled maintenance until ...",
            extra={"window": {"id": "...", "starts_at": "...", "ends_at": "...", "reason": "...",
                              "scope": "lodging", "mode": "reject"}},
            description="During a reject-mode maintenance window (the demo has one on Saturday night)."))
    if not examples:  # documented, but the operation has no request example to produce them with
        answers = {status: OpenApiResponse(response.response, description=response.description)
                   for status, response in answers.items()}
    return answers


def answers(*groups: dict[int, Any]) -> dict[int, OpenApiResponse]:
    """Merge documented answers: examples of the same status are kept together (the first group that
    names a schema or a description for a status gives it)."""
    merged: dict[int, OpenApiResponse] = {}
    for group in groups:
        for status, response in group.items():
            if not isinstance(response, OpenApiResponse):
                response = OpenApiResponse(response)
            known = merged.get(status)
            if known is None:
                merged[status] = OpenApiResponse(response.response, description=response.description,
                                                 examples=list(response.examples or []))
                continue
            merged[status] = OpenApiResponse(
                known.response if known.response is not None else response.response,
                description=known.description or response.description,
                examples=[*(known.examples or []), *(response.examples or [])])
    return merged
