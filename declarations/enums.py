"""Code lists of the declarations app."""

from __future__ import annotations

from django.db import models


class Regime(models.TextChoices):
    """ASYCUDA-style regime codes used by iCMS."""

    IM4 = "IM4", "Home use"
    IM5 = "IM5", "Temporary import"
    IM6 = "IM6", "Re-import"
    IM7 = "IM7", "Warehousing"
    IM8 = "IM8", "Transit"
    EX1 = "EX1", "Direct export"
    EX3 = "EX3", "Re-export"


IMPORT_REGIMES = frozenset({"IM4", "IM5", "IM6", "IM7", "IM8"})
EXPORT_REGIMES = frozenset({"EX1", "EX3"})

# First digit of the 7-digit customs procedure code (CPC) that each regime accepts. iCMS CPCs
# follow the ASYCUDA convention "first digit = requested procedure" (e.g. 4000000 home use,
# 1000100 direct export of home-produced goods); Forodha keeps that convention as its rule.
REGIME_CPC_FIRST_DIGIT: dict[str, str] = {
    "EX1": "1",
    "EX3": "3",
    "IM4": "4",
    "IM5": "5",
    "IM6": "6",
    "IM7": "7",
    "IM8": "8",
}


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    REGISTERED = "registered", "Registered"
    ASSESSED = "assessed", "Assessed"
    PAID = "paid", "Paid"
    UNDER_CONTROL = "under_control", "Under control"
    QUERIED = "queried", "Queried"
    RELEASED = "released", "Released"
    EXITED = "exited", "Exited"
    CANCELLED = "cancelled", "Cancelled"
    REJECTED = "rejected", "Rejected"


class Channel(models.TextChoices):
    GREEN = "green", "Green (release)"
    BLUE = "blue", "Blue (release, post-clearance audit)"
    YELLOW = "yellow", "Yellow (documentary check)"
    RED = "red", "Red (physical examination)"


class Incoterm(models.TextChoices):
    EXW = "EXW", "Ex works"
    FCA = "FCA", "Free carrier"
    FAS = "FAS", "Free alongside ship"
    FOB = "FOB", "Free on board"
    CFR = "CFR", "Cost and freight"
    CIF = "CIF", "Cost, insurance and freight"
    CPT = "CPT", "Carriage paid to"
    CIP = "CIP", "Carriage and insurance paid to"
    DAP = "DAP", "Delivered at place"
    DPU = "DPU", "Delivered at place unloaded"
    DDP = "DDP", "Delivered duty paid"


class TransportMode(models.TextChoices):
    SEA = "sea", "Sea"
    AIR = "air", "Air"
    ROAD = "road", "Road"
    RAIL = "rail", "Rail"
    PIPELINE = "pipeline", "Pipeline"
    POST = "post", "Postal"


class EventKind(models.TextChoices):
    TRANSITION = "transition", "Status transition"
    ALTERATION = "alteration", "Non-tax alteration"
    AMENDMENT_REQUESTED = "amendment_requested", "Amendment requested"
    AMENDMENT_ACCEPTED = "amendment_accepted", "Amendment accepted"
    AMENDMENT_REJECTED = "amendment_rejected", "Amendment rejected"
    DRAFT_EDITED = "draft_edited", "Draft edited"
    PAYMENT = "payment", "Payment received"
    CHANNEL = "channel", "Selectivity lane assigned"
    FINDINGS = "findings", "Inspection findings recorded"
    OVERRIDE = "override", "Supervisor override"
    DOCUMENT_UPLOADED = "document_uploaded", "Document uploaded"
    QUERY_ANSWERED = "query_answered", "Query answered by the agent"
    GATE_EVENT = "gate_event", "Terminal gate event"
    NOTHING_TO_PAY = "nothing_to_pay", "Nothing to pay: no payment step"
    DEADLINE_MOVED = "deadline_moved", "Payment deadline moved by an outage"
    INTEREST_ACCRUED = "interest_accrued", "Late-payment interest accrued"


class AmendmentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
