"""Declaration services (writes). Import from here: `from declarations.services import ...`."""

from .amendments import (
    UpdateResult,
    amendment_request_accept,
    amendment_request_reject,
    declaration_officer_amend,
    declaration_update,
    etag_check,
)
from .cancellation import declaration_cancel
from .common import actor_user
from .documents import document_upload
from .idf import idf_raise
from .lifecycle import (
    declaration_channel_record_locked,
    declaration_channel_set,
    declaration_channels_record_locked,
    declaration_lock,
    declaration_note_record_locked,
    declaration_transition,
    declaration_transition_locked,
)
from .lodging import declaration_draft_create, declaration_draft_lodge, declaration_lodge
from .payments import (
    bank_callback_headers,
    declaration_pay,
    payment_confirm_from_bank,
    signature_compute,
    signature_verify,
)

__all__ = [
    "UpdateResult",
    "actor_user",
    "amendment_request_accept",
    "amendment_request_reject",
    "bank_callback_headers",
    "declaration_cancel",
    "declaration_channel_record_locked",
    "declaration_channel_set",
    "declaration_channels_record_locked",
    "declaration_draft_create",
    "declaration_draft_lodge",
    "declaration_lock",
    "declaration_lodge",
    "declaration_note_record_locked",
    "declaration_officer_amend",
    "declaration_pay",
    "declaration_transition",
    "declaration_transition_locked",
    "declaration_update",
    "document_upload",
    "etag_check",
    "idf_raise",
    "payment_confirm_from_bank",
    "signature_compute",
    "signature_verify",
]
