from dataclasses import dataclass

from core.exceptions import Conflict


@dataclass
class SandboxModeRequired(Conflict):
    detail: str = "This operation is only available in sandbox mode (FORODHA_SANDBOX)."
    code: str = "sandbox_mode_required"
