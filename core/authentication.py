"""Token authentication for agents and system clients (`Authorization: Token <key>`)."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


class AgentTokenAuthentication(TokenAuthentication):
    """DRF's token check, with the user's agent-staff row and agent fetched in the same query.

    Every agent endpoint asks "which clearing agent is this?" (`traders.selectors.agent_for_user`)
    right after authentication; joining it here makes that a cache hit instead of a second query.
    """

    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        token = Token.objects.select_related("user", "user__agent_staff__agent").filter(key=key).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token
