"""Reads of declarations. Every read is scoped to the agent: another agent's declaration is
"not found" (API.md), never "forbidden"."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Prefetch, QuerySet
from rest_framework.authtoken.models import Token

from core.exceptions import NotFound, ValidationFailed, error
from traders.models import AgentStaff

from .enums import AmendmentStatus
from .models import (
    AmendmentRequest,
    Assessment,
    Declaration,
    DeclarationDocument,
    DeclarationEvent,
    DeclarationVersion,
    ESlip,
)
from .services.snapshots import body_diff

User = get_user_model()


def declaration_get(*, agent: Any, declaration_id: uuid.UUID | str) -> Declaration:
    declaration = (
        Declaration.objects.filter(pk=declaration_id, agent=agent)
        .select_related("payment")
        .prefetch_related(
            Prefetch("assessments", queryset=Assessment.objects.order_by("-version").prefetch_related("lines")),
            Prefetch("eslips", queryset=ESlip.objects.filter(is_current=True)),
            Prefetch("amendment_requests", queryset=AmendmentRequest.objects.filter(status=AmendmentStatus.PENDING)),
        )
        .first()
    )
    if declaration is None:
        raise NotFound(detail="No such declaration.", code="declaration_not_found")
    return declaration


def declaration_list(*, agent: Any, status: str | None = None, entry_number: str | None = None,
                     ucr: str | None = None, local_reference: str | None = None) -> QuerySet[Declaration]:
    qs = Declaration.objects.filter(agent=agent)
    if local_reference:
        # Exact match on the agent's own key (index decl_agent_local_ref); own declarations only.
        qs = qs.filter(local_reference=local_reference)
    if status:
        qs = qs.filter(status=status)
    if entry_number:
        qs = qs.filter(entry_number=entry_number)
    if ucr:
        qs = qs.filter(ucr=ucr)
    return qs.order_by("-created_at", "id").only(
        "id", "entry_number", "status", "channel", "regime", "office_id", "local_reference", "ucr",
        "bill_of_lading_number", "importer_pin", "exporter_pin", "lodged_at", "created_at", "updated_at",
        "version", "etag_version",
    )


STATUS_COLUMNS = ("id", "entry_number", "status", "channel", "ucr", "bill_of_lading_number", "regime",
                  "office_id", "updated_at")


def status_lookup(*, user: Any, entry_number: str | None = None, ucr: str | None = None,
                  bl: str | None = None) -> list[dict[str, Any]]:
    """One indexed query, a few columns, scoped through the user's agent (no separate agent read)."""
    given = [(name, value) for name, value in (("entry_number", entry_number), ("ucr", ucr),
                                                ("bill_of_lading_number", bl)) if value]
    if len(given) != 1:
        raise ValidationFailed(
            detail="Give exactly one of entry_number, ucr, bl.", code="lookup_key_required",
            errors=[error("lookup_key_required", "Give exactly one of entry_number, ucr, bl.", "")])
    name, value = given[0]
    rows = Declaration.objects.filter(**{name: value}, agent__staff__user=user).values(*STATUS_COLUMNS)[:50]
    return list(rows)


_LOOKUP_COLUMN = {"entry_number": "entry_number", "ucr": "ucr", "bl": "bill_of_lading_number"}


def status_lookup_by_token(*, token_key: str, entry_number: str | None = None, ucr: str | None = None,
                           bl: str | None = None) -> list[dict[str, Any]]:
    """The agent polling hot path: token -> user -> agent staff -> declarations in ONE indexed query
    (unique index on entry_number, or the ucr / B/L indexes), a few columns, no ORM compilation.
    An invalid token and "nothing found" both return []: the caller tells them apart."""
    given = [(name, value) for name, value in (("entry_number", entry_number), ("ucr", ucr), ("bl", bl)) if value]
    if len(given) != 1:
        raise ValidationFailed(
            detail="Give exactly one of entry_number, ucr, bl.", code="lookup_key_required",
            errors=[error("lookup_key_required", "Give exactly one of entry_number, ucr, bl.", "")])
    name, value = given[0]
    column = _LOOKUP_COLUMN[name]
    sql = (
        "SELECT d.id, d.entry_number, d.status, d.channel, d.ucr, d.bill_of_lading_number, d.regime, "
        "d.office_id, d.updated_at "
        f"FROM {Declaration._meta.db_table} d "
        f"JOIN {AgentStaff._meta.db_table} s ON s.agent_id = d.agent_id "
        f"JOIN {Token._meta.db_table} t ON t.user_id = s.user_id "
        f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
        f"WHERE t.key = %s AND u.is_active AND d.{column} = %s "  # column from the fixed map above
        "ORDER BY d.created_at DESC LIMIT 50"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_key, value])
        rows = cursor.fetchall()
    return [dict(zip(STATUS_COLUMNS, row, strict=True)) for row in rows]


def declaration_history(*, agent: Any, declaration_id: uuid.UUID | str) -> dict[str, Any]:
    declaration = Declaration.objects.filter(pk=declaration_id, agent=agent).only("id", "status").first()
    if declaration is None:
        raise NotFound(detail="No such declaration.", code="declaration_not_found")
    events = list(DeclarationEvent.objects.filter(declaration=declaration).order_by("created_at", "id"))
    versions = list(DeclarationVersion.objects.filter(declaration=declaration).order_by("number"))
    out_versions = []
    previous: dict[str, Any] | None = None
    for version in versions:
        body = version.snapshot.get("body", {})
        out_versions.append({
            "number": version.number,
            "reason": version.reason,
            "created_at": version.created_at,
            "fee_kes": version.fee_kes,
            "changed_fields": version.changed_fields,
            "snapshot": version.snapshot,
            "diff": body_diff(previous, body) if previous is not None else [],
        })
        previous = body
    requests = list(AmendmentRequest.objects.filter(declaration=declaration).order_by("created_at"))
    return {
        "id": declaration.pk,
        "status": declaration.status,
        "events": events,
        "versions": out_versions,
        "amendment_requests": requests,
    }


def declaration_require_own(*, declaration_id: uuid.UUID | str, agent: Any) -> None:
    """NotFound unless the declaration is the agent's (checked before a body is even parsed)."""
    if not Declaration.objects.filter(pk=declaration_id, agent=agent).exists():
        raise NotFound(detail="No such declaration.", code="declaration_not_found")


def document_list(*, declaration_id: uuid.UUID | str, agent: Any) -> list[DeclarationDocument]:
    declaration_require_own(declaration_id=declaration_id, agent=agent)
    return list(DeclarationDocument.objects.filter(declaration_id=declaration_id).order_by("uploaded_at", "id"))


def document_get(*, declaration_id: uuid.UUID | str, document_id: uuid.UUID | str,
                 agent: Any = None) -> DeclarationDocument:
    """One document of a declaration. With `agent`: only of that agent's declarations (anything
    else is "not found"). Officers (admin, staff) call it without an agent."""
    qs = DeclarationDocument.objects.filter(pk=document_id, declaration_id=declaration_id)
    if agent is not None:
        qs = qs.filter(declaration__agent=agent)
    document = qs.first()
    if document is None:
        raise NotFound(detail="No such document.", code="document_not_found")
    return document
