"""Cross-cutting HTTP middleware."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from rest_framework.exceptions import ParseError

from .exceptions import ErrorItem
from .parsers import INVALID_CHARACTER, invalid_character_error, invalid_character_reason, json_document_errors
from .problems import join_pointer, problem_response


def _too_large(length: int | None, limit: int) -> HttpResponse:
    size = f"{length} bytes" if length is not None else f"more than {limit} bytes"
    return problem_response(
        status=413, title="Content too large", code="request_too_large",
        detail=f"The request body is {size}; the limit is {limit} bytes.",
        errors=[{"code": "request_too_large", "detail": "Body too large.", "pointer": ""}],
    )


class RequestBodyLimitMiddleware:
    """Refuse oversized bodies with 413 problem+json before anything reads them.

    Chunked bodies (`Transfer-Encoding: chunked`, no Content-Length): Django reads a request
    without Content-Length as empty, so a chunked lodging would be judged "required" field by
    field. When the server de-chunks the input and marks it terminated (gunicorn sets
    `wsgi.input_terminated`), the body is read here, up to the limit, and handed on with its length;
    on a server that cannot (runserver's wsgiref passes the raw socket), it is 411 problem+json."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.FORODHA_MAX_BODY_BYTES
        meta = request.META
        if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower() and not meta.get("CONTENT_LENGTH"):
            refused = self._read_chunked(request, limit)
            if refused is not None:
                return refused
        try:
            length = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return _too_large(length, limit)
        return self.get_response(request)

    @staticmethod
    def _read_chunked(request: HttpRequest, limit: int) -> HttpResponse | None:
        stream = request.META.get("wsgi.input")
        if not request.META.get("wsgi.input_terminated") or stream is None:
            return problem_response(
                status=411, title="Length required", code="length_required",
                detail="Send the body with a Content-Length header (this server cannot read chunked bodies).",
                errors=[{"code": "length_required", "detail": "Content-Length is missing.", "pointer": ""}],
            )
        data = stream.read(limit + 1)
        if len(data) > limit:
            return _too_large(None, limit)
        request._stream = LimitedStream(io.BytesIO(data), len(data))  # type: ignore[assignment]
        request.META["CONTENT_LENGTH"] = str(len(data))
        return None


def _is_json_media(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class InputTextMiddleware:
    """Text cleaned at the edge (core.parsers): a NUL or a lone surrogate in a path parameter, a
    query-string parameter or a JSON body is 400 `invalid_character` with its pointer, before any
    other middleware stores the request or any view or selector reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problems = self._path_errors(request) + self._query_errors(request) + self._body_errors(request)
        if problems:
            return problem_response(
                status=400, title="Validation failed", code=INVALID_CHARACTER,
                detail="The request contains characters that cannot be accepted (NUL or an unpaired surrogate).",
                errors=[p.as_dict() for p in problems])
        return self.get_response(request)

    @staticmethod
    def _path_errors(request: HttpRequest) -> list[ErrorItem]:
        path = request.path_info
        reason = invalid_character_reason(path)
        if reason is None:
            return []
        try:
            match = resolve(path)
        except Resolver404:
            return [invalid_character_error(what="The path", reason=reason, pointer="/path")]
        named = [(name, value) for name, value in match.kwargs.items() if isinstance(value, str)]
        bad = [(name, r) for name, value in named if (r := invalid_character_reason(value))]
        if not bad:
            return [invalid_character_error(what="The path", reason=reason, pointer="/path")]
        return [invalid_character_error(what=f"Path parameter '{name}'", reason=r, pointer=join_pointer("path", name))
                for name, r in bad]

    @staticmethod
    def _query_errors(request: HttpRequest) -> list[ErrorItem]:
        if not request.META.get("QUERY_STRING"):
            return []
        problems: list[ErrorItem] = []
        for name, values in request.GET.lists():
            reason = invalid_character_reason(name)
            if reason:
                problems.append(invalid_character_error(what="A query parameter name", reason=reason,
                                                        pointer="/query"))
                continue
            for value in values:
                reason = invalid_character_reason(value)
                if reason:
                    problems.append(invalid_character_error(what=f"Query parameter '{name}'", reason=reason,
                                                            pointer=join_pointer("query", name)))
                    break
        return problems

    @staticmethod
    def _body_errors(request: HttpRequest) -> list[ErrorItem]:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return []
        if not _is_json_media(request.META.get("CONTENT_TYPE", "")):
            # Forms: Django's form fields refuse NUL themselves (ProhibitNullCharactersValidator).
            # EDIFACT: its parser reports a NUL as `edifact_syntax` at its segment (manifests.cuscar),
            # and buffered intake stores raw bytes (BinaryField). Other media types get 415.
            return []
        body = request.body
        if not body:
            return []
        # In valid JSON both can only be written as \u escapes: most bodies skip the second parse.
        if b"\\u" not in body:
            return []
        try:
            data = json.loads(body)
        except Exception:  # malformed, too deep, not UTF-8: the parser answers with its own 400
            return []
        try:
            return json_document_errors(data)
        except ParseError:
            return []
