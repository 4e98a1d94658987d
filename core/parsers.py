"""Text cleaned at the edge: one check for JSON bodies, query strings and path parameters (issue 17).

Two kinds of character can never be accepted:
- NUL (U+0000): PostgreSQL cannot store it in text or jsonb, so it would fail deep inside a
  selector or service as a 500;
- a lone UTF-16 surrogate (U+D800-U+DFFF, e.g. JSON `"\\ud800"`): it cannot be encoded to UTF-8,
  so echoing it (an unknown key in an error, a recorded request) would crash the renderer.

Both are refused with 400 `invalid_character` and a JSON pointer: `/items/0/description` for a
body, `/query/<name>` for a query-string parameter, `/path/<name>` for a URL path parameter
(the name of the URL pattern's argument). A bad character in an object key or a parameter name
points at the enclosing object (`/items/0`, `/query`), never echoing the bad text back.
`core.middleware.InputTextMiddleware` applies it to every request before any view, middleware that
stores requests (maintenance intake, idempotency, sandbox recorder) or selector sees it;
`SafeJSONParser` applies it again to what DRF parses (it also limits nesting depth).
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .exceptions import ErrorItem, ValidationFailed, error
from .problems import join_pointer

MAX_DEPTH = 64
INVALID_CHARACTER = "invalid_character"


def invalid_character_reason(text: str) -> str | None:
    """Why `text` cannot be accepted, or None when it is clean."""
    if "\x00" in text:
        return "contains a NUL character (U+0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired UTF-16 surrogate"
    return None


def invalid_character_error(*, what: str, reason: str, pointer: str) -> ErrorItem:
    return error(INVALID_CHARACTER, f"{what} {reason}.", pointer)


def json_document_errors(data: Any, *, prefix: tuple[str | int, ...] = ()) -> list[ErrorItem]:
    """Iteratively (no recursion): every key or string value with an invalid character; nesting
    deeper than MAX_DEPTH is a parse error."""
    problems: list[ErrorItem] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
        if isinstance(value, str):
            reason = invalid_character_reason(value)
            if reason:
                problems.append(invalid_character_error(what="Text", reason=reason,
                                                        pointer=join_pointer(*prefix, *path)))
        elif isinstance(value, dict):
            for key in value:
                reason = invalid_character_reason(key)
                if reason:
                    problems.append(invalid_character_error(what="An object key", reason=reason,
                                                            pointer=join_pointer(*prefix, *path)))
            stack.extend((child, (*path, key)) for key, child in value.items()
                         if invalid_character_reason(key) is None)
        elif isinstance(value, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(value))
    problems.sort(key=lambda item: item.pointer)
    return problems


def check_json_document(data: Any) -> None:
    problems = json_document_errors(data)
    if problems:
        raise ValidationFailed(detail="The request contains characters that cannot be accepted.",
                               code=INVALID_CHARACTER, errors=problems)


class SafeJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.") from None
        check_json_document(data)
        return data
