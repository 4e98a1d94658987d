"""JSON bodies that cannot crash the server: depth-limited, UTF-8-encodable strings only (issue 11).

Python's JSON decoder accepts `"\\ud800"` (a lone UTF-16 surrogate) and arbitrarily deep nesting.
The first cannot be encoded back to UTF-8, so echoing it in an error (an unknown key, say) would
crash the renderer; the second exhausts the recursion limit in the decoder or in DRF. Both are
refused here with a 400 problem that points at the offending place.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .exceptions import ValidationFailed, error
from .problems import join_pointer

MAX_DEPTH = 64


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_json_document(data: Any) -> None:
    """Iteratively (no recursion): nesting deeper than MAX_DEPTH is a parse error; a string (key or
    value) with an unpaired surrogate is a validation error with its JSON pointer."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
        if isinstance(value, str):
            if not _encodable(value):
                raise ValidationFailed(errors=[error(
                    "invalid_unicode", "Text contains an unpaired UTF-16 surrogate.", join_pointer(*path))])
        elif isinstance(value, dict):
            for key in value:
                if not _encodable(key):
                    raise ValidationFailed(errors=[error(
                        "invalid_unicode", "An object key contains an unpaired UTF-16 surrogate.",
                        join_pointer(*path))])
            stack.extend((child, (*path, key)) for key, child in value.items())
        elif isinstance(value, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(value))


class SafeJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.") from None
        check_json_document(data)
        return data
