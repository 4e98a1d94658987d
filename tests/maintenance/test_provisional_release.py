"""Provisional release during contingency (issue 20): qualifying goods buffered while the primary
is away get a signed release a terminal verifies online (endpoint, command) and offline (saved
keys); the decision, the check and the printable page use the intake store alone (every primary
query is refused while they run); after recovery a difference opens a reconciliation case."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import OperationalError, connections
from rest_framework.test import APIClient

from clearance.models import ProvisionalReleaseCase, ProvisionalReleaseCaseEvent
from clearance.services.reconciliation import provisional_release_case_close, provisional_releases_reconcile
from declarations.models import Declaration
from intake import keys
from intake.models import ProvisionalRelease, ReleaseRuleSnapshot, TraderStatusCopy
from intake.provisional import TOKEN_TYPE, _b64url, _b64url_decode, _json, token_verify
from maintenance import services
from maintenance.models import ProvisionalReleaseRule, ProvisionalReleaseRuleEvent
from maintenance.provisional import release_rule_save, release_snapshot_refresh
from risk.services.assessment import risk_assessment_create
from tariff.models import DutyRate, RateKind, TariffLine
from tests.factories.declarations import body_im4, item, world_create
from tests.factories.officers import officer_create
from tests.factories.risk import RiskRuleFactory
from traders.services import aeo_profile_grant

pytestmark = pytest.mark.django_db


class Primary:
    def __init__(self) -> None:
        self.up = True

    def __call__(self) -> bool:
        return self.up


@pytest.fixture
def primary(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Primary:
    settings.INTAKE_BREAKER_FAILURES = 3
    settings.INTAKE_BREAKER_OPEN_SECONDS = 60
    fake = Primary()
    monkeypatch.setattr("maintenance.middleware.primary_reachable", fake)
    return fake


@pytest.fixture
def world(django_capture_on_commit_callbacks: Any) -> Any:
    with django_capture_on_commit_callbacks(execute=True):
        made = world_create()
    release_snapshot_refresh()
    return made


@contextmanager
def primary_refused() -> Iterator[list[str]]:
    """Every query on the primary fails as if its server were gone; yields what was attempted."""
    attempted: list[str] = []

    def refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        attempted.append(sql)
        raise OperationalError("connection to server at 127.0.0.1 failed (test: primary gone)")

    with connections["default"].execute_wrapper(refuse):
        yield attempted


def _api(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def tea_export(world: Any, *, hs_code: str = "0902.40.10", extra_items: list[dict[str, Any]] | None = None,
               **overrides: Any) -> dict[str, Any]:
    body = body_im4(world, items=1, regime="EX1", cpc="1000100", currency="KES")
    for name in ("importer_pin", "bill_of_lading", "country_of_export"):
        del body[name]
    body.update(exporter_pin=world.trader.pin, country_of_destination="GB", **overrides)
    body["items"] = [item(0, hs_code=hs_code, description="Black tea CTC BP1, 60 kg paper sacks",
                          origin_country="KE", packages=320, customs_value="4200000.00"),
                     *(extra_items or [])]
    return body


def _tea_tariff_line() -> None:
    line = TariffLine.objects.create(code="09024010", description="Black tea, fermented", unit="kg",
                                     valid_from=dt.date(2022, 7, 1))
    DutyRate.objects.create(tariff_line=line, kind=RateKind.AD_VALOREM, ad_valorem_rate=Decimal(25),
                            valid_from=dt.date(2022, 7, 1), rate_text="25%")


def _keys_file(tmp_path: Any) -> str:
    path = tmp_path / "receipt-keys.json"
    path.write_text(json.dumps(APIClient().get("/api/v1/system/receipt-keys").json()), encoding="utf-8")
    return str(path)


def _command(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("release", *args, stdout=out)
    return json.loads(out.getvalue())


def _retoken(token: str, *, claims: dict[str, Any] | None = None, key: Ed25519PrivateKey | None = None,
             kid: str | None = None) -> str:
    """Re-sign (or only re-encode) a token: tampering as a forger would."""
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(_b64url_decode(header_b64))
    if kid is not None:
        header["kid"] = kid
    new_claims = claims if claims is not None else json.loads(_b64url_decode(claims_b64))
    signing_input = f"{_b64url(_json(header))}.{_b64url(_json(new_claims))}"
    signature = key.sign(signing_input.encode()) if key is not None else _b64url_decode(signature_b64)
    return f"{signing_input}.{_b64url(signature)}"


# --- issued with the receipt, verified with the primary away -----------------------------------------

def test_tea_export_buffered_with_the_primary_away_gets_a_release_verified_online_and_offline(
        clock: Any, primary: Primary, world: Any, tmp_path: Any) -> None:
    # given the primary unreachable, and the terminal's saved copy of the published keys
    keys_path = _keys_file(tmp_path)
    primary.up = False
    api = _api(world.token)
    with primary_refused() as attempted:
        # when the exporter's agent lodges 320 sacks of tea
        response = api.post("/api/v1/declarations", tea_export(world), format="json")
        # then 202 with the receipt and a provisional release
        assert response.status_code == 202, response.content
        body = response.json()
        release = body["provisional_release"]
        assert release is not None
        claims = release["claims"]
        assert (claims["sub"], claims["pin"], claims["regime"], claims["office"], claims["rule"]) == (
            body["receipt"]["submission_id"], world.trader.pin, "EX1", "MBA", "perishable-exports")
        assert claims["goods"] == {"hs": ["0902.40.10"], "packages": 320, "items": 1,
                                   "description": "Black tea CTC BP1, 60 kg paper sacks"}
        assert claims["exp"] - claims["iat"] == 72 * 3600
        assert claims["iat"] == int(clock().timestamp())
        header = json.loads(_b64url_decode(release["token"].split(".")[0]))
        assert header == {"alg": "EdDSA", "kid": body["receipt"]["key_id"], "typ": TOKEN_TYPE}
        assert release["print_url"] == f"/api/v1/provisional-releases/print?token={release['token']}"
        # and the terminal's online check answers from intake
        check = APIClient().get("/api/v1/provisional-releases/verify", {"token": release["token"]})
        assert check.status_code == 200
        answer = check.json()
        assert (answer["valid"], answer["submission_state"], answer["key_id"]) == (
            True, "buffered", header["kid"])
        assert answer["release"]["trader_pin"] == world.trader.pin
        assert answer["release"]["goods"]["hs"] == ["0902.40.10"]
        # and the command (online, from intake; offline, from the saved keys alone)
        assert _command("verify", release["token"])["valid"] is True
        offline = _command("verify", release["token"], "--keys", keys_path)
        assert (offline["valid"], offline["offline"], offline["claims"]["jti"]) == (
            True, True, release["release_id"])
        # and the printable page carries the QR code of the token
        page = APIClient().get("/api/v1/provisional-releases/print", {"token": release["token"]})
        assert page.status_code == 200
        assert page["Content-Type"] == "text/html; charset=utf-8"
        html = page.content.decode()
        assert "<svg" in html
        assert release["release_id"] in html
        assert world.trader.pin in html
    # every step above succeeded while every query on the primary failed (some were tried: the
    # maintenance snapshot reload, which keeps its previous view)
    assert all("intake_" not in sql for sql in attempted)
    stored = ProvisionalRelease.objects.get()
    assert (str(stored.id), str(stored.submission_id), stored.token, stored.agent_username) == (
        release["release_id"], body["receipt"]["submission_id"], release["token"], world.staff.user.username)
    # and a retry with the same receipt look-up shows the same release
    lookup = api.get(f"/api/v1/receipts/{body['receipt']['submission_id']}")
    assert lookup.status_code == 200


def test_watch_listed_trader_gets_no_release(clock: Any, primary: Primary, world: Any) -> None:
    # given the exporter on the watch-list (copied to intake by the refresh)
    world.trader.on_watch_list = True
    world.trader.watch_reason = "Undervaluation of tea 2025"
    world.trader.save()
    release_snapshot_refresh()
    assert TraderStatusCopy.objects.get(pk=world.trader.pin).on_watch_list is True
    primary.up = False
    # when
    with primary_refused():
        response = _api(world.token).post("/api/v1/declarations", tea_export(world), format="json")
    # then a receipt, no release
    assert response.status_code == 202
    assert response.json()["provisional_release"] is None
    assert ProvisionalRelease.objects.count() == 0


@pytest.mark.parametrize("case", ["vehicle import, not AEO", "tea with a carton of electronics", "tea import",
                                  "draft"])
def test_goods_outside_the_rules_get_no_release(clock: Any, primary: Primary, world: Any, case: str) -> None:
    body = {
        "vehicle import, not AEO": body_im4(world),
        "tea with a carton of electronics": tea_export(world, extra_items=[item(3)]),
        "tea import": body_im4(world, items=1) | {"items": [item(0, hs_code="0902.40.10")]},
        "draft": tea_export(world, draft=True),
    }[case]
    primary.up = False
    with primary_refused():
        response = _api(world.token).post("/api/v1/declarations", body, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["provisional_release"] is None
    assert ProvisionalRelease.objects.count() == 0


def test_aeo_import_qualifies_with_its_bill_of_lading(clock: Any, primary: Primary, world: Any) -> None:
    # given the importer holds an active AEO profile
    aeo_profile_grant(trader=world.trader, valid_from=dt.date(2024, 1, 1), reason="AEO national")
    release_snapshot_refresh()
    body = body_im4(world)
    primary.up = False
    # when
    with primary_refused():
        response = _api(world.token).post("/api/v1/declarations", body, format="json")
    # then
    claims = response.json()["provisional_release"]["claims"]
    assert (claims["rule"], claims["pin"], claims["bl"], claims["regime"]) == (
        "aeo-imports", world.trader.pin, [world.bl.number], "IM4")


def test_no_snapshot_means_no_release(clock: Any, primary: Primary, world: Any) -> None:
    # given intake never received the rules (fails closed)
    ReleaseRuleSnapshot.objects.all().delete()
    primary.up = False
    response = _api(world.token).post("/api/v1/declarations", tea_export(world), format="json")
    assert response.status_code == 202
    assert response.json()["provisional_release"] is None


# --- tampered, wrong key, expired, unknown; bad input ------------------------------------------------

def _issued(primary: Primary, world: Any) -> dict[str, Any]:
    primary.up = False
    return _api(world.token).post("/api/v1/declarations", tea_export(world), format="json").json()[
        "provisional_release"]


def _verify(token: str) -> dict[str, Any]:
    response = APIClient().get("/api/v1/provisional-releases/verify", {"token": token})
    assert response.status_code == 200, response.content
    return response.json()


def test_tampered_wrong_key_expired_and_unknown_tokens_are_not_valid(clock: Any, primary: Primary, world: Any,
                                                                     tmp_path: Any) -> None:
    release = _issued(primary, world)
    token = release["token"]
    keys_path = _keys_file(tmp_path)
    # tampered: 32 sacks more, signature kept
    claims = json.loads(_b64url_decode(token.split(".")[1]))
    claims["goods"]["packages"] = 352
    tampered = _retoken(token, claims=claims)
    answer = _verify(tampered)
    assert (answer["valid"], answer["reason"]) == (False, "bad_signature")
    assert "release" not in answer
    # signed by a key Forodha never published, under a made-up key id and under the real one
    forged_key = Ed25519PrivateKey.generate()
    assert _verify(_retoken(token, claims=claims, key=forged_key, kid="ed25519:ffffffffffffffff"))["reason"] \
        == "unknown_key"
    assert _verify(_retoken(token, claims=claims, key=forged_key))["reason"] == "bad_signature"
    # a valid signature of a release Forodha has no record of
    ProvisionalRelease.objects.all().delete()
    assert _verify(token)["reason"] == "unknown_release"
    # expired: 72 hours later, online and offline
    clock.advance(hours=72)
    expired = _verify(token)
    assert (expired["valid"], expired["reason"]) == (False, "expired")
    assert expired["release"]["trader_pin"] == world.trader.pin
    with pytest.raises(CommandError, match="not valid: expired"):
        _command("verify", token, "--keys", keys_path)
    # and a release that expired cannot be printed
    page = APIClient().get("/api/v1/provisional-releases/print", {"token": token})
    assert (page.status_code, page.json()["code"]) == (422, "invalid_provisional_release")


@pytest.mark.parametrize(("query", "code", "pointer"), [
    ({}, "required", "/query/token"),
    ({"token": "   "}, "required", "/query/token"),
    ({"token": "a.b.c<script>"}, "invalid", "/query/token"),
    ({"token": "a." * 3000}, "too_long", "/query/token"),
    ({"token": "a.b.c", "kid": "x"}, "unknown_field", "/query/kid"),
])
def test_bad_input_is_a_400_problem(query: dict[str, str], code: str, pointer: str) -> None:
    response = APIClient().get("/api/v1/provisional-releases/verify", query)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert [(e["code"], e["pointer"]) for e in problem["errors"]] == [(code, pointer)]


def test_garbled_token_of_the_right_shape_is_malformed_not_an_error() -> None:
    assert _verify("e30.e30.AAAA") | {"detail": ""} == {"valid": False, "reason": "malformed", "detail": ""}
    assert _verify("x.y.z")["reason"] == "malformed"


def test_a_rotation_keeps_issued_releases_verifiable(clock: Any, primary: Primary, world: Any) -> None:
    release = _issued(primary, world)
    keys.key_rotate()
    assert _verify(release["token"])["valid"] is True
    raw = serialization.Encoding.Raw
    assert token_verify(release["token"], now=clock(), public_keys={
        "other": keys.signing_key().public_key.public_bytes(raw, serialization.PublicFormat.Raw)}).reason \
        == "unknown_key"


# --- the rules: officers change them, with history, and intake follows ---------------------------------

def test_default_rules_are_seeded_with_their_creation_event() -> None:
    rules = {r.code: r for r in ProvisionalReleaseRule.objects.all()}
    assert set(rules) == {"perishable-exports", "aeo-imports"}
    tea = rules["perishable-exports"]
    assert (tea.flow, tea.hs_prefixes, tea.requires_aeo, tea.validity_hours, tea.active) == (
        "export", ["06", "07", "08", "09"], False, 72, True)
    aeo = rules["aeo-imports"]
    assert (aeo.flow, aeo.hs_prefixes, aeo.requires_aeo) == ("import", [], True)
    assert sorted(ProvisionalReleaseRuleEvent.objects.values_list("kind", flat=True)) == ["created", "created"]


def test_a_rule_change_is_an_event_with_its_actor_and_reaches_intake_on_commit(
        clock: Any, primary: Primary, world: Any, django_capture_on_commit_callbacks: Any) -> None:
    officer = officer_create("maintenance admin")
    rule = ProvisionalReleaseRule.objects.get(code="perishable-exports")
    # when the officer narrows the rule to tea and cut flowers, 48 h
    with django_capture_on_commit_callbacks(execute=True):
        release_rule_save(rule=rule, data={"hs_prefixes": "0902 0603", "validity_hours": 48}, actor=officer,
                          reason="Only tea and flowers this season")
    # then the change is recorded with who, why, before and after
    event = ProvisionalReleaseRuleEvent.objects.filter(rule=rule).latest("pk")
    assert (event.kind, event.actor, event.reason) == ("changed", officer, "Only tea and flowers this season")
    assert (event.before["hs_prefixes"], event.after["hs_prefixes"], event.after["validity_hours"]) == (
        ["06", "07", "08", "09"], ["0902", "0603"], 48)
    # and intake decides with the new rule: coffee no longer qualifies, tea gets 48 h
    snapshot = ReleaseRuleSnapshot.objects.get()
    assert snapshot.rules[0]["hs_prefixes"] == ["0902", "0603"]
    primary.up = False
    api = _api(world.token)
    coffee = api.post("/api/v1/declarations", tea_export(world, hs_code="0901.11.00"), format="json").json()
    tea = api.post("/api/v1/declarations", tea_export(world), format="json").json()
    assert coffee["provisional_release"] is None
    assert tea["provisional_release"]["claims"]["exp"] - tea["provisional_release"]["claims"]["iat"] == 48 * 3600
    # and the published rules say so (from intake)
    published = APIClient().get("/api/v1/provisional-releases/rules").json()
    assert [r["code"] for r in published["rules"]] == ["perishable-exports", "aeo-imports"]
    assert published["digest"] == snapshot.digest


@pytest.mark.parametrize(("data", "pointer", "code"), [
    ({"hs_prefixes": ["9"]}, "/hs_prefixes/0", "invalid_hs_prefix"),
    ({"hs_prefixes": ["09x"]}, "/hs_prefixes/0", "invalid_hs_prefix"),
    ({"validity_hours": 0}, "/validity_hours", "out_of_range"),
    ({"flow": "sideways"}, "/flow", "invalid_choice"),
    ({"code": "aeo-imports"}, "/code", "unique"),
])
def test_invalid_rule_changes_are_refused_and_nothing_is_saved(data: dict[str, Any], pointer: str,
                                                                code: str) -> None:
    from core.exceptions import ValidationFailed

    rule = ProvisionalReleaseRule.objects.get(code="perishable-exports")
    before = ProvisionalReleaseRuleEvent.objects.count()
    with pytest.raises(ValidationFailed) as raised:
        release_rule_save(rule=rule, data=data, actor=None)
    assert [(e.pointer, e.code) for e in raised.value.errors] == [(pointer, code)]
    rule.refresh_from_db()
    assert rule.hs_prefixes == ["06", "07", "08", "09"]
    assert rule.code == "perishable-exports"
    assert ProvisionalReleaseRuleEvent.objects.count() == before


def test_officer_edits_a_rule_in_the_admin(client: Any, django_capture_on_commit_callbacks: Any) -> None:
    officer = officer_create("maintenance admin")
    client.force_login(officer)
    rule = ProvisionalReleaseRule.objects.get(code="perishable-exports")
    url = f"/admin/maintenance/provisionalreleaserule/{rule.pk}/change/"
    assert client.get(url).status_code == 200
    form = {"code": rule.code, "name": rule.name, "description": rule.description, "flow": "export",
            "hs_prefixes_text": "06 0902", "validity_hours": "24", "active": "on", "position": "10",
            "change_reason": "Flowers and tea only"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert (rule.hs_prefixes, rule.validity_hours, rule.updated_by) == (["06", "0902"], 24, officer)
    assert ProvisionalReleaseRuleEvent.objects.filter(rule=rule, actor=officer).count() == 1
    assert ReleaseRuleSnapshot.objects.get().rules[0]["hs_prefixes"] == ["06", "0902"]
    # a bad prefix shows as a form error, nothing saved
    bad = client.post(url, {**form, "hs_prefixes_text": "7"})
    assert bad.status_code == 200
    assert "An HS prefix has at least 2 digits" in bad.content.decode()
    assert ProvisionalReleaseRuleEvent.objects.filter(rule=rule, actor=officer).count() == 1


# --- reconciliation after recovery ----------------------------------------------------------------------

def _recover_and_replay(primary: Primary, clock: Any) -> None:
    clock.advance(hours=3)
    primary.up = True
    report = services.replay_buffered(actor=None)
    assert report.remaining == 0


def test_red_lane_after_recovery_opens_a_case_in_the_officers_queue(clock: Any, primary: Primary, world: Any,
                                                                    notices: Any) -> None:
    # given a tea export released provisionally during the outage
    _tea_tariff_line()
    release = _issued(primary, world)
    # when service returns: replayed, lodged, and scored red (in the replay's chunk) by a rule on tea
    RiskRuleFactory(kind="hs_match", hs_prefixes="0902", forced_lane="red", weight=10)
    _recover_and_replay(primary, clock)
    declaration = Declaration.objects.get()
    assert declaration.channel == "red"
    report = provisional_releases_reconcile()
    # then one case with the difference, an event, the release marked
    assert (report.cases_opened, report.clean, report.waiting) == (1, 0, 0)
    case = ProvisionalReleaseCase.objects.get()
    assert (str(case.release_id), case.declaration, case.entry_number, case.trader_pin, case.status) == (
        release["release_id"], declaration, declaration.entry_number, world.trader.pin, "open")
    assert [d["code"] for d in case.differences] == ["lane_red"]
    assert "scored red (physical examination)" in case.summary
    assert declaration.entry_number in case.summary
    assert list(case.events.values_list("from_status", "to_status", "actor")) == [("", "open", None)]
    stored = ProvisionalRelease.objects.get()
    assert (stored.reconciliation, stored.reconciled_at) == ("case", clock())
    # and a second run opens nothing more
    assert provisional_releases_reconcile().examined == 0
    assert ProvisionalReleaseCase.objects.count() == 1
    # and the officers see it: queue and dashboard count
    supervisor = officer_create("supervisor")
    browser = APIClient()
    browser.force_login(supervisor)
    queue = browser.get("/admin/clearance/provisionalreleasecase/")
    assert queue.status_code == 200
    assert declaration.entry_number in queue.content.decode()
    dashboard = browser.get("/admin/dashboard/").content.decode()
    assert "Provisional releases to reconcile</a>: <strong>1</strong>" in dashboard
    # when the officer closes it with the outcome, then an event with the officer
    provisional_release_case_close(case_id=case.pk, outcome="Post-clearance examination at the buyer: agreed",
                                   actor=supervisor)
    assert list(ProvisionalReleaseCaseEvent.objects.filter(case=case).values_list("to_status", "actor")) == [
        ("open", None), ("closed", supervisor.pk)]


def test_a_release_waits_for_the_selectivity_when_the_replay_leaves_scoring_to_the_queue(
        clock: Any, primary: Primary, world: Any, notices: Any, settings: Any) -> None:
    # given a tea export released provisionally, replayed with scoring handed to the queue
    settings.CONTINGENCY_REPLAY_SCORE_INLINE = False
    _tea_tariff_line()
    _issued(primary, world)
    RiskRuleFactory(kind="hs_match", hs_prefixes="0902", forced_lane="red", weight=10)
    _recover_and_replay(primary, clock)
    declaration = Declaration.objects.get()
    # then nothing is decided before the score, and the case opens once the queue scores it red
    assert declaration.channel is None
    assert provisional_releases_reconcile().waiting == 1
    assert ProvisionalReleaseCase.objects.count() == 0
    assert risk_assessment_create(declaration_id=declaration.pk).assessment.lane == "red"
    assert provisional_releases_reconcile().cases_opened == 1
    assert [d["code"] for d in ProvisionalReleaseCase.objects.get().differences] == ["lane_red"]


def test_rejection_at_replay_opens_a_case_with_the_errors(clock: Any, primary: Primary, world: Any,
                                                          notices: Any) -> None:
    # given a tea export whose HS code the tariff does not know (rejected when replayed)
    release = _issued(primary, world)
    _recover_and_replay(primary, clock)
    assert Declaration.objects.count() == 0
    # when
    report = provisional_releases_reconcile()
    # then
    assert report.cases_opened == 1
    case = ProvisionalReleaseCase.objects.get()
    assert (str(case.release_id), case.declaration, case.entry_number) == (release["release_id"], None, "")
    assert [d["code"] for d in case.differences] == ["rejected_at_replay"]
    assert "/items/0" in case.differences[0]["detail"]


def test_green_lane_with_nothing_to_pay_reconciles_clean_without_a_case(clock: Any, primary: Primary, world: Any,
                                                                       notices: Any) -> None:
    _tea_tariff_line()
    _issued(primary, world)
    _recover_and_replay(primary, clock)
    declaration = Declaration.objects.get()
    assert risk_assessment_create(declaration_id=declaration.pk).created is False  # scored by the replay
    assert declaration.channel == "green"
    # when
    report = provisional_releases_reconcile()
    # then
    assert (report.clean, report.cases_opened) == (1, 0)
    assert ProvisionalReleaseCase.objects.count() == 0
    assert ProvisionalRelease.objects.get().reconciliation == "clean"


def test_green_aeo_import_unpaid_after_its_due_date_opens_a_case(clock: Any, primary: Primary, world: Any,
                                                                 notices: Any) -> None:
    # given an AEO import released provisionally, lodged and scored green after recovery, not paid
    aeo_profile_grant(trader=world.trader, valid_from=dt.date(2024, 1, 1), reason="AEO national")
    release_snapshot_refresh()
    _issued_import = _api(world.token)
    primary.up = False
    assert _issued_import.post("/api/v1/declarations", body_im4(world), format="json").json()[
        "provisional_release"] is not None
    _recover_and_replay(primary, clock)
    declaration = Declaration.objects.get()
    risk_assessment_create(declaration_id=declaration.pk)
    declaration.refresh_from_db()
    assert declaration.channel in ("green", "blue")
    # when the due date has not passed: nothing yet
    assert provisional_releases_reconcile().waiting == 1
    # when it has passed unpaid
    clock.set(dt.datetime.combine(declaration.payment_due_date + dt.timedelta(days=1), dt.time(9),
                                  tzinfo=dt.UTC))
    assert provisional_releases_reconcile().cases_opened == 1
    case = ProvisionalReleaseCase.objects.get()
    assert [d["code"] for d in case.differences] == ["duty_unpaid"]
    assert declaration.payment_due_date.isoformat() in case.differences[0]["detail"]


# --- the other ways in: declared outage, retries; the periodic copy; interrupted reconciliation -------

def test_a_declared_outage_with_the_primary_up_issues_releases_too(clock: Any, world: Any, notices: Any) -> None:
    # given an operator-declared outage (the primary answers)
    services.outage_start(reason="iCMS core database failure", actor=None)
    # when
    response = _api(world.token).post("/api/v1/declarations", tea_export(world), format="json")
    # then
    assert response.status_code == 202
    body = response.json()
    assert body["contingency"]["source"] == "outage"
    assert body["provisional_release"]["claims"]["sub"] == body["receipt"]["submission_id"]
    assert _verify(body["provisional_release"]["token"])["valid"] is True


def test_a_retry_with_the_same_idempotency_key_answers_the_same_release(clock: Any, primary: Primary,
                                                                        world: Any) -> None:
    primary.up = False
    api = _api(world.token)
    body = tea_export(world)
    first = api.post("/api/v1/declarations", body, format="json", HTTP_IDEMPOTENCY_KEY="tea-1").json()
    again = api.post("/api/v1/declarations", body, format="json", HTTP_IDEMPOTENCY_KEY="tea-1")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["provisional_release"]["release_id"] == first["provisional_release"]["release_id"]
    assert ProvisionalRelease.objects.count() == 1


def test_the_beat_task_copies_a_new_aeo_and_a_watch_listing_to_intake(world: Any) -> None:
    from maintenance.tasks import refresh_release_snapshot_task
    from tests.factories.traders import TraderFactory

    # given an AEO granted and another trader watch-listed since the last copy
    aeo_profile_grant(trader=world.trader, valid_from=dt.date(2024, 1, 1), valid_to=dt.date(2027, 6, 30),
                      reason="AEO national")
    watched = TraderFactory(on_watch_list=True, watch_reason="Misdeclared origin")
    # when the beat task runs
    result = refresh_release_snapshot_task()
    # then intake knows both (and only them)
    assert result["rules"] == 2
    assert result["traders"] == 2
    copies = {c.pin: c for c in TraderStatusCopy.objects.all()}
    assert set(copies) == {world.trader.pin, watched.pin}
    mine = copies[world.trader.pin]
    assert (mine.aeo_active, mine.aeo_valid_from, mine.aeo_valid_to, mine.on_watch_list) == (
        True, dt.date(2024, 1, 1), dt.date(2027, 6, 30), False)
    assert (copies[watched.pin].aeo_active, copies[watched.pin].on_watch_list) == (False, True)
    # when the watch-listing is lifted, then the next copy drops the trader
    watched.on_watch_list = False
    watched.save()
    refresh_release_snapshot_task()
    assert set(TraderStatusCopy.objects.values_list("pin", flat=True)) == {world.trader.pin}


def test_a_reconciliation_interrupted_after_the_primary_commit_opens_no_second_case(
        clock: Any, primary: Primary, world: Any, notices: Any) -> None:
    # given a rejected submission whose case was opened, but the intake row never marked
    _issued(primary, world)
    _recover_and_replay(primary, clock)
    assert provisional_releases_reconcile().cases_opened == 1
    ProvisionalRelease.objects.update(reconciled_at=None, reconciliation="")
    # when the task runs again
    from clearance.tasks import reconcile_provisional_releases_task

    result = reconcile_provisional_releases_task()
    # then the case is found, not opened twice, and the release is marked
    assert (result["examined"], result["cases_opened"]) == (1, 0)
    assert ProvisionalReleaseCase.objects.count() == 1
    assert ProvisionalRelease.objects.get().reconciliation == "case"
