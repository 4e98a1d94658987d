import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_live_is_ok_without_auth():
    response = APIClient().get("/api/v1/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {}}


@pytest.mark.django_db
def test_ready_checks_database_and_broker(redis_service):
    response = APIClient().get("/api/v1/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_ready_fails_when_broker_is_down(monkeypatch):
    # given a broker address where nothing listens
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = APIClient().get("/api/v1/health/ready")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert response["Content-Type"] == "application/problem+json"
    assert body["code"] == "not_ready"
    assert body["checks"] == {"database": "ok", "broker": "fail: OperationalError"}
    assert [e["code"] for e in body["errors"]] == ["broker_unavailable"]


@pytest.mark.django_db
def test_ready_fails_when_database_is_down(monkeypatch, redis_service):
    from django.db import connection

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = APIClient().get("/api/v1/health/ready")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["checks"] == {"database": "fail: OperationalError", "broker": "ok"}


def _run_settings(module: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "FORODHA_SANDBOX", "FORODHA_CLOCK_PIN")}
    env.update({"DJANGO_SETTINGS_MODULE": module, **extra_env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def test_production_refuses_to_start_without_a_secret():
    result = _run_settings("config.settings.production", {"DATABASE_URL": "postgres://x@127.0.0.1/x"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_the_development_secret_and_sandbox_mode():
    weak = _run_settings("config.settings.production", {
        "DATABASE_URL": "postgres://x@127.0.0.1/x", "SECRET_KEY": "insecure-development-key-do-not-use"})
    assert weak.returncode != 0
    assert "SECRET_KEY must be set" in weak.stderr
    good_secret = "k3y-" + "a1b2c3d4e5f6g7h8i9j0" * 3
    sandbox = _run_settings("config.settings.production", {
        "DATABASE_URL": "postgres://x@127.0.0.1/x", "SECRET_KEY": good_secret, "FORODHA_SANDBOX": "1"})
    assert sandbox.returncode != 0
    assert "Sandbox mode" in sandbox.stderr
    ok = _run_settings("config.settings.production", {
        "DATABASE_URL": "postgres://x@127.0.0.1/x", "SECRET_KEY": good_secret})
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "started"


def test_production_refuses_a_pinned_clock():
    good_secret = "k3y-" + "a1b2c3d4e5f6g7h8i9j0" * 3
    pinned = _run_settings("config.settings.production", {
        "DATABASE_URL": "postgres://x@127.0.0.1/x", "SECRET_KEY": good_secret,
        "FORODHA_CLOCK_PIN": "2026-11-25T07:00:00+00:00@1764054000.0"})
    assert pinned.returncode != 0
    assert "FORODHA_CLOCK_PIN pins the clock for tests" in pinned.stderr


def test_time_settings():
    from django.conf import settings

    assert settings.TIME_ZONE == "Africa/Nairobi"
    assert settings.USE_TZ is True


def test_openapi_schema_validates_without_warnings():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", os.devnull],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.django_db
def test_schema_and_docs_are_served(admin_client):
    schema = APIClient().get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/health/ready" in schema.content
    docs = APIClient().get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
