import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.core.test_health_and_settings import PRODUCTION_SECRETS

pytestmark = pytest.mark.urls("tests.core.urls")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tight_rates(settings):
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {"user": "3/min", "anon": "2/min"}
    settings.REST_FRAMEWORK = rest
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_each_token_has_its_own_budget_and_429_is_a_problem(tight_rates):
    user = User.objects.create_user("staff", password="x")
    first = APIClient()
    first.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    codes = [first.get("/api/v1/test/conflict").status_code for _ in range(4)]
    # 3 requests pass the throttle (and reach the view's 409), the 4th is throttled
    assert codes == [409, 409, 409, 429]
    throttled = first.get("/api/v1/test/conflict")
    assert throttled["Content-Type"] == "application/problem+json"
    assert json.loads(throttled.content)["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    # another staff member of the same firm is not starved
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=User.objects.create_user('b')).key}")
    assert other.get("/api/v1/test/conflict").status_code == 409


@pytest.mark.django_db
def test_security_headers_on_api_responses():
    response = APIClient().get("/api/v1/health/live")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_check_deploy_is_clean_with_production_settings():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production",
           "SECRET_KEY": "k3y-" + "Zq8vW2xP7rT4yU1iO9pA6sD3fG5hJ0kL" * 2,
           "BANK_CALLBACK_SECRET": "bAnk-" + "Zq8vW2xP7rT4yU1iO9pA6sD3fG5hJ0kL",
           "RECEIPT_SIGNING_KEY": "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
           "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/forodha",
           # Real partner keys (production refuses ones derived from SECRET_KEY): the same set as
           # the production-settings tests use.
           "TRANSIT_SIGNING_KEY": PRODUCTION_SECRETS["TRANSIT_SIGNING_KEY"],
           "TRANSIT_PARTNERS": PRODUCTION_SECRETS["TRANSIT_PARTNERS"]}
    env.pop("FORODHA_SANDBOX", None)
    env.pop("FORODHA_CLOCK_PIN", None)  # the tests' pinned clock; production refuses it
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
