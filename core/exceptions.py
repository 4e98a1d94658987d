"""One error hierarchy for the whole project.

Services raise these; the API exception handler renders them as RFC 9457 problem+json with a
stable `code`. `errors` carries every individual problem with a JSON pointer into the request
body (or an EDIFACT segment reference), so clients can report all problems at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErrorItem:
    code: str
    detail: str
    pointer: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail, "pointer": self.pointer}


@dataclass
class ApplicationError(Exception):
    """Base domain error. Subclasses fix the HTTP status and the default code."""

    detail: str = "The request could not be processed."
    code: str = "application_error"
    errors: list[ErrorItem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 400
    title: str = "Bad request"

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


@dataclass
class ValidationFailed(ApplicationError):
    """Business validation failed; `errors` lists every problem."""

    detail: str = "The request has validation errors."
    code: str = "validation_error"
    status: int = 400
    title: str = "Validation failed"


@dataclass
class NotFound(ApplicationError):
    detail: str = "Not found."
    code: str = "not_found"
    status: int = 404
    title: str = "Not found"


@dataclass
class PermissionDeniedError(ApplicationError):
    detail: str = "You do not have permission to perform this action."
    code: str = "permission_denied"
    status: int = 403
    title: str = "Forbidden"


@dataclass
class Conflict(ApplicationError):
    """The request is valid but conflicts with the current state (illegal transition, ...)."""

    detail: str = "The request conflicts with the current state of the resource."
    code: str = "conflict"
    status: int = 409
    title: str = "Conflict"


@dataclass
class PreconditionFailed(ApplicationError):
    detail: str = "The resource was changed since you read it (ETag mismatch)."
    code: str = "precondition_failed"
    status: int = 412
    title: str = "Precondition failed"


@dataclass
class PreconditionRequired(ApplicationError):
    detail: str = "This update needs an If-Match header with the resource's ETag."
    code: str = "precondition_required"
    status: int = 428
    title: str = "Precondition required"


@dataclass
class UnprocessableEntity(ApplicationError):
    detail: str = "The request cannot be processed."
    code: str = "unprocessable"
    status: int = 422
    title: str = "Unprocessable content"


@dataclass
class ServiceUnavailable(ApplicationError):
    detail: str = "The service is temporarily unavailable."
    code: str = "service_unavailable"
    status: int = 503
    title: str = "Service unavailable"


def error(code: str, detail: str, pointer: str = "") -> ErrorItem:
    return ErrorItem(code=code, detail=detail, pointer=pointer)
