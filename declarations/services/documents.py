"""Supporting documents as files: upload (content-sniffed, size-capped, hashed), list, open.

The bytes decide the type (puremagic's magic-number tables), never the client: a file is stored
only if it IS a PDF, JPEG or PNG, and a client that claims another type for it (the part's
Content-Type or the file name's extension) is told so. Files go through Django's storage API
(`STORAGES["default"]`), so the filesystem and S3-compatible object storage behave the same.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import PurePath
from typing import Any

import puremagic
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from core import clock
from core.exceptions import Conflict, NotFound, ValidationFailed, error

from ..enums import EventKind, Status
from ..models import DOCUMENT_EXTENSIONS, Declaration, DeclarationDocument, DeclarationItem
from .common import actor_user, event_record

# What a client may call the file, by extension, for the mismatch check.
_EXTENSION_TYPES = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                    ".jpe": "image/jpeg", ".png": "image/png"}
# Claims that say nothing (browsers and curl send these for unknown files).
_NEUTRAL_CLAIMS = {"", "application/octet-stream", "binary/octet-stream"}
# Documents cannot be added once the declaration has left customs' hands.
_CLOSED = frozenset({Status.EXITED, Status.CANCELLED, Status.REJECTED})


def content_type_sniff(data: bytes) -> str | None:
    """The allowed type the file's leading bytes prove, or None. Only signatures at offset 0 count,
    and among puremagic's best-confidence matches (PDF ties with FDF) the allowed one is taken."""
    try:
        matches = [m for m in puremagic.magic_string(data[:4096]) if m.offset == 0]
    except (puremagic.PureError, ValueError):
        return None
    if not matches:
        return None
    best = max(m.confidence for m in matches)
    for match in matches:
        if match.confidence == best and match.mime_type in DOCUMENT_EXTENSIONS:
            return str(match.mime_type)
    return None


def _claimed_type(*, filename: str, claimed_content_type: str) -> str | None:
    claim = claimed_content_type.split(";")[0].strip().lower()
    if claim == "image/jpg":
        claim = "image/jpeg"
    if claim and claim not in _NEUTRAL_CLAIMS:
        return claim
    return _EXTENSION_TYPES.get(PurePath(filename).suffix.lower())


def document_upload(
    *,
    declaration_id: uuid.UUID | str,
    agent: Any,
    kind: str,
    reference: str,
    item_line_no: int | None,
    filename: str,
    claimed_content_type: str,
    data: bytes,
    actor: Any,
) -> DeclarationDocument:
    """Store one file for the agent's own declaration (another agent's: 404). Every problem is a
    400 on `/file` (or `/item`); nothing is stored unless everything passes."""
    declaration = Declaration.objects.filter(pk=declaration_id, agent=agent).only("id", "status").first()
    if declaration is None:
        raise NotFound(detail="No such declaration.", code="declaration_not_found")
    limit = settings.DECLARATION_DOCUMENT_MAX_BYTES
    if not data:
        raise ValidationFailed(errors=[error("empty_file", "The file is empty.", "/file")])
    if len(data) > limit:
        raise ValidationFailed(errors=[error("file_too_large",
                                             f"The file is {len(data)} bytes; the limit is {limit} bytes.",
                                             "/file")])
    sniffed = content_type_sniff(data)
    if sniffed is None:
        raise ValidationFailed(errors=[error("unsupported_file_type",
                                             "Only PDF, JPEG and PNG files are accepted (decided by the "
                                             "file's content).", "/file")])
    claimed = _claimed_type(filename=filename, claimed_content_type=claimed_content_type)
    if claimed is not None and claimed != sniffed:
        raise ValidationFailed(errors=[error("content_type_mismatch",
                                             f"The file claims to be {claimed} but its content is {sniffed}.",
                                             "/file")])
    if item_line_no is not None and not DeclarationItem.objects.filter(
            declaration_id=declaration.pk, line_no=item_line_no).exists():
        raise ValidationFailed(errors=[error("unknown_item", f"The declaration has no item {item_line_no}.",
                                             "/item")])
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        locked = Declaration.objects.select_for_update(of=("self",)).get(pk=declaration.pk)
        if locked.status in _CLOSED:
            raise Conflict(detail=f"A {locked.status} declaration takes no more documents.",
                           code="declaration_closed",
                           errors=[error("declaration_closed", f"Status is {locked.status}.", "/status")])
        document = DeclarationDocument(
            declaration=locked, kind=kind, reference=reference, item_line_no=item_line_no,
            filename=PurePath(filename.replace("\\", "/")).name[:255] or "document",
            content_type=sniffed, size=len(data), sha256=digest, uploaded_by=actor_user(actor),
            uploaded_at=clock.now(),
        )
        # The file is written first (storages are not transactional); if the row or its event
        # cannot be written, the file is deleted again so no orphan is left behind.
        document.file.save(f"{document.pk}{DOCUMENT_EXTENSIONS[sniffed]}", ContentFile(data), save=False)
        stored_name = str(document.file.name)
        storage = document.file.storage
        try:
            document.save(force_insert=True)
            event_record(declaration=locked, kind=EventKind.DOCUMENT_UPLOADED, from_status=locked.status,
                         to_status=locked.status, actor=actor, reason=f"{kind} {reference}",
                         payload={"document_id": str(document.pk), "kind": kind, "reference": reference,
                                  "filename": document.filename, "content_type": sniffed, "size": len(data),
                                  "sha256": digest})
        except Exception:
            storage.delete(stored_name)
            raise
    return document

