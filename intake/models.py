"""The intake store: what Forodha needs to accept a submission while the primary database is away.

Everything here lives in the `intake` database (see `routers.py`): buffered submissions and their
signed receipts, the receipt signing keys, a hashed copy of the active API tokens, and the periods
the web processes found the primary unreachable. No foreign key points at the primary: users,
outages and windows are referred to by id.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models

from .enums import EpisodeStatus, IdentityKind, SubmissionPriority, SubmissionStatus


class BufferedSubmission(models.Model):
    """A request accepted during contingency, stored before its 202 receipt is sent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=SubmissionStatus.choices,
                              default=SubmissionStatus.PENDING)
    priority = models.PositiveSmallIntegerField(choices=SubmissionPriority.choices,
                                                default=SubmissionPriority.NORMAL)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    endpoint = models.CharField(max_length=64, help_text="Which bufferable endpoint (maintenance.intake).")
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    body_sha256 = models.CharField(max_length=64)
    # The submitting user in the primary (no foreign key: the primary may be away); empty for a
    # system client authenticated otherwise (the bank's HMAC-signed callback).
    agent_id = models.BigIntegerField(null=True, blank=True)
    agent_username = models.CharField(max_length=150, blank=True)
    # The client's Idempotency-Key: a retry with the same key gets the same receipt.
    idempotency_key = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField()
    # The contingency period: a declared or detected outage (`Outage.id` in the primary, equal to
    # the episode id when it was detected) or a buffer window.
    outage_id = models.UUIDField(null=True, blank=True)
    window_id = models.UUIDField(null=True, blank=True)
    # A correction of a rejected submission keeps that submission's receipt time (Forodha-Corrects).
    corrects_id = models.UUIDField(null=True, blank=True)
    lodged_at = models.DateTimeField(help_text="Receipt time that counts as the lodgement time.")
    receipt = models.JSONField(default=dict, help_text="The signed receipt exactly as sent.")
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["priority", "received_at", "id"]
        indexes = [
            models.Index(fields=["status", "priority", "received_at"], name="buffered_replay_order"),
            models.Index(fields=["outage_id"], name="buffered_outage"),
            models.Index(fields=["window_id"], name="buffered_window"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=SubmissionStatus.values),
                                   name="buffered_status_valid"),
            models.CheckConstraint(condition=models.Q(priority__in=SubmissionPriority.values),
                                   name="buffered_priority_valid"),
            models.UniqueConstraint(fields=["agent_id", "endpoint", "idempotency_key"],
                                    condition=~models.Q(idempotency_key=""), name="buffered_idempotency_key"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.id} ({self.status})"

    @property
    def agent(self) -> Any:
        """The submitting user, read from the primary (replay time only: the primary is up then)."""
        if self.agent_id is None:
            return None
        cached = getattr(self, "_agent_cache", None)
        if cached is None or cached.pk != self.agent_id:
            from django.contrib.auth import get_user_model

            cached = get_user_model().objects.get(pk=self.agent_id)
            self._agent_cache = cached
        return cached

    @agent.setter
    def agent(self, user: Any) -> None:
        self.agent_id = user.pk
        self.agent_username = user.get_username()
        self._agent_cache = user


class ReceiptSigningKey(models.Model):
    """Every Ed25519 key that ever signed a receipt, so a receipt signed before a rotation still
    verifies. The private half is kept only for generated keys (dev, test, sandboxes); a key
    managed by the deployment (`RECEIPT_SIGNING_KEY`) is recorded by its public half alone."""

    key_id = models.CharField(primary_key=True, max_length=40)
    public_key = models.CharField(max_length=64, help_text="base64 of the raw 32-byte public key")
    private_key = models.CharField(max_length=64, blank=True,
                                   help_text="base64 of the raw private key; only for generated keys")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["valid_to"], condition=models.Q(valid_to__isnull=True),
                                    name="receipt_key_single_current"),
        ]

    def __str__(self) -> str:
        return f"{self.key_id} ({'current' if self.valid_to is None else 'retired'})"


class TokenCopy(models.Model):
    """A hashed copy of one active API token and who it belongs to (never the token itself)."""

    key_sha256 = models.CharField(primary_key=True, max_length=64)
    user_id = models.BigIntegerField()
    username = models.CharField(max_length=150)
    kind = models.CharField(max_length=16, choices=IdentityKind.choices, default=IdentityKind.OTHER)
    organisation_id = models.CharField(max_length=64, blank=True,
                                       help_text="The agent or carrier the user works for, when any.")
    synced_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user_id"], name="token_copy_user")]

    def __str__(self) -> str:
        return f"{self.username} ({self.kind})"


class Episode(models.Model):
    """A period in which the web processes could not reach the primary (detected, not declared)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=EpisodeStatus.choices, default=EpisodeStatus.OPEN)
    source = models.CharField(max_length=32, default="database_unavailable")
    first_failure_at = models.DateTimeField()
    last_failure_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=1)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-first_failure_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=EpisodeStatus.values), name="episode_status_valid"),
            models.UniqueConstraint(fields=["status"], condition=models.Q(status=EpisodeStatus.OPEN),
                                    name="episode_single_open"),
        ]

    def __str__(self) -> str:
        return f"episode {self.first_failure_at:%Y-%m-%d %H:%M:%S}Z ({self.status})"


class PrimaryCutoff(models.Model):
    """While this row exists, the web processes treat the primary as unreachable (drills: the
    sandbox's `outage-drill` cuts its API off from the primary for the drill's duration, so
    trainees see the real mechanism, not a flag on the old path). One row at most (pk 1)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    reason = models.CharField(max_length=500)
    since = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="primary_cutoff_single")]

    def __str__(self) -> str:
        return f"primary cut off since {self.since:%Y-%m-%d %H:%M}Z"


# --- provisional release during contingency -------------------------------------------------------
# What intake needs to decide, with the primary away, whether a buffered submission's goods may be
# released provisionally (docs/maintenance.md, "Provisional release"): a copy of the qualifying
# rules and of the trader statuses they read, refreshed from the primary (maintenance.provisional),
# and every release issued, with its signed token.


class ReleaseRuleSnapshot(models.Model):
    """The published qualifying rules as last copied from the primary (one row, pk 1)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    rules = models.JSONField(default=list, help_text="The active rules, in the order they are tried.")
    digest = models.CharField(max_length=64, help_text="sha256 of the rules' canonical JSON.")
    refreshed_at = models.DateTimeField()
    traders = models.PositiveIntegerField(default=0, help_text="Trader statuses copied with the rules.")

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="release_rule_snapshot_single")]

    def __str__(self) -> str:
        return f"release rules {self.digest[:12]} ({self.refreshed_at:%Y-%m-%d %H:%M}Z)"


class TraderStatusCopy(models.Model):
    """A trader the qualifying rules must know about: an active AEO profile (with its validity,
    checked against the day of the submission) or a watch-list entry. Traders with neither are
    not copied: absent means "not AEO, not watch-listed"."""

    pin = models.CharField(primary_key=True, max_length=11)
    aeo_active = models.BooleanField(default=False)
    aeo_valid_from = models.DateField(null=True, blank=True)
    aeo_valid_to = models.DateField(null=True, blank=True)
    on_watch_list = models.BooleanField(default=False)
    synced_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.pin} (aeo={self.aeo_active}, watch={self.on_watch_list})"


class ProvisionalRelease(models.Model):
    """A provisional release issued with a buffered submission's receipt (one at most per
    submission). The token is what the terminal checks; this row lets the online check and the
    reconciliation after recovery find the release again."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    submission_id = models.UUIDField(unique=True)
    token = models.TextField()
    key_id = models.CharField(max_length=40)
    rule = models.CharField(max_length=40, help_text="Code of the qualifying rule.")
    trader_pin = models.CharField(max_length=11)
    claims = models.JSONField(help_text="The token's signed claims (decoded).")
    agent_id = models.BigIntegerField(null=True, blank=True)
    agent_username = models.CharField(max_length=150, blank=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    snapshot_digest = models.CharField(max_length=64, help_text="The rule snapshot the decision used.")
    # Set once the reconciliation after recovery has decided (primary: risk.ProvisionalReleaseCase).
    reconciled_at = models.DateTimeField(null=True, blank=True)
    reconciliation = models.CharField(max_length=16, blank=True, help_text="clean | case")

    class Meta:
        ordering = ["issued_at", "id"]
        indexes = [models.Index(fields=["reconciled_at", "issued_at"], name="prov_release_unreconciled")]
        constraints = [
            models.CheckConstraint(condition=models.Q(reconciliation__in=["", "clean", "case"]),
                                   name="prov_release_reconciliation_valid"),
        ]

    def __str__(self) -> str:
        return f"provisional release {self.id} ({self.trader_pin})"
