import base64
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


PRODUCTION_SECRETS = {
    "SECRET_KEY": "k3y-" + "a1b2c3d4e5f6g7h8i9j0" * 3,
    "BANK_CALLBACK_SECRET": "bAnk-" + "Zq8vW2xP7rT4yU1iO9pA6sD3fG5hJ0kL",
    "RECEIPT_SIGNING_KEY": base64.b64encode(bytes(range(1, 33))).decode(),
}


def _run_settings(module: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("FORODHA_SANDBOX", "FORODHA_DEVELOPMENT_SECRETS", "FORODHA_CLOCK_PIN", *PRODUCTION_SECRETS)}
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
        "DATABASE_URL": "postgres://x@127.0.0.1/x", **PRODUCTION_SECRETS,
        "SECRET_KEY": "insecure-development-key-do-not-use"})
    assert weak.returncode != 0
    assert "SECRET_KEY must be set" in weak.stderr
    sandbox = _run_settings("config.settings.production", {
        "DATABASE_URL": "postgres://x@127.0.0.1/x", **PRODUCTION_SECRETS, "FORODHA_SANDBOX": "1"})
    assert sandbox.returncode != 0
    assert "Sandbox mode" in sandbox.stderr
    ok = _run_settings("config.settings.production", {"DATABASE_URL": "postgres://x@127.0.0.1/x", **PRODUCTION_SECRETS})
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "started"


def test_production_refuses_a_pinned_clock():
    pinned = _run_settings("config.settings.production", {
        "DATABASE_URL": "postgres://x@127.0.0.1/x", **PRODUCTION_SECRETS,
        "FORODHA_CLOCK_PIN": "2026-11-25T07:00:00+00:00@1764054000.0"})
    assert pinned.returncode != 0
    assert "FORODHA_CLOCK_PIN pins the clock for tests" in pinned.stderr


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("BANK_CALLBACK_SECRET", None, "BANK_CALLBACK_SECRET is the development default"),
    ("BANK_CALLBACK_SECRET", "", "BANK_CALLBACK_SECRET is empty"),
    ("BANK_CALLBACK_SECRET", "change-me-shared-with-the-bank", "BANK_CALLBACK_SECRET is the .env.example placeholder"),
    ("BANK_CALLBACK_SECRET", "short-but-random-9x", "BANK_CALLBACK_SECRET is shorter than 32 characters"),
    ("RECEIPT_SIGNING_KEY", None, "RECEIPT_SIGNING_KEY is empty"),
    ("RECEIPT_SIGNING_KEY", "change-me-base64-of-32-random-bytes", "RECEIPT_SIGNING_KEY is the .env.example"),
    ("RECEIPT_SIGNING_KEY", base64.b64encode(b"x" * 16).decode(), "RECEIPT_SIGNING_KEY is not the base64 of a 32-byte"),
    ("SECRET_KEY", "change-me-50-random-characters-change-me-50-random-chars", "SECRET_KEY must be set"),
])
def test_production_refuses_to_start_with_a_default_or_placeholder_secret(setting, value, message):
    # given production secrets where one is missing (None), empty, a default or a placeholder
    env = {"DATABASE_URL": "postgres://x@127.0.0.1/x", **PRODUCTION_SECRETS}
    if value is None:
        del env[setting]
    else:
        env[setting] = value
    # when the settings are imported (what gunicorn and Celery do)
    result = _run_settings("config.settings.production", env)
    # then it refuses to start and names the secret
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert message in result.stderr


def _manage_check(module: str, extra_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("FORODHA_SANDBOX", "FORODHA_DEVELOPMENT_SECRETS", "FORODHA_CLOCK_PIN", *PRODUCTION_SECRETS)}
    env.update({"DJANGO_SETTINGS_MODULE": module, **extra_env})
    return subprocess.run([sys.executable, "manage.py", "check", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_non_sandbox_settings_fail_the_system_check_on_development_secrets():
    # given the base settings outside a sandbox, with no secret configured
    result = _manage_check("config.settings.base", {})
    # then every manage.py command's checks fail, naming each default secret
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "(forodha.E001) SECRET_KEY is the development default." in out
    assert "(forodha.E002) BANK_CALLBACK_SECRET is the development default" in out
    assert "(forodha.E003) RECEIPT_SIGNING_KEY is empty" in out
    assert "(forodha.E004) RECEIPT_SIGNING_KEY_AUTOGENERATE is on" in out


def test_make_run_settings_pass_the_check_but_check_deploy_reports_the_defaults():
    # given the `make run` settings (embedded sandbox) with no environment at all
    plain = _manage_check("config.settings.local", {})
    deploy = _manage_check("config.settings.local", {}, "--deploy")
    # then the plain check passes (make run works) and the deployment check names the defaults
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "no issues" in plain.stdout
    assert deploy.returncode != 0
    out = deploy.stdout + deploy.stderr
    for check_id in ("forodha.E001", "forodha.E002", "forodha.E003", "forodha.E004"):
        assert out.count(f"({check_id})") == 1, out


def test_generate_secrets_output_passes_every_rule():
    # given
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_SECRETS}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    # when
    result = subprocess.run([sys.executable, "manage.py", "generate_secrets"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    # then KEY=value lines the production settings accept, and the object store's password
    assert result.returncode == 0, result.stderr
    lines = dict(line.split("=", 1) for line in result.stdout.split())
    assert sorted(lines) == ["BANK_CALLBACK_SECRET", "MINIO_ROOT_PASSWORD", "RECEIPT_SIGNING_KEY", "SECRET_KEY"]
    assert len(lines.pop("MINIO_ROOT_PASSWORD")) >= 32
    started = _run_settings("config.settings.production", {"DATABASE_URL": "postgres://x@127.0.0.1/x", **lines})
    assert started.returncode == 0, started.stderr


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
