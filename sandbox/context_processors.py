"""The sandbox clock in every admin page's header (trainers and trainees see the moved time), and
for trainers the links to their pages (move the clock, run the drill, read trainee reports)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from core import clock
from officers.formatting import eat

from .clock import offset_text


def sandbox_clock(request: HttpRequest) -> dict[str, Any]:
    if not settings.FORODHA_SANDBOX:
        return {}
    user = getattr(request, "user", None)
    trainer = bool(user is not None and user.has_perm("sandbox.change_clockstate"))
    links = [("move", reverse("admin:sandbox_clock")), ("drill", reverse("admin:sandbox_drill")),
             ("trainee reports", reverse("admin:sandbox_reports"))] if trainer else []
    return {"sandbox_clock": {
        "now": eat(clock.now()),
        "offset": offset_text(clock.offset()),
        "can_move": trainer,
        "links": links,
    }}
