from django.db import models


class IdempotencyRecord(models.Model):
    """One `Idempotency-Key` use by one client.

    The unique (scope, key) row is the lock: the first request inserts it `in_flight`, a
    concurrent retry hits the unique constraint and gets 409, a later retry replays the stored
    response. Scope is a hash of the client's credentials, so two clients can use the same key.
    """

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        COMPLETED = "completed", "Completed"

    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_unique_scope_key"),
            models.CheckConstraint(condition=models.Q(state__in=["in_flight", "completed"]),
                                   name="idempotency_state_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"


class OutboxMessage(models.Model):
    """A task hand-off written in the same transaction as the state change that causes it.

    If the broker is down when the transaction commits, the row stays undispatched and the relay
    (beat task `core.outbox_relay`) sends it later: nothing decided in the database is lost.
    A claim lease (`claimed_until`) lets a crashed dispatcher's messages be re-sent; consumers are
    idempotent, so the rare double send is harmless.
    """

    task_name = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], name="outbox_pending_idx",
                         condition=models.Q(dispatched_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} {self.kwargs}"
