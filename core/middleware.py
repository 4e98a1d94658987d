"""Cross-cutting HTTP middleware."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from rest_framework.exceptions import ParseError

from .exceptions import ErrorItem
from .parsers import INVALID_CHARACTER, invalid_character_error, invalid_character_reason, json_document_errors
from .problems import join_pointer, problem_response


class RequestBodyLimitMiddleware:
    """Refuse oversized bodies with 413 problem+json before anything reads them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.FORODHA_MAX_BODY_BYTES
        if length > limit:
            return problem_response(
                status=413, title="Content too large", code="request_too_large",
                detail=f"The request body is {length} bytes; the limit is {limit} bytes.",
                errors=[{"code": "request_too_large", "detail": "Body too large.", "pointer": ""}],
            )
        return self.get_response(request)


_FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


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
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.split(";", 1)[0].strip().lower() in _FORM_MEDIA_TYPES:
            return []  # Django forms refuse NUL themselves (ProhibitNullCharactersValidator)
        body = request.body
        if not body:
            return []
        if not _is_json_media(content_type):
            # EDIFACT and other text: a NUL byte can never be stored.
            if b"\x00" in body:
                return [invalid_character_error(what="The body", reason="contains a NUL character (U+0000)",
                                                pointer="")]
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
