from django.db import models


class NotificationKind(models.TextChoices):
    """Kind codes, modelled on HMRC's notification kinds (DOMAIN.md, availability practice)."""

    ACCEPTED = "accepted", "Accepted (registered and assessed)"
    REJECTED = "rejected", "Rejected"
    TAX_DUE = "tax_due", "Tax due"
    PAID = "paid", "Payment received"
    DOCUMENTS_REQUIRED = "documents_required", "Documents required"
    PHYSICAL_CONTROL = "physical_control", "Physical control"
    QUERIED = "queried", "Queried"
    QUERY_ANSWERED = "query_answered", "Query answered (back with the officer)"
    RELEASED = "released", "Released"
    CLEARED = "cleared", "Cleared (exited)"
    CANCELLED = "cancelled", "Cancelled"
    AMENDED = "amended", "Amended"
    AMENDMENT_DECIDED = "amendment_decided", "Amendment decided"
    MAINTENANCE = "maintenance", "Maintenance notice"
    CONTINGENCY = "contingency", "Contingency receipt outcome"
    TRANSIT = "transit", "Transit movement"
    WEBHOOK_SUSPENDED = "webhook_suspended", "Webhook endpoint suspended"
    OTHER = "other", "Other"
