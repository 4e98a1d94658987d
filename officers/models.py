"""Officer-office assignment, the officers' decision permissions, and the work queues.

The queues are proxy models of `clearance.OfficerTask` so each queue is its own admin list view with
its own "view" permission (a group sees only the queues its work needs)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from clearance.models import OfficerTask


class OfficerProfile(models.Model):
    """The customs office an officer works at. Officers see the declarations of their office;
    holders of `officers.view_all_offices` (supervisors) see all."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="officer_profile")
    office = models.ForeignKey("reference.CustomsOffice", on_delete=models.PROTECT, related_name="officers")
    staff_number = models.CharField(max_length=20, blank=True)

    objects: ClassVar[models.Manager[OfficerProfile]] = models.Manager()

    class Meta:
        ordering = ["user__username"]
        # The decisions are permissions of their own (not model CRUD): the admin checks them
        # before calling the clearance/declaration services.
        permissions = [
            ("assign_task", "Can assign officer tasks (to self)"),
            ("release_declaration", "Can release a declaration"),
            ("query_agent", "Can query the agent (documents required)"),
            ("request_inspection", "Can request a physical inspection"),
            ("record_findings", "Can record inspection findings"),
            ("override_findings", "Can override non-compliant findings to allow release"),
            ("amend_assessment", "Can amend the assessment"),
            ("reject_declaration", "Can reject a declaration / seize goods"),
            ("decide_amendment", "Can accept or reject an amendment request"),
            ("decide_cancellation", "Can cancel a declaration on the agent's request"),
            ("view_all_offices", "Can see the declarations of every office"),
            ("view_dashboard", "Can see the officers' dashboard"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.office.pk}"


class DocumentaryCheckQueue(OfficerTask):
    class Meta:
        proxy = True
        verbose_name = "awaiting documentary check"
        verbose_name_plural = "awaiting documentary check"


class InspectionQueue(OfficerTask):
    class Meta:
        proxy = True
        verbose_name = "awaiting inspection"
        verbose_name_plural = "awaiting inspection"


class AssignedToMeQueue(OfficerTask):
    class Meta:
        proxy = True
        verbose_name = "assigned to me"
        verbose_name_plural = "assigned to me"


class EscalatedQueue(OfficerTask):
    class Meta:
        proxy = True
        verbose_name = "escalated"
        verbose_name_plural = "escalated"


class QueriedQueue(OfficerTask):
    class Meta:
        proxy = True
        verbose_name = "queried (waiting for the agent)"
        verbose_name_plural = "queried (waiting for the agent)"
