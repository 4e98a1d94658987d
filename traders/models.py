"""Parties: traders (importers/exporters by KRA PIN), licensed clearing agents, the agent-trader
authorisations, and AEO (Authorised Economic Operator) profiles with their change history."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from core.audit import ChainedEvent
from traders.validators import validate_kra_pin


class TraderStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class AEOStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    REVOKED = "revoked", "Revoked"


class Trader(models.Model):
    Status = TraderStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pin = models.CharField("KRA PIN", max_length=11, unique=True, validators=[validate_kra_pin])
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    on_watch_list = models.BooleanField(default=False)
    watch_reason = models.TextField(blank=True)
    # Compliance history counters read by risk (first-time trader, past offences).
    declarations_count = models.PositiveIntegerField(default=0)
    offences_count = models.PositiveIntegerField(default=0)
    first_declared_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pin"]
        constraints = [
            models.CheckConstraint(condition=models.Q(pin__regex=r"^[AP][0-9]{9}[A-Z]$"), name="trader_pin_format"),
            models.CheckConstraint(condition=models.Q(status__in=TraderStatus.values), name="trader_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.pin} {self.name}"


class ClearingAgent(models.Model):
    """A licensed customs agent firm (EACCMA s.145); staff users lodge on its behalf."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    licence_number = models.CharField(max_length=32, unique=True)
    licence_valid_from = models.DateField()
    licence_valid_to = models.DateField()
    on_watch_list = models.BooleanField(default=False)
    watch_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(licence_valid_to__gte=models.F("licence_valid_from")),
                name="agent_licence_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.licence_number})"


class AgentStaff(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_staff")
    agent = models.ForeignKey(ClearingAgent, on_delete=models.CASCADE, related_name="staff")

    class Meta:
        verbose_name_plural = "agent staff"

    def __str__(self) -> str:
        return f"{self.user} @ {self.agent.name}"


class AgentAuthorisation(models.Model):
    """The trader authorised the agent to act for it from valid_from to valid_to (open if null)."""

    agent = models.ForeignKey(ClearingAgent, on_delete=models.CASCADE, related_name="authorisations")
    trader = models.ForeignKey(Trader, on_delete=models.CASCADE, related_name="authorisations")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["agent", "trader", "valid_from"]
        indexes = [models.Index(fields=["agent", "trader"], name="agent_auth_agent_trader")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
                name="agent_auth_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent.name} for {self.trader.pin} from {self.valid_from}"


class AEOProfile(models.Model):
    class Tier(models.TextChoices):
        NATIONAL = "national", "National"
        EAC_REGIONAL = "eac_regional", "EAC regional"

    Status = AEOStatus

    trader = models.OneToOneField(Trader, on_delete=models.CASCADE, related_name="aeo")
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.NATIONAL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    automatic_release = models.BooleanField(default=True)
    reduced_inspection = models.BooleanField(default=True)
    pre_arrival_clearance = models.BooleanField(default=True)
    priority = models.BooleanField(default=True)

    class Meta:
        verbose_name = "AEO profile"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=AEOStatus.values), name="aeo_status_valid"
            ),
            models.CheckConstraint(condition=models.Q(tier__in=["national", "eac_regional"]), name="aeo_tier_valid"),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
                name="aeo_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"AEO {self.trader.pin} {self.tier} {self.status}"


class AEOProfileChange(ChainedEvent):
    """One change of an AEO profile (status transition or benefit/validity edit), with its actor."""

    chain_subject_field = "profile_id"
    chain_hashed_fields = (
        "profile_id", "actor_id", "from_status", "to_status", "reason", "payload", "created_at",
    )

    profile = models.ForeignKey(AEOProfile, on_delete=models.CASCADE, related_name="changes")


    class Meta:
        ordering = ["profile", "created_at", "id"]
        verbose_name = "AEO profile change"

    def __str__(self) -> str:
        return f"{self.profile_id}: {self.from_status or '-'} -> {self.to_status}"

