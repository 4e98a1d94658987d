"""Keep the intake store's token copies in step with the primary, after each commit.

A failure here (intake store away) is logged and left to the periodic reconcile
(`intake.reconcile_tokens`): creating or revoking a token in the primary must not fail for it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from .identity import token_copy_refresh

logger = logging.getLogger("forodha.intake")


def _refresh_on_commit(**kwargs: Any) -> None:
    def run() -> None:
        try:
            token_copy_refresh(**kwargs)
        except Exception:
            logger.warning("intake token copy not updated; the reconcile task will", exc_info=True)

    transaction.on_commit(run)


@receiver(post_save, sender=Token, dispatch_uid="intake.token_saved")
def _token_saved(sender: Any, instance: Token, **kwargs: Any) -> None:
    _refresh_on_commit(keys=[instance.key])


@receiver(post_delete, sender=Token, dispatch_uid="intake.token_deleted")
def _token_deleted(sender: Any, instance: Token, **kwargs: Any) -> None:
    _refresh_on_commit(removed_keys=[instance.key])


@receiver(post_save, sender=get_user_model(), dispatch_uid="intake.user_saved")
def _user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    # A deactivated user's tokens stop working at intake too (and come back on reactivation).
    update_fields = kwargs.get("update_fields")
    if not created and (update_fields is None or "is_active" in update_fields):
        _refresh_on_commit(user_ids=[instance.pk])


@receiver(got_request_exception, dispatch_uid="intake.primary_failure")
def _flag_primary_failure(sender: Any, request: Any = None, **kwargs: Any) -> None:
    """Mark a request that failed outside an API view (a middleware's query) because the primary
    could not be reached: the maintenance middleware then buffers it or opens the breaker."""
    exc = sys.exc_info()[1]
    if request is not None and isinstance(exc, OperationalError | InterfaceError):
        request._forodha_primary_failed = True
