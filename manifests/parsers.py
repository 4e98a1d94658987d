"""DRF parser for UN/EDIFACT bodies (`Content-Type: application/edifact`)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser


class EdifactParser(BaseParser):
    """Hands the view the interchange as text.

    The charset parameter wins; otherwise UTF-8 (covers UNOA/UNOB/UNOW), falling back to
    ISO 8859-1 (UNOC) for bytes that are not UTF-8.
    """

    media_type = "application/edifact"

    def parse(  # type: ignore[override]  # the view receives the interchange text
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> str:
        raw: bytes = stream.read() if stream is not None else b""
        charset = None
        for param in (media_type or "").split(";")[1:]:
            name, _, value = param.strip().partition("=")
            if name.lower() == "charset" and value:
                charset = value.strip('"')
        if charset:
            try:
                return raw.decode(charset)
            except (LookupError, UnicodeDecodeError) as exc:
                raise ParseError(f"The body is not valid {charset}.") from exc
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("iso-8859-1")
