"""The declaration page reads like a customs system: tax names, money with thousands separators,
East Africa Time, history as sentences, Yes/No, containers and seals on an inspection, findings
in the history."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from declarations.models import AssessmentLine, DeclarationEvent
from manifests.models import Container
from risk.models import RiskAssessment
from tests.factories.manifests import BillOfLadingFactory
from tests.factories.officers import declaration_in_queue, lodged_under_control, officer_create

pytestmark = pytest.mark.django_db


def page(client, declaration) -> str:  # type: ignore[no-untyped-def]
    response = client.get(reverse("admin:declarations_declaration_change", args=[declaration.pk]))
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, section_id: str) -> str:
    match = re.search(rf'<fieldset class="module" id="{section_id}">(.*?)</fieldset>', html, re.S)
    assert match is not None, section_id
    return match.group(1)


def eat(value) -> str:  # type: ignore[no-untyped-def]
    return timezone.localtime(value).strftime("%d %b %Y %H:%M") + " EAT"


def test_taxes_money_times_and_history_read_as_words(officer_client):
    # given: a declaration through the real lodging, scoring, payment and clearance services
    officer = officer_create("officer")
    declaration, _ = lodged_under_control("yellow")
    lines = list(AssessmentLine.objects.filter(assessment__declaration=declaration).order_by("line_no", "pk"))
    events = list(DeclarationEvent.objects.filter(declaration=declaration).order_by("created_at", "id"))
    score = RiskAssessment.objects.get(declaration=declaration).score
    # when
    html = page(officer_client(officer), declaration)
    # then: every tax line by name, amounts with separators and two decimals
    assessment = section(html, "assessment")
    assert {line.tax for line in lines} >= {"import_duty", "vat", "idf", "rdl"}
    for line in lines:
        name = {"import_duty": "Import duty", "excise_duty": "Excise duty", "vat": "VAT",
                "idf": "Import Declaration Fee", "rdl": "Railway Development Levy"}[line.tax]
        rates = "; ".join(f"1 {fx['currency']} = {fx['kes_per_unit']} KES of {fx['date']}"
                          for fx in line.exchange_rates) or "—"
        assert (f'<td>{name}</td><td class="money">{line.base:,.2f}</td><td>{line.rule}</td>'
                f'<td>{line.legal_basis}</td><td>{rates}</td>'
                f'<td class="money">{line.amount:,.2f}</td>') in assessment
        assert line.legal_basis  # every tax line cites its law (issue 21)
    assert "import_duty" not in assessment
    assert ">rdl<" not in assessment
    total = sum(line.amount for line in lines)
    assert total >= 1000  # so the separator shows
    assert f'<tr class="total"><th>Total (KES)</th><td class="money"><strong>{total:,.2f}</strong></td></tr>' \
        in assessment
    # history: sentences with who/what/why in East Africa Time, no raw payloads or UTC
    timeline = section(html, "timeline")
    assert timeline.count('<li class="event') == len(events)
    when = eat(events[0].created_at)
    assert when == "25 Nov 2026 10:00 EAT"
    agent_user = events[0].actor_label
    assert [event.kind for event in events] == ["transition", "transition", "channel", "transition", "transition"]
    assert re.findall(r'<span class="what">(.*?)</span>(?:\. <span class="reason">(.*?)</span>)?', timeline) == [
        (f"{agent_user} lodged the declaration; it was registered", ""),
        (f"{agent_user} assessed the taxes: KES {total:,.2f} to pay", ""),
        (f"Risk engine assigned the yellow lane (score {score})", ""),
        (f"{agent_user} recorded the payment", "Reason: “paid via mpesa”"),
        ("System put the declaration under control for a documentary check", ""),
    ]
    assert eat(events[-1].created_at).startswith("25 Nov 2026 10:")
    for raw in ("{'", "&#x27;", "+00:00", "UTC", "→", "assessed -&gt; assessed"):
        assert raw not in timeline, raw
    # header: lodging time in EAT, money with separators, late entry as plain words
    assert f'<div class="readonly">{eat(declaration.lodged_at)}</div>' in html
    assert f'<div class="readonly">{declaration.invoice_amount:,.2f}</div>' in html
    assert re.search(r'<label class="inline">Late entry:</label>\s*<div class="readonly">No</div>', html)
    assert "icon-no.svg" not in html


def test_inspection_shows_containers_and_seals_and_findings_become_history(officer_client):
    # given
    inspector = officer_create("inspector")
    bl = BillOfLadingFactory()
    Container.objects.create(bill_of_lading=bl, number="MSCU1234565", size_type="42G1",
                             seals=["KRA0012345", "SL778899"])
    Container.objects.create(bill_of_lading=bl, number="TGHU7654321", size_type="22G1", seals=[])
    declaration = declaration_in_queue("red", bill_of_lading=bl)
    client = officer_client(inspector)
    # when
    before = page(client, declaration)
    response = client.post(reverse("admin:declarations_declaration_decide", args=[declaration.pk, "findings"]),
                           {"findings": "Seal SL778899 broken; 12 cartons undeclared phones", "compliant": "no",
                            "confirm": "1"})
    after = page(client, declaration)
    # then
    assert response.status_code == 302
    task_section = section(before, "task")
    assert ('<tr class="container"><td>MSCU1234565</td><td>42G1</td><td>KRA0012345, SL778899</td></tr>'
            in task_section)
    assert '<tr class="container"><td>TGHU7654321</td><td>22G1</td><td>none recorded</td></tr>' in task_section
    event = DeclarationEvent.objects.filter(declaration=declaration).latest("created_at", "id")
    assert (event.kind, event.actor, event.reason, event.payload["compliant"], event.from_status,
            event.to_status) == ("findings", inspector, "Seal SL778899 broken; 12 cartons undeclared phones",
                                 False, "under_control", "under_control")
    assert (f'<span class="what">{inspector.username} recorded the inspection findings: not compliant</span>. '
            '<span class="reason">Findings: “Seal SL778899 broken; 12 cartons undeclared phones”</span>'
            in section(after, "timeline"))
    assert "<strong>Findings (not compliant):</strong>" in section(after, "task")


def test_the_alteration_fee_line_shows_its_basis_to_the_officer(officer_client):
    # given: an assessed declaration whose agent altered one non-tax field (fee line added)
    from rest_framework.test import APIClient

    from declarations.models import Declaration
    from declarations.services import declaration_lodge
    from tests.factories.declarations import body_im4, world_create

    world = world_create()
    declaration = declaration_lodge(agent=world.agent, user=world.user, payload=body_im4(world, currency="KES"),
                                    actor=world.user)
    agent = APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Token {world.token}")
    url = f"/api/v1/declarations/{declaration.pk}"
    altered = agent.patch(url, {"local_reference": "AGT-FEE"}, format="json", HTTP_IF_MATCH=agent.get(url)["ETag"])
    assert altered.status_code == 200, altered.json()
    fee = AssessmentLine.objects.get(assessment__declaration=declaration, tax="alteration_fee",
                                     assessment__version=2)
    # when
    html = page(officer_client(officer_create("officer")), Declaration.objects.get(pk=declaration.pk))
    # then: the fee line by name, with its basis stated (no section it cannot show)
    assert (f'<td>Alteration fee</td><td class="money">0.00</td><td>USD 5 x 1 field(s)</td>'
            f'<td>KRA iCMS alteration charge: USD 5 per field changed on a registered entry (administrative '
            f'charge; no statutory section confirmed)</td><td>—</td><td class="money">{fee.amount:,.2f}</td>'
            ) in section(html, "assessment")
