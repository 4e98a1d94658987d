"""Sandbox-only state: the trainer's drill progress, seed runs, and API errors made by trainees."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Drill(models.Model):
    """A scripted drill a trainer runs step by step (`manage.py sandbox drill`). One row per drill."""

    name = models.SlugField(max_length=40, unique=True)
    step = models.PositiveSmallIntegerField(default=0, help_text="Last step run (0: not started).")
    state = models.JSONField(default=dict, blank=True, help_text="Ids the later steps need, and the step log.")
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.CharField(max_length=150, blank=True)

    def __str__(self) -> str:
        return f"drill {self.name} at step {self.step}"


class SeedRun(models.Model):
    """One `sandbox seed` run: which world, from which seed, and its digest (same seed, same digest)."""

    scenario = models.CharField(max_length=40)
    seed = models.BigIntegerField()
    epoch = models.DateTimeField(help_text="The scenario's start time (the sandbox clock was set to it).")
    counts = models.JSONField(default=dict)
    digest = models.CharField(max_length=64)
    seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.scenario} seed {self.seed}"


class ApiErrorRecord(models.Model):
    """A 4xx answer to an authenticated API client in sandbox mode (trainee report: errors made)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    username = models.CharField(max_length=150, db_index=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=64, blank=True)
    errors = models.JSONField(default=list, blank=True)
    local_reference = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["username", "created_at"], name="sandbox_apierr_user_time")]

    def __str__(self) -> str:
        return f"{self.username} {self.method} {self.path} -> {self.status} {self.code}"


class ClockState(models.Model):
    """The sandbox clock offset (singleton row, pk=1). The cache holds a copy for every process
    (`sandbox.clock`). The table keeps its first name (`core_clockstate`): the model moved from core,
    which must not know the sandbox (state-only migrations core 0004 / sandbox 0002)."""

    offset_seconds = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        db_table = "core_clockstate"

    def __str__(self) -> str:
        return f"clock offset {self.offset_seconds:+.0f}s"
