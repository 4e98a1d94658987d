"""Building training worlds: `WorldBuilder`, the vocabulary the scenarios (`sandbox.scenarios`,
which also runs `manage.py sandbox seed`) compose.

Parties come from factory-boy factories (`sandbox.factories`); every lifecycle goes through the
real services: manifests are lodged, arrive and are discharged; declarations are lodged, scored,
paid, cleared and decided by officers exactly as in production, with their events and actors.

Reproducibility: every random choice comes from `random.Random(seed)` (and factory-boy's random,
reseeded with the seed), the services' `uuid.uuid4()` is fed from a seeded generator while seeding
(declaration ids drive the risk engine's random selection), and the sandbox clock is set to the
scenario's epoch before anything is written, so rate dates, entry numbers and deadlines are the
same on every run. Secrets (passwords, API tokens) are random and never part of the digest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import random
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.authtoken.models import Token

from clearance.enums import LIVE_TASK_STATUSES
from clearance.models import OfficerTask
from clearance.services import (
    clearance_advance,
    declaration_gate_out,
    declaration_reject,
    declaration_release,
    gate_event_record,
    inspection_findings_record,
    officer_task_assign,
)
from declarations.lifecycle import no_payment_step
from declarations.models import Declaration, ESlip, ImportDeclarationForm
from declarations.services import (
    declaration_cancel,
    declaration_draft_create,
    declaration_lodge,
    declaration_pay,
    idf_raise,
)
from maintenance.models import MaintenanceWindow
from maintenance.services import window_schedule
from manifests.codes import iso6346_check_digit
from manifests.inputs import BillInput, ContainerInput, ManifestInput
from manifests.models import BillOfLading, Manifest, Terminal, TerminalStaff
from manifests.services import manifest_lodge, manifest_record_arrival, manifest_record_discharge
from officers.models import OfficerProfile
from risk.loaders import default_risk_rules_reset
from risk.models import RiskAssessment, RiskRule
from risk.services import risk_assessment_create, risk_assessments_create
from tariff.models import ExemptionCertificate
from traders.models import AEOProfile, AgentAuthorisation, ClearingAgent, Trader
from traders.services import aeo_profile_grant
from transit.services import bond_create, tracking_client_create, tracking_event_record
from transit.signing import sandbox_partner_credentials

from . import factories as f
from .clock import sandbox_clock_set
from .exceptions import SandboxModeRequired
from .groups import OFFICER_GROUPS, TRAINER

EAT = ZoneInfo("Africa/Nairobi")
SYSTEM_LABEL = "sandbox-seed"


def require_sandbox() -> None:
    if not settings.FORODHA_SANDBOX:
        raise SandboxModeRequired()


# --- goods catalogue (real HS 2022 codes of the loaded tariff) ----------------------------------

@dataclass(frozen=True)
class Goods:
    hs_code: str
    description: str
    origins: tuple[str, ...]
    package_kind: str
    kg_per_package: tuple[int, int]
    usd_per_kg: tuple[Decimal, Decimal]
    supplementary_unit: str = ""
    per_package_units: int = 0


IMPORT_GOODS: tuple[Goods, ...] = (
    Goods("8703.22.90", "Used motor car, 1490 cc petrol", ("JP",), "NE", (1050, 1250),
          (Decimal("4.50"), Decimal("7.00")), "NAR", 1),
    Goods("8708.99.00", "Spare parts for motor vehicles (brake pads, filters)", ("CN", "JP", "IN"), "CT", (20, 40),
          (Decimal("6.00"), Decimal("12.00"))),
    Goods("3926.90.90", "Plastic household articles (buckets, basins)", ("CN",), "CT", (8, 15),
          (Decimal("1.50"), Decimal("3.00"))),
    Goods("8471.30.00", "Laptop computers, 14 inch", ("CN",), "CT", (10, 14),
          (Decimal("60.00"), Decimal("90.00")), "NAR", 5),
    Goods("9403.60.00", "Wooden office furniture (desks, cabinets)", ("CN", "MY"), "PK", (40, 80),
          (Decimal("3.00"), Decimal("6.00"))),
    Goods("8517.13.00", "Smartphones", ("CN", "IN"), "CT", (6, 10), (Decimal("150.00"), Decimal("250.00")),
          "NAR", 20),
    Goods("1006.30.00", "Milled white rice, 50 kg bags", ("PK", "IN"), "BG", (50, 50),
          (Decimal("0.45"), Decimal("0.60"))),
    Goods("4011.10.00", "New pneumatic tyres for motor cars", ("CN", "TH"), "PK", (8, 10),
          (Decimal("3.50"), Decimal("5.00")), "NAR", 1),
)
TEA = Goods("0902.40.00", "Black tea CTC, Mombasa auction, 60 kg paper sacks", ("KE",), "BG", (61, 61),
            (Decimal("2.60"), Decimal("3.40")))
TEA_DESTINATIONS = ("PK", "EG", "GB", "AE", "SD")
CENT = Decimal("0.01")
KG = Decimal("0.001")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --- the world being built ------------------------------------------------------------------------

@dataclass
class Firm:
    agent: Any
    staff_user: Any
    token: str
    traders: list[Any] = field(default_factory=list)
    prefix: str = "AGT"
    counter: int = 0

    def next_reference(self, letter: str = "") -> str:
        self.counter += 1
        return f"{letter}{self.prefix}-{self.counter:06d}" if letter else f"{self.prefix}-{self.counter:06d}"


@dataclass
class CarrierCtx:
    carrier: Any
    user: Any
    token: str


@dataclass
class Consignment:
    """A B/L on a lodged manifest, waiting to be declared."""

    bl_number: str
    trader: Any
    goods: Goods
    packages: int
    gross_kg: Decimal
    value_usd: Decimal
    manifest: Any = None
    # ISO 6346 container numbers (transit consignments: each carries an RECTS e-seal).
    containers: tuple[str, ...] = ()
    idf_number: str = ""


# Target state of a seeded declaration -> the path to it.
PATHS = ("draft", "assessed", "cancelled", "paid_waiting_arrival", "released_auto", "exited",
         "under_control", "queried", "released_by_officer", "inspected_released", "rejected")


class WorldBuilder:
    """Builds one scenario. Methods are the scenario's vocabulary; `scenarios.py` composes them."""

    def __init__(self, *, scenario: str, seed: int, epoch: dt.datetime, progress: Any = None) -> None:
        self.scenario = scenario
        self.seed = seed
        self.epoch = epoch
        self.rng = random.Random(seed)
        self.progress = progress
        self.credentials: dict[str, list[dict[str, Any]]] = {"agents": [], "officers": [], "carriers": [],
                                                              "terminals": [], "trainers": [], "idfs": [],
                                                              "tracking_clients": [], "partners": []}
        self.officers: dict[str, Any] = {}
        self.firms: list[Firm] = []
        self.carriers: list[CarrierCtx] = []
        self.gate: dict[str, tuple[Any, Any]] = {}  # office -> (terminal, its staff user)
        self._pin_counter = 0
        self._bl_counter = 0
        self.notes: list[str] = []

    # --- clock ---------------------------------------------------------------------------------
    def clock_to(self, at: dt.datetime) -> None:
        sandbox_clock_set(at=at, actor_label=SYSTEM_LABEL)

    def at(self, **delta: float) -> dt.datetime:
        return self.epoch + dt.timedelta(**delta)

    def tick(self, n: int = 1) -> None:
        if self.progress is not None:
            self.progress.update(n)

    # --- parties ---------------------------------------------------------------------------------
    def _password(self) -> str:
        return f"sbx-{secrets.token_urlsafe(9)}"

    def _token(self, user: Any) -> str:
        token, _ = Token.objects.get_or_create(user=user)
        return token.key

    def officer(self, username: str, groups: list[str], office: str = "MBA", *, trainer: bool = False) -> Any:
        user: Any = f.SandboxUserFactory(username=username, is_staff=True)
        password = self._password()
        user.set_password(password)
        user.save()
        for name in groups:
            group, _ = Group.objects.get_or_create(name=name)
            user.groups.add(group)
        if apps.is_installed("officers"):
            OfficerProfile.objects.update_or_create(user=user, defaults={"office_id": office})
        entry = {"username": username, "password": password, "groups": list(groups), "office": office}
        self.credentials["trainers" if trainer else "officers"].append(entry)
        self.officers[username] = user
        return user

    def superuser(self, username: str = "admin") -> None:
        """A superuser for the trainer's admin tour (kept by `sandbox reset`; new password per seed)."""
        user: Any = f.SandboxUserFactory(username=username)
        user.is_staff = user.is_superuser = True
        password = self._password()
        user.set_password(password)
        user.save()
        self.credentials["officers"].insert(0, {"username": username, "password": password,
                                                "groups": ["superuser"], "office": "MBA"})

    def officers_of_each_group(self, suffix: str = "") -> None:
        for name in OFFICER_GROUPS:
            slug = name.replace(" ", "-")
            office = "JKA" if name == "inspector" and suffix == "-jka" else "MBA"
            self.officer(f"{slug}{suffix or '1'}", [name], office)
        self.officer("trainer1", [TRAINER], "MBA", trainer=True)

    def next_pin(self) -> str:
        self._pin_counter += 1
        return f.kra_pin(self.seed % 1000 * 1_000_000 + 51_000_000 + self._pin_counter * 7919)

    def firm(self, *, name: str, licence: str, username: str, prefix: str, traders: int, aeo: int = 0,
             watch: int = 0, exporters: int = 0) -> Firm:
        agent: Any = f.SandboxClearingAgentFactory(name=name, licence_number=licence)
        staff: Any = f.SandboxAgentStaffFactory(agent=agent, user=f.SandboxUserFactory(username=username))
        firm = Firm(agent=agent, staff_user=staff.user, token=self._token(staff.user), prefix=prefix)
        for i in range(traders):
            extra = {"name": f"{name.split()[0]} Tea Estates {i + 1} Ltd"} if i < exporters else {}
            trader: Any = f.SandboxTraderFactory(pin=self.next_pin(), **extra)
            if i >= traders - watch:
                trader.on_watch_list = True
                trader.watch_reason = "Sandbox: undervaluation of electronics reported by the PCA unit"
                trader.save(update_fields=["on_watch_list", "watch_reason"])
            f.SandboxAuthorisationFactory(agent=agent, trader=trader)
            if exporters <= i < exporters + aeo:
                aeo_profile_grant(trader=trader, valid_from=dt.date(2020, 1, 1), valid_to=dt.date(2030, 12, 31),
                                  actor=None)
            firm.traders.append(trader)
        self.firms.append(firm)
        self.credentials["agents"].append({"username": username, "token": firm.token, "agent": name,
                                           "traders": [t.pin for t in firm.traders]})
        return firm

    def carrier(self, *, code: str, name: str, username: str) -> CarrierCtx:
        carrier: Any = f.SandboxCarrierFactory(code=code, name=name)
        staff: Any = f.SandboxCarrierStaffFactory(carrier=carrier, user=f.SandboxUserFactory(username=username))
        ctx = CarrierCtx(carrier=carrier, user=staff.user, token=self._token(staff.user))
        self.carriers.append(ctx)
        self.credentials["carriers"].append({"username": username, "token": ctx.token, "carrier": code})
        return ctx

    def terminal(self, *, code: str, name: str, username: str, office: str = "MBA") -> Any:
        """A terminal operator (gate-out and loading reports) with a staff user and a token."""
        terminal = Terminal.objects.create(code=code, name=name, office_id=office)
        user: Any = f.SandboxUserFactory(username=username)
        TerminalStaff.objects.create(user=user, terminal=terminal)
        self.gate.setdefault(office, (terminal, user))
        self.credentials["terminals"].append({"username": username, "token": self._token(user), "terminal": code,
                                              "office": office})
        return terminal

    def terminals(self, *, jkia: bool = False) -> None:
        self.terminal(code="KPA-CT2", name="Kenya Ports Authority, Container Terminal 2 (sandbox)",
                      username="kpa-ct2")
        if jkia:
            self.terminal(code="JKIA-KQC", name="JKIA cargo centre (sandbox)", username="jkia-cargo", office="JKA")

    def risk_rules(self) -> None:
        """The rule set every scenario scores with: the default rules shipped with the reference
        data (docs/risk.md), exactly as shipped, plus two the sandbox adds (watch list, an
        electronics valuation risk) that have no shipped counterpart. The sandbox's own copies of
        first-time trader, sensitive goods and random selection are gone: one random selection,
        not two, and the world a trainee sees is scored like a fresh installation."""
        # Whether `load_reference_data` ran with the rules or not, and whatever was tuned before a
        # reset (which wipes the risk tables), the seed scores with the same rules: same world.
        default_risk_rules_reset()
        valid_from = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        # Fixed ids: the random rule's draw hashes (declaration id, rule id), and a database
        # sequence would give other ids after earlier (rolled back or wiped) rows.
        rules: list[tuple[int, str, str, str, int, dict[str, Any]]] = [
            (9001, "sbx-watch-list", "trader_watch", "Trader on the watch list", 60, {}),
            (9004, "sbx-electronics-origin", "hs_match", "Phones and laptops (valuation risk)", 20,
             {"hs_prefixes": "851713,847130"}),
        ]
        for rule_id, code, kind, description, weight, extra in rules:
            RiskRule.objects.update_or_create(code=code, defaults={"id": rule_id,
                "kind": kind, "description": description, "weight": weight, "forced_lane": "",
                "active": True, "valid_from": valid_from, **extra})

    # --- manifests -------------------------------------------------------------------------------
    def consignments(self, firm: Firm, n: int, *, goods: tuple[Goods, ...] = IMPORT_GOODS,
                     traders: list[Any] | None = None) -> list[Consignment]:
        pool = traders or firm.traders
        out = []
        for _ in range(n):
            g = self.rng.choice(goods)
            trader = self.rng.choice(pool)
            packages = self.rng.randint(1, 3) if g.package_kind == "NE" else self.rng.randint(10, 400)
            kg = Decimal(packages * self.rng.randint(*g.kg_per_package))
            price = g.usd_per_kg[0] + (g.usd_per_kg[1] - g.usd_per_kg[0]) * Decimal(self.rng.randint(0, 100)) / 100
            self._bl_counter += 1
            out.append(Consignment(bl_number=f"SBX{self.seed % 10000:04d}{self._bl_counter:07d}", trader=trader,
                                   goods=g, packages=packages, gross_kg=kg.quantize(KG),
                                   value_usd=money(kg * price)))
        return out

    def manifest(self, carrier: CarrierCtx, consignments: list[Consignment], *, mode: str = "sea",
                 reference: str, eta: dt.datetime, name: str = "MSC ANNA", imo: str = "9321483",
                 voyage: str = "", flight: str = "", loading: str = "CNSHA", office: str = "MBA") -> Any:
        bills = tuple(
            BillInput(number=c.bl_number, shipper_name="Far East Export Trading Co Ltd",
                      consignee_name=c.trader.name, consignee_pin=c.trader.pin, notify_party_name=c.trader.name,
                      description=c.goods.description, packages=c.packages, package_kind=c.goods.package_kind,
                      gross_weight_kg=c.gross_kg, place_of_delivery="KEMBA" if office == "MBA" else "KENBO",
                      containers=tuple(ContainerInput(number=n, size_type="45G1", seals=(f"SL{n[4:10]}",))
                                       for n in c.containers))
            for c in consignments
        )
        data = ManifestInput(
            reference=reference, mode=mode, vessel_name=name if mode == "sea" else "",
            vessel_imo=imo if mode == "sea" else "", flight_number=flight, voyage_number=voyage or flight,
            port_of_loading=loading, port_of_discharge="KEMBA" if office == "MBA" else "KENBO",
            office_of_discharge=office, eta=eta, bills=bills)
        manifest = manifest_lodge(carrier=carrier.carrier, data=data, actor=carrier.user)
        for c in consignments:
            c.manifest = manifest
        return manifest

    def arrive(self, manifest: Any, *, discharge: bool = True) -> None:
        manifest_record_arrival(manifest_id=manifest.pk, ata=None, actor=self.officers.get("officer1"))
        if discharge:
            manifest_record_discharge(manifest_id=manifest.pk, discharged_at=None,
                                      actor=self.officers.get("officer1"))

    # --- declarations ----------------------------------------------------------------------------
    def idf(self, firm: Firm, c: Consignment) -> str:
        """The consignment's IDF on the simulated single window, raised once through the service."""
        if not c.idf_number:
            c.idf_number = idf_raise(agent=firm.agent, importer_pin=c.trader.pin, currency="USD", value=c.value_usd,
                                     hs_codes=[c.goods.hs_code], actor=firm.staff_user).number
        return c.idf_number

    def example_idf(self, firm: Firm, trader: Any, *, currency: str, value: Decimal, hs_codes: list[str]) -> str:
        """An IDF that no seeded declaration uses, listed in the credentials file (`idfs`)."""
        number = idf_raise(agent=firm.agent, importer_pin=trader.pin, currency=currency, value=value,
                           hs_codes=hs_codes, actor=firm.staff_user).number
        self.credentials["idfs"].append({"agent": firm.agent.name, "number": number, "importer_pin": trader.pin,
                                         "currency": currency, "value": str(value), "hs_codes": hs_codes})
        return number

    def idfs_for_exercises(self, firm: Firm, consignments: list[Consignment]) -> None:
        """IDFs for B/Ls left undeclared for trainees, listed in the credentials file (`idfs`)."""
        for c in consignments:
            self.credentials["idfs"].append({
                "agent": firm.agent.name, "number": self.idf(firm, c), "importer_pin": c.trader.pin,
                "bill_of_lading": c.bl_number, "currency": "USD", "value": str(c.value_usd),
                "hs_codes": [c.goods.hs_code]})

    def import_body(self, firm: Firm, c: Consignment, reference: str, office: str = "MBA") -> dict[str, Any]:
        g = c.goods
        freight = money(c.value_usd * Decimal("0.08"))
        insurance = money(c.value_usd * Decimal("0.01"))
        item: dict[str, Any] = {
            "hs_code": g.hs_code, "description": g.description, "origin_country": self.rng.choice(g.origins),
            "packages": c.packages, "package_kind": g.package_kind,
            "gross_weight_kg": str(c.gross_kg), "net_weight_kg": str((c.gross_kg * Decimal("0.95")).quantize(KG)),
            "customs_value": str(c.value_usd + freight + insurance),
        }
        if g.supplementary_unit:
            item["supplementary_quantity"] = str(c.packages * g.per_package_units)
            item["supplementary_unit"] = g.supplementary_unit
        if g.hs_code[:4] in ("8702", "8703", "8704", "8705"):
            item["vehicle"] = self.vehicle_particulars(reference)
        return {
            "regime": "IM4", "cpc": "4000000", "office": office, "importer_pin": c.trader.pin,
            "local_reference": reference, "bill_of_lading": c.bl_number, "currency": "USD",
            "invoice_amount": str(c.value_usd), "freight_amount": str(freight),
            "insurance_amount": str(insurance), "incoterm": "FOB", "country_of_export": item["origin_country"],
            "idf_number": self.idf(firm, c), "items": [item],
        }

    def vehicle_particulars(self, reference: str) -> dict[str, Any]:
        """A used Corolla Axio (on KRA's CRSP list) three years old at the epoch. The chassis number
        is derived from the reference, not drawn, so the world's random sequence is unchanged."""
        serial = int(hashlib.sha256(reference.encode()).hexdigest()[:8], 16) % 10_000_000
        return {"chassis_number": f"NKE165-{serial:07d}", "make": "TOYOTA", "model": "COROLLA AXIO",
                "year_of_manufacture": self.epoch.year - 3, "engine_capacity_cc": 1496, "fuel": "petrol",
                "condition": "used"}

    def exemption_certificate(self, trader: Any, *, number: str) -> Any:
        """A diplomatic exemption certificate for two cars' worth of value (docs/declarations.md)."""
        day = self.epoch.date()
        return ExemptionCertificate.objects.create(
            number=number, holder_pin=trader.pin, holder_name=trader.name, category="diplomatic",
            exemption_code="DIPLOMATIC", hs_prefixes="8703", goods_description="motor cars for the mission",
            quota_kind="value", quota_total=Decimal("3000000.000"), reduces_idf_rdl=False,
            issuing_authority="Ministry of Foreign and Diaspora Affairs, State Department (Protocol)",
            legal_reference="EACCMA 2004 Fifth Schedule Part A item 2",
            valid_from=day - dt.timedelta(days=180), valid_to=day + dt.timedelta(days=365),
            created_at=self.epoch, updated_at=self.epoch,
        )

    def export_body(self, exporter: Any, reference: str, *, sacks: int | None = None) -> dict[str, Any]:
        sacks = sacks or self.rng.randint(100, 640)
        kg = Decimal(sacks * 61)
        price = TEA.usd_per_kg[0] + (TEA.usd_per_kg[1] - TEA.usd_per_kg[0]) * Decimal(self.rng.randint(0, 100)) / 100
        value = money(kg * price)
        destination = self.rng.choice(TEA_DESTINATIONS)
        return {
            "regime": "EX1", "cpc": "1000100", "office": "MBA", "exporter_pin": exporter.pin,
            "local_reference": reference, "currency": "USD", "invoice_amount": str(value),
            "freight_amount": "0.00", "insurance_amount": "0.00", "incoterm": "FOB",
            "country_of_destination": destination,
            "items": [{"hs_code": TEA.hs_code, "description": TEA.description, "origin_country": "KE",
                       "packages": sacks, "package_kind": "BG", "gross_weight_kg": str(kg.quantize(KG)),
                       "net_weight_kg": str((Decimal(sacks * 60)).quantize(KG)), "customs_value": str(value)}],
        }

    def lodge(self, firm: Firm, body: dict[str, Any]) -> Any:
        return declaration_lodge(agent=firm.agent, user=firm.staff_user, payload=body, actor=firm.staff_user)

    def draft(self, firm: Firm, body: dict[str, Any]) -> Any:
        return declaration_draft_create(agent=firm.agent, user=firm.staff_user, payload={**body, "draft": True},
                                        actor=firm.staff_user)

    def score(self, declaration: Any) -> str:
        outcome = risk_assessment_create(declaration_id=declaration.pk, actor=None)
        assert outcome.assessment is not None, outcome
        return outcome.assessment.lane

    def pay(self, firm: Firm, declaration: Any) -> Any:
        eslip = ESlip.objects.get(declaration_id=declaration.pk, is_current=True)
        method = self.rng.choice(("mpesa", "bank_transfer", "rtgs"))  # drawn either way: same seed, same world
        if no_payment_step(declaration):
            return None  # nothing to pay (a tea export at KES 0.00, an IM8): no payment step
        return declaration_pay(declaration_id=declaration.pk, agent=firm.agent, amount=eslip.amount,
                               currency=eslip.currency, method=method, actor=firm.staff_user)

    def advance(self, declaration: Any) -> str:
        return clearance_advance(declaration_id=declaration.pk, actor=None).action

    def take_paths(self, work: list[tuple[Firm, dict[str, Any], str]]) -> list[Any]:
        """Several declarations: lodged one by one, scored in ONE batch (the scoring task's bulk
        path), then each driven on to its path."""
        lodged = [None if path == "draft" else self.lodge(firm, body) for firm, body, path in work]
        risk_assessments_create(declaration_ids=[d.pk for d in lodged if d is not None])
        return [self.take_path(firm, body, path, lodged=declaration)
                for (firm, body, path), declaration in zip(work, lodged, strict=True)]

    def take_path(self, firm: Firm, body: dict[str, Any], path: str, *, lodged: Any = None) -> Any:
        """Lodge `body` and drive it to `path` (one of PATHS) through the real services."""
        if path == "draft":
            return self.draft(firm, body)
        if lodged is None:
            declaration = self.lodge(firm, body)
            self.score(declaration)
        else:
            declaration = lodged  # lodged and scored by `take_paths`
        if path == "assessed":
            return declaration
        if path == "cancelled":
            return declaration_cancel(declaration_id=declaration.pk, agent=firm.agent,
                                      reason="Wrong consignee entered; will re-lodge", actor=firm.staff_user)
        self.pay(firm, declaration)
        action = self.advance(declaration)
        officer = self.officers.get("officer1")
        inspector = self.officers.get("inspector1") or officer
        if path in ("released_by_officer",):
            task = _open_task(declaration)
            officer_task_assign(task_id=task.pk, officer=officer, actor=officer)
            declaration_release(declaration_id=declaration.pk, actor=officer, reason="Documents in order")
        elif path == "inspected_released":
            task = _open_task(declaration)
            officer_task_assign(task_id=task.pk, officer=inspector, actor=inspector)
            inspection_findings_record(declaration_id=declaration.pk, actor=inspector, compliant=True,
                                       findings="Container scanned and 10 % of packages opened: as declared")
            declaration_release(declaration_id=declaration.pk, actor=inspector, reason="Examination compliant")
        elif path == "rejected":
            task = _open_task(declaration)
            officer_task_assign(task_id=task.pk, officer=inspector, actor=inspector)
            inspection_findings_record(declaration_id=declaration.pk, actor=inspector, compliant=False,
                                       findings="Goods are smartphones, declared as plastic articles")
            declaration_reject(declaration_id=declaration.pk, actor=inspector, reason="Misdeclaration of goods")
        elif path == "exited":
            if action != "released":
                raise AssertionError(f"expected an automatic release, got {action}")
            if declaration.office_id in self.gate:
                # The terminal reports it, as in real use: imports gate out, exports are loaded on board.
                terminal, terminal_user = self.gate[declaration.office_id]
                gate_event_record(terminal=terminal, kind="loaded_on_board" if declaration.regime.startswith("EX")
                                  else "gate_out", entry_number=declaration.entry_number, actor=terminal_user)
            else:
                declaration_gate_out(declaration_id=declaration.pk, actor=officer)
        declaration.refresh_from_db()
        return declaration

    # --- transit (EAC SCT, docs/transit.md) ---------------------------------------------------------
    def transit_setup(self, firm: Firm, *, bond_amount: Decimal = Decimal("25000000.00")) -> Any:
        """The cargo tracking system's client, the firm's regional bond, and the partner states'
        signing material (sandbox keys, derived from the sandbox's SECRET_KEY) in the credentials."""
        username = "rects-tracking"
        _user, token = tracking_client_create(username=username, actor=SYSTEM_LABEL)
        self.credentials["tracking_clients"].append({
            "username": username, "token": token, "post_to": "/api/v1/transit/tracking-events",
            "note": "RECTS cargo tracking system: posts e-seal events (docs/transit.md)"})
        self.credentials["partners"].extend(sandbox_partner_credentials())
        return bond_create(number=f"SBX/RB/{firm.prefix}/{self.seed % 10000:04d}", amount=bond_amount,
                           surety="Kenya Commercial Bank (sandbox guarantee)", valid_from=dt.date(2020, 1, 1),
                           valid_to=dt.date(2030, 12, 31), principal_agent=firm.agent, actor=SYSTEM_LABEL)

    def transit_consignment(self, firm: Firm, *, containers: int = 2) -> Consignment:
        """A consignment for Uganda in `containers` containers (valid ISO 6346 numbers)."""
        c = self.consignments(firm, 1)[0]
        numbers = []
        for k in range(containers):
            first_ten = f"MSCU{(self.seed % 1000) * 1000 + self._bl_counter * 10 + k:06d}"
            numbers.append(f"{first_ten}{iso6346_check_digit(first_ten) % 10}")
        c.containers = tuple(numbers)
        return c

    def transit_body(self, firm: Firm, c: Consignment, reference: str, *, bond_number: str) -> dict[str, Any]:
        body = self.import_body(firm, c, reference)
        body.pop("idf_number")  # an IDF is for home use; transit goods are secured by the bond
        body.update({"regime": "IM8", "cpc": "8000000"})
        body["transit"] = {"destination_country": "UG", "office_of_exit": "MAL", "bond_number": bond_number,
                           "vehicle_registration": "KDA 418T",
                           "containers": [{"number": n, "e_seals": [f"KE-ES-{n[4:10]}"]} for n in c.containers]}
        return body

    def transit_tamper_on_the_northern_corridor(self, firm: Firm, c: Consignment, *, bond: Any,
                                               released_at: dt.datetime) -> Any:
        """An IM8 Mombasa -> Malaba -> Uganda released on its bond (no payment), tracked up the
        Northern Corridor, with an open e-seal tamper alert at Emali for officers to work."""
        self.clock_to(released_at)
        body = self.transit_body(firm, c, firm.next_reference("G"), bond_number=bond.number)
        declaration = self.lodge(firm, body)
        self.score(declaration)
        action = self.advance(declaration)
        if action != "released":
            raise AssertionError(f"expected the IM8 to be released on its bond, got {action}")
        seals = [s for container in body["transit"]["containers"] for s in container["e_seals"]]
        journey = [
            (5, "armed", "Mombasa port CFS", "-4.043477", "39.668206", seals),
            (20, "departure", "Mombasa port gate 18", "-4.045000", "39.650000", seals),
            (95, "checkpoint_passed", "Mariakani weighbridge", "-3.862200", "39.473100", seals),
            (290, "tamper_alert", "Emali", "-2.082400", "37.472200", seals[:1]),
        ]
        self.clock_to(released_at + dt.timedelta(minutes=journey[-1][0] + 5))
        for minutes, kind, place, lat, lon, which in journey:
            for seal in which:
                tracking_event_record(
                    event_id=f"SBX-{self.seed}-{seal}-{kind}", seal_number=seal, kind=kind,
                    occurred_at=released_at + dt.timedelta(minutes=minutes), location_name=place,
                    latitude=Decimal(lat), longitude=Decimal(lon), actor=SYSTEM_LABEL)
        self.notes.append(f"Transit {declaration.entry_number} (Mombasa -> Malaba -> Uganda) was released on bond "
                          f"{bond.number} without payment; e-seal {seals[0]} raised a tamper alert at Emali. "
                          "Log in as transit-officer1: Transit alerts -> acknowledge, investigate, resolve with a "
                          "reason; the movement closes only when both seals reach Malaba and URA confirms.")
        return declaration

    def window(self, *, starts_at: dt.datetime, ends_at: dt.datetime, reason: str, mode: str = "reject") -> Any:
        return window_schedule(starts_at=starts_at, ends_at=ends_at, reason=reason, mode=mode,
                               actor=self.officers.get("maintenance-admin1"))


def _open_task(declaration: Any) -> Any:
    return OfficerTask.objects.get(declaration_id=declaration.pk, status__in=LIVE_TASK_STATUSES)


# --- determinism -----------------------------------------------------------------------------------

@contextlib.contextmanager
def seeded_uuids(seed: int) -> Iterator[None]:
    """While seeding, `uuid.uuid4()` (as called by the services) yields a seeded sequence."""
    rng = random.Random(f"forodha-sandbox-uuid:{seed}")
    original = uuid.uuid4

    def seeded() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    uuid.uuid4 = seeded  # type: ignore[assignment]
    try:
        yield
    finally:
        uuid.uuid4 = original  # type: ignore[assignment]


def world_digest() -> tuple[dict[str, int], str]:
    """Counts and a sha256 over natural keys and outcomes (no timestamps, no secrets, no ids)."""
    rows: dict[str, list[Any]] = {
        "agents": list(ClearingAgent.objects.order_by("licence_number").values_list("licence_number", "name",
                                                                                    "on_watch_list")),
        "traders": list(Trader.objects.order_by("pin").values_list("pin", "name", "on_watch_list")),
        "authorisations": list(AgentAuthorisation.objects.order_by("agent__licence_number", "trader__pin")
                               .values_list("agent__licence_number", "trader__pin")),
        "aeo": list(AEOProfile.objects.order_by("trader__pin").values_list("trader__pin", "status", "tier")),
        "manifests": list(Manifest.objects.order_by("carrier__code", "reference")
                          .values_list("carrier__code", "reference", "status", "mode")),
        "bills": list(BillOfLading.objects.order_by("number").values_list("number", "consignee_pin", "packages",
                                                                           "gross_weight_kg")),
        "declarations": list(Declaration.objects.order_by("agent__licence_number", "local_reference")
                             .values_list("agent__licence_number", "local_reference", "regime", "status",
                                          "channel", "entry_number", "bill_of_lading__number")),
        "assessments": list(Declaration.objects.filter(assessments__isnull=False)
                            .order_by("entry_number", "assessments__version")
                            .values_list("entry_number", "assessments__version", "assessments__total")),
        "risk": list(RiskAssessment.objects.order_by("declaration__entry_number")
                     .values_list("declaration__entry_number", "lane", "score")),
        "tasks": list(OfficerTask.objects.order_by("declaration__entry_number", "queue")
                      .values_list("declaration__entry_number", "queue", "status", "outcome")),
        "windows": list(MaintenanceWindow.objects.order_by("starts_at").values_list("reason", "status", "mode")),
        "idfs": list(ImportDeclarationForm.objects.order_by("number").values_list("number", "importer_pin", "value")),
    }
    counts = {name: len(values) for name, values in rows.items()}
    payload = json.dumps(rows, default=str, sort_keys=True, separators=(",", ":"))
    return counts, hashlib.sha256(payload.encode()).hexdigest()


def run_in_transaction(fn: Callable[[], Any]) -> Any:
    with transaction.atomic():
        return fn()
