from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from core import clock
from manifests.models import Carrier
from tests.factories.manifests import carrier_with_token, reference_rows


@pytest.fixture
def refdata(db: None) -> None:
    reference_rows()


@pytest.fixture
def carrier_staff(refdata: None) -> Any:
    staff, token = carrier_with_token()
    staff.token = token
    return staff


@pytest.fixture
def carrier(carrier_staff: Any) -> Carrier:
    return carrier_staff.carrier


@pytest.fixture
def carrier_client(carrier_staff: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {carrier_staff.token}")
    return client


def future(days: float = 10) -> dt.datetime:
    return clock.now() + dt.timedelta(days=days)


def manifest_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reference": "MSC-KE-2026-0042",
        "mode": "sea",
        "vessel_name": "MSC ANNA",
        "vessel_imo": "9321483",
        "voyage_number": "FA612R",
        "port_of_loading": "CNSHA",
        "port_of_discharge": "KEMBA",
        "eta": future().isoformat(),
        "bills_of_lading": [
            {
                "number": "MEDUKE123456",
                "shipper_name": "Shanghai Exports Co Ltd",
                "consignee_name": "Nairobi Motors Ltd",
                "consignee_pin": "P051234567X",
                "notify_party_name": "Nairobi Motors Ltd",
                "description": "Used motor car, 1490 cc petrol",
                "packages": 10,
                "package_kind": "CT",
                "gross_weight_kg": "12000.500",
                "place_of_delivery": "KEMBA",
                "containers": [
                    {"number": "CSQU3054383", "size_type": "22G1", "seals": ["SEAL001"], "packages": 6},
                    {"number": "MSCU0000060", "size_type": "45G1", "seals": ["SEAL002", "SEAL003"], "packages": 4},
                ],
            },
            {
                "number": "MEDUKE654321",
                "shipper_name": "Guangzhou Textiles",
                "consignee_name": "Mombasa Traders Ltd",
                "consignee_pin": "P000111222Z",
                "description": "Cotton fabric in rolls",
                "packages": 200,
                "package_kind": "BG",
                "gross_weight_kg": "8250.000",
                "containers": [{"number": "TGHU1000002", "size_type": "42G1", "seals": ["SEAL004"]}],
            },
        ],
    }
    body.update(overrides)
    return body
