"""Transit services (writes) and the hooks that follow a declaration's life.

Hooks (subscribed to the declarations app's domain events in `transit/subscribers.py`, wired in
`TransitConfig.ready`; declarations never names transit):
- `transit_validate(*, payload, on) -> list[ErrorItem]`          lodging, before anything is written
- `transit_on_lodged(*, declaration, payload, actor) -> TransitMovement`   inside the lodging transaction
- `transit_on_registered(*, declaration, actor) -> TransitMovement | None`  lodging, once the entry number is taken
- `transit_on_released(*, declaration, actor) -> TransitMovement | None`   inside the release transaction
- `transit_on_cancelled(*, declaration, actor) -> TransitMovement | None`  inside the cancellation
- `transit_status_for(declaration_id) -> dict | None`            status look-up
"""

from .alerts import alert_acknowledge, alert_investigate, alert_open, alert_resolve
from .bonds import bond_create, bond_release, bond_reserve, bond_top_up
from .movements import (
    bond_amount_for,
    bond_demand,
    eac_regional_aeo,
    exit_blockers,
    minimum_journey,
    transit_flag_overdue,
    transit_on_cancelled,
    transit_on_lodged,
    transit_on_registered,
    transit_on_released,
    transit_seals_override,
    transit_status_for,
)
from .partner import (
    DeliveryResult,
    InboundOutcome,
    PartnerUnreachable,
    partner_message_deliver,
    partner_message_receive,
    partner_messages_due,
)
from .tracking import TrackingOutcome, tracking_client_create, tracking_event_record
from .validation import transit_validate

__all__ = [
    "DeliveryResult",
    "InboundOutcome",
    "PartnerUnreachable",
    "TrackingOutcome",
    "alert_acknowledge",
    "alert_investigate",
    "alert_open",
    "alert_resolve",
    "bond_amount_for",
    "bond_create",
    "bond_demand",
    "bond_release",
    "bond_reserve",
    "bond_top_up",
    "eac_regional_aeo",
    "exit_blockers",
    "minimum_journey",
    "partner_message_deliver",
    "partner_message_receive",
    "partner_messages_due",
    "tracking_client_create",
    "tracking_event_record",
    "transit_flag_overdue",
    "transit_on_cancelled",
    "transit_on_lodged",
    "transit_on_registered",
    "transit_on_released",
    "transit_seals_override",
    "transit_status_for",
    "transit_validate",
]
