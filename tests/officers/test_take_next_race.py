""""Take next" with real threads against PostgreSQL: officers pressing it at the same moment
never get the same task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from clearance.models import OfficerTask
from tests.factories.officers import declaration_in_queue, officer_create
from tests.reliability.test_concurrency import race

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def test_four_officers_two_tasks_each_task_taken_once(postgres: None) -> None:
    # given: two open documentary checks, four officers of the office
    declarations = [declaration_in_queue("yellow"), declaration_in_queue("yellow")]
    officers = [officer_create("officer") for _ in range(4)]
    url = reverse("admin:officers_take_next", args=["documentary_check"])

    def press(officer: Any) -> Callable[[], Any]:
        def post() -> Any:
            client = Client()
            client.force_login(officer)
            return client.post(url)
        return post

    # when
    responses = race([press(o) for o in officers])
    # then: two officers land on two different declarations, two are told nothing is waiting
    landed = sorted(r.url for r in responses if r.url != reverse("admin:index"))
    assert landed == sorted(reverse("admin:declarations_declaration_change", args=[d.pk]) for d in declarations)
    assert [r.status_code for r in responses] == [302, 302, 302, 302]
    tasks = list(OfficerTask.objects.filter(declaration__in=declarations))
    assert {t.status for t in tasks} == {"assigned"}
    assert len({t.assigned_to_id for t in tasks}) == 2
