"""What the declarations app expects back from subscribers of its events (`core.events.Event`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Security:
    """A subscriber of `Event.DECLARATION_LODGED` secured the taxes at risk instead of a payment
    (IM8 transit: a regional bond reservation). `description` goes on the e-slip and the notice,
    e.g. "secured by bond RB-1 (KES 1000.00 reserved)"."""

    description: str
