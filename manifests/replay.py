"""Contingency replay of manifests buffered during an outage or maintenance window.

The maintenance app stores `POST /manifests` and `POST /manifests/edifact` requests received while
the service was unavailable and calls `lodge_buffered` once it returns (the replay handler
`ManifestsConfig.ready` registers in `maintenance.replay_handlers` for both endpoints). The receipt
time is the lodging time: a carrier that lodged on time into the buffer is not flagged late, and the
ETA rule is judged at receipt.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from core.exception_handler import flatten_errors
from core.exceptions import ApplicationError, ValidationFailed, error
from maintenance.replay_handlers import ReplayOutcome
from manifests.edifact.cuscar import CuscarError, map_cuscar
from manifests.parsers import EdifactParser
from manifests.selectors import carrier_for_user
from manifests.serializers import ManifestInSerializer, manifest_input
from manifests.services import manifest_lodge


class _Stream:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def read(self) -> bytes:
        return self.raw


def lodge_buffered(submission: Any, *, lodged_at: dt.datetime, deadline_extension: dt.timedelta) -> Any:
    user = submission.agent
    carrier = carrier_for_user(user)
    if carrier is None:
        return ReplayOutcome(lodged=False, code="not_a_carrier", detail="The submitter is not carrier staff.")
    raw = bytes(submission.body)
    try:
        if submission.endpoint == "manifests.edifact":
            content_type = (submission.headers or {}).get("Content-Type", "application/edifact")
            text = EdifactParser().parse(_Stream(raw), content_type)
            try:
                mapped = map_cuscar(text)
            except CuscarError as exc:
                raise ValidationFailed(detail="The CUSCAR interchange is invalid.", code="edifact_invalid",
                                       errors=exc.errors) from exc
            manifest = manifest_lodge(carrier=carrier, data=mapped.data, actor=user, source="edifact",
                                      pointer=mapped.pointer, extra_errors=mapped.errors, received_at=lodged_at)
        elif submission.endpoint == "manifests":
            try:
                payload = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise ValidationFailed(code="parse_error", detail=f"Malformed JSON: {exc}") from None
            serializer = ManifestInSerializer(data=payload)
            if not serializer.is_valid():
                raise ValidationFailed(errors=[error(e["code"], e["detail"], e["pointer"])
                                               for e in flatten_errors(serializer.errors)])
            data = dict(serializer.validated_data)
            manifest = manifest_lodge(carrier=carrier, data=manifest_input(data), draft=data.get("draft", False),
                                      actor=user, received_at=lodged_at)
        else:
            return ReplayOutcome(lodged=False, code="endpoint_not_supported",
                                 detail=f"No replay for endpoint {submission.endpoint!r}.")
    except ApplicationError as exc:
        return ReplayOutcome(lodged=False, errors=tuple(exc.errors), detail=exc.detail, code=exc.code)
    return ReplayOutcome(lodged=True, resource_id=str(manifest.pk),
                         result={"status": manifest.status, "late_lodging": manifest.late_lodging,
                                 "version": manifest.version})
