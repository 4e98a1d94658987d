"""The officer workspace's wording: tax names, money, East Africa Time, history sentences."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from officers import formatting


def event(kind: str, *, actor: str = "system", reason: str = "", payload: dict | None = None,
          from_status: str = "", to_status: str = "") -> SimpleNamespace:
    return SimpleNamespace(kind=kind, actor_label=actor, reason=reason, payload=payload or {},
                           from_status=from_status, to_status=to_status,
                           created_at=dt.datetime(2026, 11, 25, 7, 0, tzinfo=dt.UTC))


def test_tax_names():
    assert [formatting.tax_name(code) for code in ("import_duty", "excise_duty", "vat", "idf", "rdl")] == [
        "Import duty", "Excise duty", "VAT", "Import Declaration Fee", "Railway Development Levy"]
    assert formatting.tax_name("export_levy") == "Export levy"  # a new code still reads as words


def test_money_has_thousands_separators_and_two_decimals_half_up():
    assert formatting.money(Decimal("1234567.5")) == "1,234,567.50"
    assert formatting.money(Decimal("0.005")) == "0.01"
    assert formatting.money(660000) == "660,000.00"
    assert formatting.money("12.3") == "12.30"
    assert formatting.money(None) == "—"


def test_times_are_east_africa_time():
    assert formatting.eat(dt.datetime(2026, 11, 25, 7, 0, tzinfo=dt.UTC)) == "25 Nov 2026 10:00 EAT"
    assert formatting.eat(dt.datetime(2026, 11, 25, 22, 30, tzinfo=dt.UTC)) == "26 Nov 2026 01:30 EAT"
    assert formatting.eat(None) == "—"


def test_yes_no():
    assert (formatting.yes_no(False), formatting.yes_no(True)) == ("No", "Yes")


def test_history_sentences_say_who_did_what_and_why():
    # given
    events = [
        event("channel", reason="selectivity", payload={"channel": "green"}, from_status="assessed",
              to_status="assessed"),
        event("transition", from_status="paid", to_status="under_control",
              payload={"channel": "yellow", "control": "documentary_check"}, reason="Documentary check"),
        event("transition", actor="officer7", from_status="under_control", to_status="queried",
              payload={"documents_required": ["INV", "COO"]}, reason="Invoice unreadable"),
        event("channel", actor="officer7", payload={"channel": {"from": "yellow", "to": "red"}},
              reason="Seal differs"),
        event("findings", actor="inspector2", payload={"compliant": False}, reason="Undeclared phones"),
        event("transition", actor="agent1", from_status="assessed", to_status="paid"),
        event("payment", actor="agent1", payload={"amount": "1234567.5", "payment_reference": "PAY-1"}),
        event("transition", actor="officer7", from_status="under_control", to_status="rejected",
              payload={"seized": True}, reason="Smuggling"),
    ]
    # when
    entries = formatting.history(events, risk_score=0)
    # then
    assert [(e.number, e.when, e.what, e.why) for e in entries] == [
        (1, "25 Nov 2026 10:00 EAT", "Risk engine assigned the green lane (score 0)", ""),
        (2, "25 Nov 2026 10:00 EAT", "System put the declaration under control for a documentary check",
         ""),  # the reason only repeats the sentence
        (3, "25 Nov 2026 10:00 EAT", "officer7 queried the agent for: INV, COO", "Reason: “Invoice unreadable”"),
        (4, "25 Nov 2026 10:00 EAT", "officer7 moved the declaration from the yellow lane to the red lane",
         "Reason: “Seal differs”"),
        (5, "25 Nov 2026 10:00 EAT", "inspector2 recorded the inspection findings: not compliant",
         "Findings: “Undeclared phones”"),
        (6, "25 Nov 2026 10:00 EAT", "agent1 recorded the payment", ""),
        (7, "25 Nov 2026 10:00 EAT", "agent1 recorded a payment of KES 1,234,567.50 (reference PAY-1)", ""),
        (8, "25 Nov 2026 10:00 EAT", "officer7 rejected the declaration and seized the goods",
         "Reason: “Smuggling”"),
    ]
