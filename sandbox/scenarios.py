"""The training worlds: `demo`, `mombasa-peak-day`, `classroom`, `outage-drill`, and seeding one
(`sandbox_seed`, `manage.py sandbox seed`) with `sandbox.seeding`'s `WorldBuilder`.

Each scenario has a fixed epoch (its "now" when seeding starts, East Africa Time) and a build
function composed from `WorldBuilder`'s vocabulary. Local references of declarations that must
land in a given lane start with the deterministic-outcome letter (sandbox.outcomes); the others
start with a firm prefix that is not an outcome letter and are scored by the real rules.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import factory.random
from django.db import transaction
from tqdm import tqdm

from core import clock
from core.exceptions import Conflict, ValidationFailed, error
from core.models import OutboxMessage
from maintenance.provisional import release_rules_ensure_defaults
from traders.models import ClearingAgent

from . import factories as f
from .drills import drill_prepare
from .models import SeedRun
from .seeding import EAT, SYSTEM_LABEL, Firm, WorldBuilder, require_sandbox, seeded_uuids, world_digest


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    epoch: dt.datetime
    build: Callable[[WorldBuilder, int], None]
    steps: Callable[[int], int]
    description: str


def _eat(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=EAT)


# --- demo ----------------------------------------------------------------------------------------

# (firm index, trader index, letter, path): every status and every lane.
DEMO_PLAN: tuple[tuple[int, int, str, str], ...] = (
    (0, 1, "", "draft"),
    (0, 1, "G", "assessed"),
    (1, 1, "", "cancelled"),
    (0, 1, "G", "released_auto"),
    (0, 2, "B", "released_auto"),
    (1, 1, "G", "exited"),
    (0, 2, "Y", "under_control"),
    (1, 1, "R", "under_control"),
    (0, 1, "Q", "queried"),
    (1, 1, "Y", "released_by_officer"),
    (0, 2, "R", "inspected_released"),
    (1, 1, "R", "rejected"),
    (0, 0, "", "auto"),  # the AEO trader, normal scoring: green (AEO benefit)
    (1, 3, "", "auto"),  # the watch-listed trader, normal scoring (watch list + first time: red)
    (0, 2, "", "auto"),
    (1, 1, "", "auto"),
)


def build_demo(w: WorldBuilder, _trainees: int) -> None:
    epoch = w.epoch
    w.clock_to(epoch - dt.timedelta(days=3))
    w.superuser()
    w.officers_of_each_group()
    w.risk_rules()
    pwani = w.firm(name="Pwani Clearing and Forwarding Ltd", licence="SBX/CA/00101", username="pwani-clearing",
                   prefix="PWN", traders=3, aeo=1)
    kilindini = w.firm(name="Kilindini Freight Agencies Ltd", licence="SBX/CA/00102",
                       username="kilindini-freight", prefix="KFA", traders=4, watch=1, exporters=1)
    msc = w.carrier(code="MSCU", name="Mediterranean Shipping Company (Kenya)", username="msc-kenya")
    kq = w.carrier(code="KQ", name="Kenya Airways Cargo", username="kq-cargo")
    w.terminals(jkia=True)
    w.tick(6)
    # A diplomatic mission's certificate, for trainees to claim (and over-claim) the exemption.
    w.exemption_certificate(pwani.traders[0], number="SBX/MFA/DIP/0001")
    firms = [pwani, kilindini]
    sea_consignments = {i: [] for i in range(len(DEMO_PLAN))}  # type: dict[int, list[Any]]
    for i, (fi, ti, _letter, _path) in enumerate(DEMO_PLAN):
        firm = firms[fi]
        sea_consignments[i] = w.consignments(firm, 1, traders=[firm.traders[ti]])
    # Transit to Uganda (IM8 under the EAC SCT) on the same vessel, secured by Pwani's regional bond.
    transit_bond = w.transit_setup(pwani)
    transit = w.transit_consignment(pwani)
    vessel = w.manifest(msc, [*(c for cs in sea_consignments.values() for c in cs), transit],
                        reference="MSC-ANNA-611A", eta=epoch - dt.timedelta(hours=12), voyage="611A")
    # One for a normal trader (waits for the aircraft), one for the AEO (pre-arrival clearance).
    air_pre = w.consignments(pwani, 1, traders=[pwani.traders[1]]) + w.consignments(pwani, 1,
                                                                                    traders=[pwani.traders[0]])
    flight = w.manifest(kq, air_pre, mode="air", reference="KQ0311-0303", flight="KQ311", office="JKA",
                        loading="AEDXB", eta=epoch + dt.timedelta(days=1))
    w.tick(2)
    w.clock_to(epoch - dt.timedelta(hours=12))
    w.arrive(vessel)
    w.tick()
    w.transit_tamper_on_the_northern_corridor(pwani, transit, bond=transit_bond,
                                              released_at=epoch - dt.timedelta(hours=11, minutes=30))
    w.clock_to(epoch)
    minute = 0
    for i, (fi, _ti, letter, path) in enumerate(DEMO_PLAN):
        firm = firms[fi]
        body = w.import_body(firm, sea_consignments[i][0], firm.next_reference(letter))
        w.take_path(firm, body, path)
        minute += 7
        w.clock_to(epoch + dt.timedelta(minutes=minute))
        w.tick()
    # Pre-arrival at JKIA: paid before the aircraft lands; the AEO's is released at once.
    w.take_path(pwani, w.import_body(pwani, air_pre[0], pwani.next_reference("G"), office="JKA"),
                "paid_waiting_arrival")
    w.take_path(pwani, w.import_body(pwani, air_pre[1], pwani.next_reference("G"), office="JKA"),
                "released_auto")
    exporter = kilindini.traders[0]
    w.take_path(kilindini, w.export_body(exporter, kilindini.next_reference("G")), "released_auto")
    w.take_path(kilindini, w.export_body(exporter, kilindini.next_reference("G")), "exited")
    w.tick(4)
    saturday = (epoch + dt.timedelta(days=(5 - epoch.weekday()) % 7)).replace(hour=22, minute=0)
    w.window(starts_at=saturday, ends_at=saturday + dt.timedelta(hours=8),
             reason="iCMS database upgrade (sandbox demo window)")
    w.tick()
    _ = flight
    # The IDF the OpenAPI examples quote (declarations/openapi.py: the Swagger IM4, KES 250,000 of
    # vehicle parts on the draft's B/L for Pwani's second importer). Raised last, so the ids drawn
    # before it do not move.
    w.example_idf(pwani, pwani.traders[1], currency="KES", value=Decimal("250000.00"), hs_codes=["8708.99.00"])
    w.notes.append("JKIA flight KQ311 has not arrived: advance the clock a day and record its arrival "
                   "to see the paid declaration released.")


# --- mombasa-peak-day ------------------------------------------------------------------------------

PEAK_FIRMS = 12
PEAK_VESSELS = (("MAERSK KENSINGTON", "9454448", "448E"), ("MSC ANNA", "9321483", "611B"),
                ("CMA CGM TAGE", "9454448", "0FM9"), ("EVER GIVEN", "9321483", "0293W"),
                ("KOTA PERDANA", "9454448", "PDN041"))
PEAK_PER_VESSEL = 440
PEAK_EXPORTS = 300


def _peak_path(w: WorldBuilder) -> tuple[str, str]:
    r = w.rng.random()
    if r < 0.08:
        return "", "assessed"
    if r < 0.10:
        return "", "cancelled"
    if r < 0.13:
        return "Y", "released_by_officer"
    if r < 0.15:
        return "R", "inspected_released"
    if r < 0.16:
        return "Q", "queried"
    if r < 0.17:
        return "R", "rejected"
    if r < 0.30:
        return "G", "exited"
    return "", "auto"


def build_peak(w: WorldBuilder, _trainees: int) -> None:
    epoch = w.epoch
    w.clock_to(epoch - dt.timedelta(days=3))
    w.officers_of_each_group()
    w.risk_rules()
    firms: list[Firm] = []
    for i in range(PEAK_FIRMS):
        firms.append(w.firm(name=f"Mombasa Agency {i + 1:02d} Ltd", licence=f"SBX/CA/{200 + i:05d}",
                            username=f"agency{i + 1:02d}", prefix=f"A{i + 1:02d}", traders=10, aeo=1, watch=1,
                            exporters=2 if i < 6 else 0))
    carriers = [w.carrier(code=code, name=name, username=user) for code, name, user in (
        ("MAEU", "Maersk Kenya", "maersk-kenya"), ("MSCU", "MSC Kenya", "msc-kenya"),
        ("CMDU", "CMA CGM Kenya", "cma-cgm-kenya"))]
    w.terminals()
    w.tick(PEAK_FIRMS)
    vessels = []
    for v, (name, imo, voyage) in enumerate(PEAK_VESSELS):
        plan = []
        for _ in range(PEAK_PER_VESSEL):
            firm = w.rng.choice(firms)
            importers = [t for t in firm.traders if "Tea Estates" not in t.name]
            plan.append((firm, w.consignments(firm, 1, traders=importers)[0]))
        manifest = w.manifest(carriers[v % len(carriers)], [c for _, c in plan], reference=f"{name[:4]}-{voyage}",
                              name=name, imo=imo, voyage=voyage, eta=epoch - dt.timedelta(hours=20 - v * 2),
                              loading=("CNSHA", "AEJEA", "INNSA", "JPYOK", "CNSHA")[v])
        vessels.append((manifest, plan))
        w.tick()
    w.clock_to(epoch - dt.timedelta(hours=8))
    for manifest, _ in vessels:
        w.arrive(manifest)
    w.clock_to(epoch)
    work: list[tuple[Firm, Any]] = [(firm, c) for _, plan in vessels for firm, c in plan]
    exporters = [(firm, t) for firm in firms for t in firm.traders if "Tea Estates" in t.name]
    work += [(firm, trader) for firm, trader in (w.rng.choice(exporters) for _ in range(PEAK_EXPORTS))]
    w.rng.shuffle(work)
    day_seconds = 14 * 3600
    chunk = 25
    for start in range(0, len(work), chunk):
        batch = []
        for firm, thing in work[start:start + chunk]:
            letter, path = _peak_path(w)
            reference = firm.next_reference(letter)
            if hasattr(thing, "bl_number"):
                body = w.import_body(firm, thing, reference)
            else:
                body = w.export_body(thing, reference)
                if path in ("released_by_officer", "inspected_released", "rejected", "queried"):
                    path = "exited"
                    body["local_reference"] = "G" + reference
            batch.append((firm, body, path))
        w.take_paths(batch)
        w.clock_to(epoch + dt.timedelta(seconds=day_seconds * min(start + chunk, len(work)) / len(work)))
        w.tick(len(batch))
    saturday = (epoch + dt.timedelta(days=(5 - epoch.weekday()) % 7)).replace(hour=22, minute=0)
    w.window(starts_at=saturday, ends_at=saturday + dt.timedelta(hours=8), reason="iCMS weekend maintenance")


# --- classroom -----------------------------------------------------------------------------------

CLASSROOM_BLS = 6


def build_classroom(w: WorldBuilder, trainees: int) -> None:
    epoch = w.epoch
    w.clock_to(epoch - dt.timedelta(days=2))
    w.officers_of_each_group()
    w.risk_rules()
    carrier = w.carrier(code="PILU", name="PIL Kenya (classroom vessel)", username="classroom-carrier")
    w.terminals()
    w.tick(2)
    per_trainee = []
    for i in range(1, trainees + 1):
        firm = w.firm(name=f"Trainee {i:02d} Clearing Ltd", licence=f"SBX/TR/{i:05d}", username=f"trainee{i:02d}",
                      prefix=f"T{i:02d}", traders=2)
        consignments = w.consignments(firm, CLASSROOM_BLS)
        manifest = w.manifest(carrier, consignments, reference=f"CLASS-{i:02d}", name="KOTA PERDANA",
                              imo="9454448", voyage=f"CL{i:02d}", eta=epoch - dt.timedelta(hours=6))
        per_trainee.append((firm, consignments, manifest))
        w.idfs_for_exercises(firm, consignments[2:])
        w.tick()
    w.clock_to(epoch - dt.timedelta(hours=6))
    for _, _, manifest in per_trainee:
        w.arrive(manifest)
    w.clock_to(epoch)
    for firm, consignments, _ in per_trainee:
        w.take_path(firm, w.import_body(firm, consignments[0], firm.next_reference("G")), "released_auto")
        w.take_path(firm, w.import_body(firm, consignments[1], firm.next_reference("Y")), "under_control")
        w.tick()
    w.notes.append(f"Each trainee has {CLASSROOM_BLS - 2} undeclared B/Ls on its own manifest for exercises; "
                   "local references starting with G/B/Y/R/Q/X choose the outcome (docs/sandbox.md).")


# --- outage-drill ----------------------------------------------------------------------------------

def build_outage_drill(w: WorldBuilder, _trainees: int) -> None:
    epoch = w.epoch
    w.clock_to(epoch - dt.timedelta(days=2))
    w.officers_of_each_group()
    w.risk_rules()
    tea = w.firm(name="Mombasa Tea Brokers Clearing Ltd", licence="SBX/CA/00301", username="tea-clearing",
                 prefix="MTB", traders=5, exporters=4, aeo=1)
    imports = w.firm(name="Changamwe Freight Ltd", licence="SBX/CA/00302", username="changamwe-freight",
                     prefix="CFL", traders=3, watch=1)
    carrier = w.carrier(code="MSCU", name="MSC Kenya", username="msc-kenya")
    w.terminals()
    w.tick(4)
    consignments = w.consignments(imports, 6)
    transit_bond = w.transit_setup(imports)
    transit = w.transit_consignment(imports)
    vessel = w.manifest(carrier, [*consignments, transit], reference="MSC-DRILL-446R", voyage="446R",
                        eta=epoch - dt.timedelta(hours=10))
    w.clock_to(epoch - dt.timedelta(hours=10))
    w.arrive(vessel)
    # A transit movement up the Northern Corridor with a tamper alert, live when the outage hits.
    w.transit_tamper_on_the_northern_corridor(imports, transit, bond=transit_bond,
                                              released_at=epoch - dt.timedelta(hours=9, minutes=50))
    w.clock_to(epoch - dt.timedelta(hours=2))
    # The morning before the failure: some tea already cleared, some lodged and waiting.
    for i, path in enumerate(("exited", "released_auto", "assessed", "assessed")):
        w.take_path(tea, w.export_body(tea.traders[i % 4], tea.next_reference("G")), path)
        w.tick()
    for c, path in zip(consignments[:3], ("auto", "assessed", "auto"), strict=True):
        w.take_path(imports, w.import_body(imports, c, imports.next_reference()), path)
    w.clock_to(epoch)
    drill_prepare(builder=w, tea_firm=tea)
    w.tick(2)


def _steps_small(_t: int) -> int:
    return 6 + 2 + 1 + len(DEMO_PLAN) + 4 + 1


SCENARIOS: dict[str, ScenarioSpec] = {
    "demo": ScenarioSpec("demo", _eat(2026, 3, 2, 8, 0), build_demo, _steps_small,
                         "2 agent firms, 7 traders (1 AEO, 1 watch-listed, 1 tea exporter), a Mombasa vessel and a "
                         "JKIA flight, ~20 declarations in every status and lane, a scheduled window"),
    "mombasa-peak-day": ScenarioSpec(
        "mombasa-peak-day", _eat(2026, 11, 16, 6, 0), build_peak,
        lambda _t: PEAK_FIRMS + len(PEAK_VESSELS) + len(PEAK_VESSELS) * PEAK_PER_VESSEL + PEAK_EXPORTS,
        "a busy Monday at Mombasa: 5 vessels, 12 agencies, ~2,500 declarations"),
    "classroom": ScenarioSpec("classroom", _eat(2026, 6, 1, 8, 0), build_classroom,
                              lambda t: 2 + 2 * t,
                              "one isolated agent firm per trainee (--trainees N) with its own traders, "
                              "manifest and token"),
    "outage-drill": ScenarioSpec("outage-drill", _eat(2024, 11, 18, 8, 0), build_outage_drill,
                                 lambda _t: 4 + 4 + 2,
                                 "the November 2024 Mombasa outage: tea exports waiting, a scheduled window, "
                                 "`sandbox drill next` runs the steps"),
}


# --- seeding a scenario ------------------------------------------------------------------------

@dataclass(frozen=True)
class SeedResult:
    scenario: str
    seed: int
    epoch: dt.datetime
    counts: dict[str, int]
    digest: str
    seconds: float
    credentials: dict[str, Any]


def sandbox_seed(*, scenario: str, seed: int, trainees: int = 0, show_progress: bool = True,
                 actor_label: str = SYSTEM_LABEL) -> SeedResult:
    """Build the named scenario's world into the (reset) sandbox database."""
    require_sandbox()
    spec = SCENARIOS.get(scenario)
    if spec is None:
        raise ValidationFailed(errors=[error("unknown_scenario", f"No scenario {scenario!r}; choose one of "
                                             f"{', '.join(sorted(SCENARIOS))}.", "--scenario")])
    if ClearingAgent.objects.exists():
        raise Conflict(detail="The sandbox already holds a world: run `manage.py sandbox reset` first "
                              "(the same seed only gives the same world on an empty sandbox).",
                       code="sandbox_not_empty")
    started = time.perf_counter()
    factory.random.reseed_random(seed)
    for factory_class in (f.SandboxUserFactory, f.SandboxTraderFactory, f.SandboxClearingAgentFactory,
                          f.SandboxCarrierFactory):
        factory_class.reset_sequence()
    total = spec.steps(trainees)
    bar = tqdm(total=total, desc=f"seeding {scenario}", unit="step", disable=not show_progress, leave=False)
    builder = WorldBuilder(scenario=scenario, seed=seed, epoch=spec.epoch, progress=bar)
    try:
        # All or nothing: a failed seed leaves the sandbox as it was (bar the clock).
        with seeded_uuids(seed), transaction.atomic():
            builder.clock_to(spec.epoch)
            spec.build(builder, trainees)
            # The published provisional release rules (a reset wiped them); copied to intake on commit.
            release_rules_ensure_defaults(actor=None)
            _quiet_outbox()  # before the commit, whose hook sends what is still pending
    finally:
        bar.close()
    counts, digest = world_digest()
    seconds = time.perf_counter() - started
    credentials = {"scenario": scenario, "seed": seed, "epoch": spec.epoch.isoformat(),
                   "sandbox_clock": clock.now().astimezone(EAT).isoformat(timespec="seconds"),
                   **builder.credentials, "notes": builder.notes}
    SeedRun.objects.create(scenario=scenario, seed=seed, epoch=spec.epoch, counts=counts, digest=digest,
                           seconds=seconds, created_at=clock.now())
    return SeedResult(scenario=scenario, seed=seed, epoch=spec.epoch, counts=counts, digest=digest,
                      seconds=seconds, credentials=credentials)


def _quiet_outbox() -> None:
    """Scoring and clearance already ran synchronously while seeding: the messages the services
    queued for workers would be no-ops, so they are marked sent (no burst of idle tasks on start).
    Windows' and notifications' messages are left for the workers."""
    names = ("risk.score_declaration", "clearance.advance", "clearance.manifest_arrived")
    OutboxMessage.objects.filter(task_name__in=names, dispatched_at__isnull=True).update(dispatched_at=clock.now())
