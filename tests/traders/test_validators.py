from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tests.factories.traders import make_pin
from traders.models import Trader
from traders.validators import is_valid_kra_pin, validate_kra_pin


@pytest.mark.parametrize("pin", ["P051234567X", "A000000000Z", "P999999999A"])
def test_valid_pins(pin: str) -> None:
    assert is_valid_kra_pin(pin) is True
    validate_kra_pin(pin)


@pytest.mark.parametrize(
    "pin",
    [
        "",
        "p051234567X",
        "P051234567x",
        "B051234567X",
        "P05123456X",
        "P0512345678X",
        "P051234567",
        " P051234567X",
        "P051234567X ",
        "P051234567X\n",
        "P05123 567X",
        "P051234567X|",
        "P05123|567X",
        "|P051234567X",
        "P05123456\uff17X",  # full-width digit 7: \d would accept it
        "P051234567Ä",
        None,
        51234567,
    ],
)
def test_invalid_pins(pin: object) -> None:
    assert is_valid_kra_pin(pin) is False
    with pytest.raises(ValidationError) as exc:
        validate_kra_pin(pin)
    assert exc.value.code == "invalid_kra_pin"


def test_make_pin_helper_builds_valid_distinct_pins() -> None:
    pins = {make_pin(n) for n in range(100)}
    assert len(pins) == 100
    assert all(is_valid_kra_pin(p) for p in pins)


@pytest.mark.django_db
def test_model_validation_and_db_constraint_reject_bad_pins() -> None:
    trader = Trader(pin="P051234567X|", name="Bad")
    with pytest.raises(ValidationError) as exc:
        trader.full_clean()
    assert "pin" in exc.value.message_dict
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Trader.objects.create(pin="p051234567x", name="Bypass")
    assert not Trader.objects.filter(name="Bypass").exists()


def test_validator_works_in_drf_serializers() -> None:
    from rest_framework import serializers

    class PinSerializer(serializers.Serializer):
        pin = serializers.CharField(validators=[validate_kra_pin])

    good = PinSerializer(data={"pin": "P051234567X"})
    bad = PinSerializer(data={"pin": "P051234567X|"})
    assert good.is_valid() is True
    assert bad.is_valid() is False
    assert bad.errors["pin"][0].code == "invalid_kra_pin"
