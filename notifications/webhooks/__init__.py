"""Push notifications (webhooks) for agents. The notifications fan-out task calls
`webhook_deliveries_enqueue(notification)` for every new notification (pull feed + push)."""

from typing import Any


def webhook_deliveries_enqueue(notification: Any) -> int:
    # local import: this package is imported while Django loads models (notifications.models)
    from .services import webhook_deliveries_enqueue as enqueue

    return enqueue(notification)


__all__ = ["webhook_deliveries_enqueue"]
