"""OpenAPI post-processing: the problem answers every operation can give.

Whatever the view, the authentication classes (401), permissions (403), throttles (429), the
maintenance middleware and the database-unavailable handler (503), the strict parsers and
serializers (400), pagination and object look-ups (404) and, with a body, the body-size limit
(413) and the parsers (415) answer with an RFC 9457 problem document. An operation that does not
document such an answer itself gets it here, with the `Problem` schema, so clients (and
Schemathesis' status-code and response-schema checks against a live server) know every answer.

The `Problem` component is the one `core.openapi.ProblemSerializer` describes (registered by
`ForodhaAutoSchema` for the error answers of every operation); this hook only points at it.
"""

from __future__ import annotations

from typing import Any

ANSWERS = {
    "400": "Bad request (problem+json, every problem with a JSON pointer)",
    "401": "Not authenticated",
    "403": "Not allowed for this principal",
    "404": "Not found (also: another firm's object, a page past the end)",
    "429": "Too many requests (Retry-After)",
    "503": "Maintenance window or database unavailable (Retry-After)",
}
BODY_ANSWERS = {
    "413": "Request body too large",
    "415": "Unsupported media type",
}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def problem_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry."""
    if "Problem" not in result.get("components", {}).get("schemas", {}):
        return result  # no operation answers with a problem: nothing to point at
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            answers = {**ANSWERS, **(BODY_ANSWERS if "requestBody" in operation else {})}
            for code, description in answers.items():
                responses.setdefault(code, {"description": description, "content": content})
    return result
