"""Risk rules (data edited by risk analysts), reference prices and stored assessments. (The
clearance workflow rows moved to the `clearance` app, agents' webhooks to `notifications`.)"""

from __future__ import annotations

from django.db import models

from .scoring import RuleKind

LANE_CHOICES = [("green", "Green"), ("blue", "Blue"), ("yellow", "Yellow"), ("red", "Red")]


class RiskRule(models.Model):
    """One selectivity rule. Effective-dated: it applies to declarations scored while
    valid_from <= now < valid_to (open-ended when valid_to is empty) and `active` is set.
    Each rule adds `weight` points to the score, or forces a lane (or both)."""

    KIND_CHOICES = [(k.value, k.value.replace("_", " ")) for k in RuleKind]

    class ForcedLane(models.TextChoices):
        NONE = "", "None (score only)"
        BLUE = "blue", "Blue"
        YELLOW = "yellow", "Yellow"
        RED = "red", "Red"

    code = models.SlugField(max_length=64, unique=True, help_text="Stable short name, e.g. hs-8703-vehicles.")
    kind = models.CharField(max_length=40, choices=KIND_CHOICES)
    description = models.CharField(max_length=200, help_text="Shown to officers as the reason's prefix.")
    explanation = models.TextField(blank=True, help_text="Why the rule exists and what it looks for.")
    weight = models.PositiveSmallIntegerField(default=0, help_text="Score points added when the rule hits.")
    forced_lane = models.CharField(max_length=8, choices=ForcedLane.choices, blank=True, default="")
    hs_prefixes = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated HS chapter/heading/code prefixes (8703, 8703.22)."
    )
    countries = models.CharField(max_length=300, blank=True, help_text="Comma-separated ISO alpha-2 codes.")
    threshold_percent = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    threshold_count = models.PositiveIntegerField(null=True, blank=True)
    rate = models.DecimalField(
        max_digits=6, decimal_places=5, null=True, blank=True, help_text="Random selection rate, 0 to 1."
    )
    active = models.BooleanField(default=True)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in RuleKind]), name="risk_rule_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(forced_lane__in=["", "blue", "yellow", "red"]), name="risk_rule_forced_lane_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(weight__gt=0) | ~models.Q(forced_lane=""), name="risk_rule_has_effect"
            ),
            models.CheckConstraint(
                condition=models.Q(rate__isnull=True) | models.Q(rate__gte=0, rate__lte=1), name="risk_rule_rate_range"
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gt=models.F("valid_from")),
                name="risk_rule_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.kind})"


class ReferencePrice(models.Model):
    """Reference price per HS prefix and unit (valuation database kept by officers), effective-dated:
    KES per kg of net weight, or KES per supplementary unit (NAR, LTR, ...) compared with the
    item's supplementary quantity when declared in that unit."""

    hs_prefix = models.CharField(max_length=10, help_text="Digits only: chapter, heading or full code.")
    unit = models.CharField(max_length=8, default="kg",
                            help_text="kg (net weight) or a supplementary unit code (NAR, LTR, ...)")
    kes_per_unit = models.DecimalField(max_digits=14, decimal_places=2)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["hs_prefix", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hs_prefix__regex=r"^[0-9]{2,10}$"), name="refprice_prefix_digits"
            ),
            models.CheckConstraint(condition=models.Q(kes_per_unit__gt=0), name="refprice_positive"),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
                name="refprice_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hs_prefix}: KES {self.kes_per_unit}/{self.unit}"


class RiskAssessment(models.Model):
    """The stored selectivity result. Officers see `hits`; agents only see the declaration's channel."""

    declaration = models.OneToOneField(
        "declarations.Declaration", on_delete=models.CASCADE, related_name="risk_assessment"
    )
    score = models.PositiveIntegerField()
    lane = models.CharField(max_length=8, choices=LANE_CHOICES)
    hits = models.JSONField(default=list, blank=True)
    priority = models.BooleanField(default=False)
    aeo_applied = models.BooleanField(default=False)
    rules_version = models.CharField(max_length=64, help_text="Digest of the rule set and prices used.")
    scored_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lane__in=["green", "blue", "yellow", "red"]), name="risk_assessment_lane_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id}: {self.lane} ({self.score})"


__all__ = [
    "LANE_CHOICES",
    "ReferencePrice",
    "RiskAssessment",
    "RiskRule",
]
