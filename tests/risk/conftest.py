from __future__ import annotations

import pytest

from tests.factories.risk import RiskRuleFactory


@pytest.fixture
def lane_rules() -> dict[str, object]:
    """Rules that make the lane follow the HS chapter of the first item:
    01 -> blue (35), 02 -> yellow (60), 03 -> red (90); anything else green."""
    return {
        "blue": RiskRuleFactory(code="live-animals", kind="hs_match", hs_prefixes="01", weight=35),
        "yellow": RiskRuleFactory(code="meat", kind="hs_match", hs_prefixes="02", weight=60),
        "red": RiskRuleFactory(code="fish", kind="hs_match", hs_prefixes="03", weight=90),
    }


LANE_HS = {"green": "8703.22.90", "blue": "0101.21.00", "yellow": "0201.10.00", "red": "0302.11.00"}
