"""Seeding: same seed, same world; every status and lane in the demo; credentials as API.md says;
classroom isolation through the API; reset; refusal outside sandbox mode."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from core import clock
from declarations.models import Declaration, DeclarationEvent
from maintenance.models import ProvisionalReleaseRule
from manifests.models import Manifest
from sandbox.models import SeedRun
from sandbox.scenarios import sandbox_seed
from sandbox.seeding import world_digest
from traders.models import ClearingAgent, Trader

pytestmark = pytest.mark.django_db


def _seed(scenario: str, seed: int, tmp_path, trainees: int = 0) -> dict:
    out = tmp_path / f"{scenario}-{seed}.json"
    args = ["sandbox", "seed", "--scenario", scenario, "--seed", str(seed), "--credentials-out", str(out),
            "--no-progress"]
    if trainees:
        args += ["--trainees", str(trainees)]
    call_command(*args)
    return json.loads(out.read_text())


def test_same_seed_gives_the_same_world(sandbox, tmp_path):
    # given a demo world and its digest
    first = _seed("demo", 11, tmp_path)
    counts, digest = world_digest()
    # when the sandbox is reset and seeded again with the same seed
    call_command("sandbox", "reset", "--yes")
    assert Declaration.objects.count() == 0
    assert ProvisionalReleaseRule.objects.count() == 0  # wiped with the rest of the operational tables
    second = _seed("demo", 11, tmp_path)
    # and the published provisional release rules are back (copied to intake on commit)
    assert sorted(ProvisionalReleaseRule.objects.values_list("code", flat=True)) == ["aeo-imports",
                                                                                     "perishable-exports"]
    # then the world is the same (natural keys, statuses, lanes, entry numbers, amounts)
    assert world_digest() == (counts, digest)
    assert [r.digest for r in SeedRun.objects.all()] == [digest]  # the reset wiped the first run's row
    # and only the secrets differ
    assert [a["traders"] for a in first["agents"]] == [a["traders"] for a in second["agents"]]
    assert first["agents"][0]["token"] != second["agents"][0]["token"]


def test_another_seed_gives_another_world(sandbox, tmp_path):
    _seed("demo", 1, tmp_path)
    _, one = world_digest()
    call_command("sandbox", "reset", "--yes")
    _seed("demo", 2, tmp_path)
    assert world_digest()[1] != one


def test_demo_covers_every_status_and_lane(sandbox, tmp_path):
    creds = _seed("demo", 42, tmp_path)
    statuses = set(Declaration.objects.values_list("status", flat=True))
    assert statuses >= {"draft", "assessed", "paid", "under_control", "queried", "released", "exited",
                        "cancelled", "rejected"}
    assert set(Declaration.objects.exclude(channel=None).values_list("channel", flat=True)) == {
        "green", "blue", "yellow", "red"}
    assert set(Declaration.objects.values_list("regime", flat=True)) == {"IM4", "EX1", "IM8"}
    assert set(Manifest.objects.values_list("mode", flat=True)) == {"sea", "air"}
    assert Trader.objects.filter(on_watch_list=True).count() == 1
    assert Trader.objects.filter(aeo__status="active").count() == 1
    from maintenance.models import MaintenanceWindow

    window = MaintenanceWindow.objects.get()
    assert window.status == "scheduled"
    assert window.starts_at > clock.now()
    # scoring and clearance ran while seeding: their worker messages are not left pending
    from core.models import OutboxMessage

    assert not OutboxMessage.objects.filter(task_name__startswith="risk.", dispatched_at__isnull=True).exists()
    # every transition was made by a real service: events carry their actors
    officer = get_user_model().objects.get(username="officer1")
    assert DeclarationEvent.objects.filter(actor=officer, to_status="released").exists()
    # credentials file as API.md: agents with token and traders, officers with password and groups
    assert {"username", "token", "traders"} <= set(creds["agents"][0])
    assert {"username", "password", "groups"} <= set(creds["officers"][0])
    groups = {g for o in creds["officers"] for g in o["groups"]}
    assert groups == {"superuser", "officer", "inspector", "supervisor", "risk analyst", "maintenance admin",
                      "transit officer"}
    assert get_user_model().objects.get(username="admin").is_superuser
    assert creds["trainers"][0]["groups"] == ["trainer"]
    user = get_user_model().objects.get(username=creds["officers"][0]["username"])
    assert user.check_password(creds["officers"][0]["password"])
    assert user.is_staff
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {creds['agents'][0]['token']}")
    listed = client.get("/api/v1/declarations")
    assert listed.status_code == 200
    assert listed["Forodha-Sandbox"] == "true"


def test_classroom_trainees_cannot_see_each_other(sandbox, tmp_path, api_client):
    # given a classroom of three trainees
    creds = _seed("classroom", 5, tmp_path, trainees=3)
    assert [a["username"] for a in creds["agents"]] == ["trainee01", "trainee02", "trainee03"]
    assert ClearingAgent.objects.count() == 3
    one, two = creds["agents"][0], creds["agents"][1]
    theirs = Declaration.objects.filter(agent__staff__user__username="trainee02")
    their_declaration = theirs.first()
    assert their_declaration is not None
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {one['token']}")
    # when trainee01 looks around
    listed = api_client.get("/api/v1/declarations")
    by_id = api_client.get(f"/api/v1/declarations/{their_declaration.pk}")
    by_entry = api_client.get(f"/api/v1/status?entry_number={their_declaration.entry_number}")
    trader = api_client.get(f"/api/v1/traders/{two['traders'][0]}")
    own_trader = api_client.get(f"/api/v1/traders/{one['traders'][0]}")
    body = {"regime": "IM4", "cpc": "4000000", "office": "MBA", "importer_pin": two["traders"][0],
            "local_reference": "T01-STEAL", "bill_of_lading": their_declaration.bill_of_lading.number,
            "currency": "KES", "invoice_amount": "1000.00", "incoterm": "CIF", "country_of_export": "CN",
            "items": [{"hs_code": "3926.90.90", "description": "Plastic articles", "origin_country": "CN",
                       "packages": 1, "package_kind": "CT", "gross_weight_kg": "10.000", "net_weight_kg": "9.000"}]}
    lodged = api_client.post("/api/v1/declarations", body, format="json")
    # then they see only their own firm's data
    own = set(Declaration.objects.filter(agent__staff__user__username="trainee01").values_list("pk", flat=True))
    assert {r["id"] for r in listed.json()["results"]} == {str(pk) for pk in own}
    assert by_id.status_code == 404
    assert by_entry.status_code == 404 or by_entry.json().get("results", []) == []
    assert trader.status_code == 404
    assert own_trader.status_code == 200
    their_draft_lodge = api_client.post(f"/api/v1/declarations/{their_declaration.pk}/lodge", {}, format="json")
    feed = api_client.get("/api/v1/notifications")
    their_bl = their_declaration.bill_of_lading
    bl = api_client.get(f"/api/v1/bills-of-lading/{their_bl.number}")
    by_bl = api_client.get(f"/api/v1/status?bl={their_bl.number}")
    history = api_client.get(f"/api/v1/declarations/{their_declaration.pk}/history")
    manifest = api_client.get(f"/api/v1/manifests/{their_bl.manifest_id}")
    assert lodged.status_code == 400
    assert "trader_not_authorised" in {e["code"] for e in lodged.json()["errors"]}
    assert their_draft_lodge.status_code == 404
    assert (bl.status_code, history.status_code, manifest.status_code) == (404, 404, 404)
    assert by_bl.json()["results"] == []
    assert feed.status_code == 200
    assert feed.json()["results"]
    assert {n["payload"].get("entry_number") for n in feed.json()["results"]} <= set(
        Declaration.objects.filter(pk__in=own).values_list("entry_number", flat=True)) | {None}
    assert not Declaration.objects.filter(local_reference="T01-STEAL").exists()


def test_reset_keeps_reference_data_superusers_and_groups(sandbox, tmp_path):
    from django.contrib.auth.models import Group

    from reference.models import CustomsOffice
    from tariff.models import TariffLine

    admin = get_user_model().objects.create_superuser("root", "root@example.test", "pw")
    offices, lines = CustomsOffice.objects.count(), TariffLine.objects.count()
    _seed("demo", 3, tmp_path)
    call_command("sandbox", "clock", "--advance", "2d")
    # when
    call_command("sandbox", "reset", "--yes")
    # then
    # (the demo's own superuser is a superuser too: kept, with a new password at the next seed)
    assert sorted(get_user_model().objects.values_list("username", flat=True)) == ["admin", "root"]
    assert get_user_model().objects.filter(pk=admin.pk).exists()
    assert Group.objects.filter(name="officer").exists()
    assert (CustomsOffice.objects.count(), TariffLine.objects.count()) == (offices, lines)
    assert world_digest()[0] == dict.fromkeys(world_digest()[0], 0)
    assert clock.offset().total_seconds() == 0


def test_outage_drill_world(sandbox, tmp_path):
    _seed("outage-drill", 9, tmp_path)
    assert clock.today().isoformat() == "2024-11-18"
    tea = Declaration.objects.filter(regime="EX1", items__hs_code__startswith="0902")
    assert tea.filter(status="assessed").count() == 2
    assert tea.filter(status__in=["released", "exited"]).count() == 2
    from sandbox.models import Drill

    drill = Drill.objects.get(name="outage")
    assert drill.step == 0
    assert len(drill.state["bodies"]) == 8


def test_seed_refuses_a_sandbox_that_is_not_empty(sandbox, tmp_path):
    _seed("classroom", 1, tmp_path, trainees=1)
    before = world_digest()
    with pytest.raises(CommandError, match="sandbox_not_empty"):
        _seed("demo", 1, tmp_path)
    assert world_digest() == before


def test_seed_refuses_unknown_scenario_and_classroom_without_trainees(sandbox):
    with pytest.raises(CommandError):
        call_command("sandbox", "seed", "--scenario", "nowhere", "--seed", "1")
    with pytest.raises(CommandError, match="--trainees"):
        call_command("sandbox", "seed", "--scenario", "classroom", "--seed", "1")


@pytest.mark.parametrize("args", [
    ["seed", "--scenario", "demo", "--seed", "1"],
    ["reset", "--yes"],
    ["drill", "status"],
    ["drill", "next"],
    ["report"],
    ["clock", "--set", "2024-11-18T08:00:00+03:00"],
])
def test_every_sandbox_command_refuses_outside_sandbox_mode(settings, args):
    settings.FORODHA_SANDBOX = False
    get_user_model().objects.create_user("someone")
    with pytest.raises(CommandError, match="sandbox_mode_required"):
        call_command("sandbox", *args)
    assert get_user_model().objects.filter(username="someone").exists()
    assert Declaration.objects.count() == 0


def test_seed_service_refuses_outside_sandbox_mode(settings):
    from sandbox.exceptions import SandboxModeRequired

    settings.FORODHA_SANDBOX = False
    with pytest.raises(SandboxModeRequired):
        sandbox_seed(scenario="demo", seed=1, show_progress=False)


def test_peak_day_scenario_at_a_small_scale(sandbox, monkeypatch, tmp_path):
    """The peak-day build path (a full run is 2,500 declarations: measured by hand, docs/sandbox.md)."""
    from sandbox import scenarios

    monkeypatch.setattr(scenarios, "PEAK_FIRMS", 3)
    monkeypatch.setattr(scenarios, "PEAK_PER_VESSEL", 8)
    monkeypatch.setattr(scenarios, "PEAK_EXPORTS", 6)
    creds = _seed("mombasa-peak-day", 7, tmp_path)
    assert len(creds["agents"]) == 3
    assert Declaration.objects.count() == 5 * 8 + 6
    assert Manifest.objects.filter(status__in=["discharged", "closed"]).count() == 5
    lodged = Declaration.objects.exclude(lodged_at=None)
    first, last = lodged.order_by("lodged_at").first(), lodged.order_by("lodged_at").last()
    assert first.lodged_at >= scenarios.SCENARIOS["mombasa-peak-day"].epoch
    assert (last.lodged_at - first.lodged_at).total_seconds() > 5 * 3600  # spread over the day (2 batches here)


def test_demo_imports_quote_valid_idfs_and_its_terminals_gate_out(sandbox, tmp_path):
    from clearance.models import GateEvent
    from declarations.models import ImportDeclarationForm

    # given
    creds = _seed("demo", 42, tmp_path)
    # then: every lodged import quotes an IDF of the simulated single window for its importer
    imports = list(Declaration.objects.filter(regime="IM4").exclude(status="draft"))
    assert imports
    idfs = {i.number: i for i in ImportDeclarationForm.objects.all()}
    assert all(d.idf_number in idfs and idfs[d.idf_number].importer_pin == d.importer_pin for d in imports)
    # and the terminals are in the credentials file, with tokens that work on the gate API
    assert [(t["username"], t["terminal"], t["office"]) for t in creds["terminals"]] == [
        ("kpa-ct2", "KPA-CT2", "MBA"), ("jkia-cargo", "JKIA-KQC", "JKA")]
    exited = Declaration.objects.filter(status="exited")
    assert exited.exists()
    assert {(g.kind, g.terminal.code) for g in GateEvent.objects.select_related("terminal")} <= {
        ("gate_out", "KPA-CT2"), ("loaded_on_board", "KPA-CT2")}
    assert GateEvent.objects.count() == exited.count()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {creds['terminals'][0]['token']}")
    replay = api.post("/api/v1/gate-events", {"kind": "gate_out" if exited[0].regime == "IM4" else "loaded_on_board",
                                              "entry_number": exited[0].entry_number}, format="json")
    assert replay.status_code == 200  # already recorded by the seed: idempotent


def test_classroom_lists_idfs_for_the_undeclared_bls(sandbox, tmp_path):
    creds = _seed("classroom", 5, tmp_path, trainees=2)
    assert len(creds["idfs"]) == 2 * 4
    agents = {a["agent"]: a["traders"] for a in creds["agents"]}
    assert all(i["importer_pin"] in agents[i["agent"]] for i in creds["idfs"])


def test_the_demo_scores_with_the_shipped_rules_and_one_of_each_kind(sandbox, tmp_path):
    from risk.loaders import default_rules
    from risk.models import RiskRule

    # when
    _seed("demo", 42, tmp_path)
    # then: the shipped rules as shipped, plus the two the sandbox adds; one random selection
    active = list(RiskRule.objects.filter(active=True).order_by("id").values_list("id", "code", "kind"))
    assert [(i, c) for i, c, _ in active] == [(r.id, r.code) for r in default_rules()] + [
        (9001, "sbx-watch-list"), (9004, "sbx-electronics-origin")]
    kinds = [k for _, _, k in active]
    assert sorted(kinds) == sorted(set(kinds))
    assert kinds.count("random") == 1
    assert not RiskRule.objects.exclude(code__in=[c for _, c, _ in active]).exists()


def test_the_demo_world_does_not_depend_on_the_rules_found_before_seeding(sandbox, tmp_path):
    from decimal import Decimal

    from risk.loaders import load_default_risk_rules
    from risk.models import RiskRule

    # given a demo seeded on a sandbox without rules (the test suite's reference data)
    _seed("demo", 42, tmp_path)
    counts, digest = world_digest()
    random_hits = sorted(Declaration.objects.filter(risk_assessment__hits__contains=[{"kind": "random"}])
                         .values_list("local_reference", flat=True))
    call_command("sandbox", "reset", "--yes")
    # when it is seeded again after `load_reference_data` put the shipped rules in, and an analyst
    # tuned them (random selection at 100 %, first-time trader off)
    load_default_risk_rules()
    RiskRule.objects.filter(code="default-random").update(rate=Decimal("1"), weight=90)
    RiskRule.objects.filter(code="default-first-time-trader").update(active=False)
    _seed("demo", 42, tmp_path)
    # then: the same world, scored by the same rules (one random selection, as shipped)
    assert world_digest() == (counts, digest)
    assert random_hits == ["PWN-000010", "RKFA-000005", "YPWN-000006"]
    assert RiskRule.objects.get(code="default-random").rate == Decimal("0.05000")
    assert RiskRule.objects.get(code="default-first-time-trader").active is True
