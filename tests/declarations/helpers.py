from __future__ import annotations

from core.models import OutboxMessage
from declarations.models import (
    Assessment,
    Declaration,
    DeclarationEvent,
    DeclarationItem,
    EntryNumberCounter,
    ESlip,
    Payment,
)
from manifests.models import WriteOff
from notifications.models import Notification


def row_counts() -> dict[str, int]:
    """Rows a failed lodging must not leave behind."""
    return {
        model.__name__: model.objects.count()
        for model in (Declaration, DeclarationItem, DeclarationEvent, Assessment, ESlip, Payment, OutboxMessage,
                      Notification, WriteOff)
    } | {"serials": sum(EntryNumberCounter.objects.values_list("last_serial", flat=True))}


def problems(response: object) -> list[tuple[str, str]]:
    body = response.json()  # type: ignore[attr-defined]
    return sorted((e["code"], e["pointer"]) for e in body["errors"])
