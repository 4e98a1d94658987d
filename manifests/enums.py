from __future__ import annotations

from enum import StrEnum

from django.db import models


class TransportMode(models.TextChoices):
    SEA = "sea", "Sea"
    AIR = "air", "Air"
    ROAD = "road", "Road"


class ManifestStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    LODGED = "lodged", "Lodged"
    ARRIVED = "arrived", "Arrived"
    DISCHARGED = "discharged", "Discharged"
    CLOSED = "closed", "Closed"


class BillKind(models.TextChoices):
    # A master B/L is issued by the carrier; a house B/L by a consolidator (freight forwarder)
    # under a master, and carries the consolidator's KRA PIN.
    MASTER = "master", "Master"
    HOUSE = "house", "House"


class BillStatus(models.TextChoices):
    OPEN = "open", "Open"
    SETTLED = "settled", "Settled"


class WriteOffStatus(models.TextChoices):
    RESERVED = "reserved", "Reserved"
    SETTLED = "settled", "Settled"
    RELEASED = "released", "Released"


class EventKind(models.TextChoices):
    TRANSITION = "transition", "Status transition"
    AMENDMENT = "amendment", "Amendment"
    BILL_SETTLED = "bill_settled", "Bill of lading settled"


class DeclarationMove(StrEnum):
    """The declaration statuses (`declarations.enums.Status` values) whose arrival moves a B/L
    write-off (`manifests.subscribers`). Manifests sit below declarations and may not import that
    enum (the layers contract); tests/manifests/test_subscribers.py checks the values agree."""

    RELEASED = "released"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
