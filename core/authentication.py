"""Token authentication for agents and system clients (`Authorization: Token <key>`)."""

from rest_framework.authentication import TokenAuthentication


class AgentTokenAuthentication(TokenAuthentication):
    keyword = "Token"
