"""Manifests' answers to declaration status changes name the declaration statuses themselves (the
layers contract keeps declarations.enums out of manifests): they must agree with the enum."""

from __future__ import annotations

from declarations.enums import Status
from manifests.subscribers import DECLARATION_CANCELLED, DECLARATION_REJECTED, DECLARATION_RELEASED


def test_the_declaration_statuses_manifests_answer_are_the_declaration_enum_values() -> None:
    # given / when / then: the same values as declarations.enums.Status
    assert DECLARATION_RELEASED == Status.RELEASED
    assert DECLARATION_CANCELLED == Status.CANCELLED
    assert DECLARATION_REJECTED == Status.REJECTED
