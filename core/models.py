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
