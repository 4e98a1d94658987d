"""Manifests' answers to declaration status changes name the declaration statuses in their own enum
(the layers contract keeps declarations.enums out of manifests): it must agree with declarations'."""

from __future__ import annotations

from declarations.enums import Status
from manifests.enums import DeclarationMove


def test_the_declaration_statuses_manifests_answer_are_the_declaration_enum_values() -> None:
    # given / when / then: every member is a value of declarations.enums.Status, spelled the same
    assert {move.name: move.value for move in DeclarationMove} == {
        "RELEASED": Status.RELEASED.value, "CANCELLED": Status.CANCELLED.value, "REJECTED": Status.REJECTED.value}
