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
from core.secrets import secret_problems, transit_derived_key

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


def _public_key(seed: int) -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = Ed25519PrivateKey.from_private_bytes(bytes(range(seed, seed + 32))).public_key()
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


# Keys agreed with each partner state (HMAC secrets shared, the partners' Ed25519 public keys).
REAL_PARTNERS = {
    "UG": {"name": "URA", "scheme": "hmac", "endpoint": "", "secret": "ug-" + "Qw3rTy7uIo9pAs1dFg5hJk2lZx8cVb4n"},
    "RW": {"name": "RRA", "scheme": "ed25519", "endpoint": "", "public_key": _public_key(100)},
}
PRODUCTION_SECRETS = {
    "SECRET_KEY": "k3y-" + "a1b2c3d4e5f6g7h8i9j0" * 3,
    "BANK_CALLBACK_SECRET": "bAnk-" + "Zq8vW2xP7rT4yU1iO9pA6sD3fG5hJ0kL",
    "RECEIPT_SIGNING_KEY": base64.b64encode(bytes(range(1, 33))).decode(),
    "TRANSIT_SIGNING_KEY": base64.b64encode(bytes(range(50, 82))).decode(),
    "TRANSIT_PARTNERS": json.dumps(REAL_PARTNERS),
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
    ("TRANSIT_SIGNING_KEY", None, "TRANSIT_SIGNING_KEY is empty (a key derived from SECRET_KEY"),
    ("TRANSIT_SIGNING_KEY", base64.b64encode(transit_derived_key(PRODUCTION_SECRETS["SECRET_KEY"], "forodha")).decode(),
     "TRANSIT_SIGNING_KEY is the key derived from SECRET_KEY"),
    ("TRANSIT_PARTNERS", None, "TRANSIT_PARTNERS UG: the HMAC secret is empty (derived from SECRET_KEY"),
    ("TRANSIT_PARTNERS", json.dumps({**REAL_PARTNERS, "UG": {**REAL_PARTNERS["UG"], "secret": ""}}),
     "TRANSIT_PARTNERS UG: the HMAC secret is empty"),
    ("TRANSIT_PARTNERS", json.dumps({**REAL_PARTNERS, "RW": {**REAL_PARTNERS["RW"], "public_key": ""}}),
     "TRANSIT_PARTNERS RW: the Ed25519 public key is empty"),
    ("TRANSIT_PARTNERS", json.dumps({**REAL_PARTNERS, "UG": {**REAL_PARTNERS["UG"], "secret": "change-me-shared"}}),
     "TRANSIT_PARTNERS UG: the HMAC secret is the .env.example placeholder"),
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
    assert "(forodha.E005) TRANSIT_SIGNING_KEY is empty" in out
    # every default partner's key is empty, so derived from SECRET_KEY: one error each
    for code in ("BI", "CD", "SS", "UG"):
        assert f"(forodha.E006) TRANSIT_PARTNERS {code}: the HMAC secret is empty" in out
    for code in ("RW", "TZ"):
        assert f"(forodha.E006) TRANSIT_PARTNERS {code}: the Ed25519 public key is empty" in out


def test_make_run_settings_pass_the_check_but_check_deploy_reports_the_defaults():
    # given the `make run` settings (embedded sandbox) with no environment at all
    plain = _manage_check("config.settings.local", {})
    deploy = _manage_check("config.settings.local", {}, "--deploy")
    # then the plain check passes (make run works) and the deployment check names the defaults
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "no issues" in plain.stdout
    assert deploy.returncode != 0
    out = deploy.stdout + deploy.stderr
    for check_id in ("forodha.E001", "forodha.E002", "forodha.E003", "forodha.E004", "forodha.E005"):
        assert out.count(f"({check_id})") == 1, out
    assert out.count("(forodha.E006)") == 6, out


def test_generate_secrets_output_passes_every_rule():
    # given
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_SECRETS}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    # when
    result = subprocess.run([sys.executable, "manage.py", "generate_secrets"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    # then KEY=value lines, and the object store's password
    assert result.returncode == 0, result.stderr
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert sorted(lines) == ["BANK_CALLBACK_SECRET", "MINIO_ROOT_PASSWORD", "RECEIPT_SIGNING_KEY", "SECRET_KEY",
                             "TRANSIT_PARTNERS", "TRANSIT_SIGNING_KEY"]
    assert len(lines.pop("MINIO_ROOT_PASSWORD")) >= 32
    partners = json.loads(lines["TRANSIT_PARTNERS"].strip("'"))
    assert {code: sorted(p) for code, p in partners.items()} == {
        **{code: ["endpoint", "name", "scheme", "secret"] for code in ("BI", "CD", "SS", "UG")},
        **{code: ["endpoint", "name", "public_key", "scheme"] for code in ("RW", "TZ")},
    }
    # the Ed25519 partners' public keys can only come from them: production refuses the placeholders
    lines["TRANSIT_PARTNERS"] = json.dumps(partners)
    refused = _run_settings("config.settings.production", {"DATABASE_URL": "postgres://x@127.0.0.1/x", **lines})
    assert refused.returncode != 0
    assert "TRANSIT_PARTNERS RW: the Ed25519 public key is the .env.example placeholder" in refused.stderr
    assert "TRANSIT_PARTNERS TZ: the Ed25519 public key is the .env.example placeholder" in refused.stderr
    assert "UG:" not in refused.stderr
    assert "TRANSIT_SIGNING_KEY" not in refused.stderr
    # and with them filled in, every generated value is accepted
    partners["RW"]["public_key"], partners["TZ"]["public_key"] = _public_key(100), _public_key(140)
    lines["TRANSIT_PARTNERS"] = json.dumps(partners)
    started = _run_settings("config.settings.production", {"DATABASE_URL": "postgres://x@127.0.0.1/x", **lines})
    assert started.returncode == 0, started.stderr


def test_derived_transit_keys_are_refused_even_when_written_out():
    # given settings that spell out the keys transit would derive from SECRET_KEY
    from types import SimpleNamespace

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    secret_key = PRODUCTION_SECRETS["SECRET_KEY"]
    simulated_rw = Ed25519PrivateKey.from_private_bytes(transit_derived_key(secret_key, "partner:RW")).public_key()
    config = SimpleNamespace(**{
        **PRODUCTION_SECRETS,
        "TRANSIT_SIGNING_KEY": base64.b64encode(transit_derived_key(secret_key, "forodha")).decode(),
        "TRANSIT_PARTNERS": {
            "UG": {"scheme": "hmac", "secret": transit_derived_key(secret_key, "hmac:UG").hex()},
            "SS": {"scheme": "hmac", "secret": base64.b64encode(transit_derived_key(secret_key, "hmac:SS")).decode()},
            "RW": {"scheme": "ed25519",
                   "public_key": base64.b64encode(simulated_rw.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()},
            "TZ": {"scheme": "ed25519", "public_key": _public_key(140)},
            "XX": {"scheme": "rot13"},
        },
    })
    # when
    problems = secret_problems(config)
    # then each derived key is named, the real one (TZ) is not, nor any other secret
    assert [(p.check_id, p.message) for p in problems] == [
        ("forodha.E005", "TRANSIT_SIGNING_KEY is the key derived from SECRET_KEY (development and sandboxes only): "
                         "messages to Ed25519 partner states would be signed with it."),
        ("forodha.E006", "TRANSIT_PARTNERS RW: the Ed25519 public key is the simulated partner's key, derived from "
                         "SECRET_KEY (development and sandboxes only); anyone could sign that partner's messages."),
        ("forodha.E006", "TRANSIT_PARTNERS SS: the HMAC secret is the key derived from SECRET_KEY (development and "
                         "sandboxes only); anyone could sign that partner's messages."),
        ("forodha.E006", "TRANSIT_PARTNERS UG: the HMAC secret is the key derived from SECRET_KEY (development and "
                         "sandboxes only); anyone could sign that partner's messages."),
        ("forodha.E006", "TRANSIT_PARTNERS XX: the scheme 'rot13' is not hmac or ed25519; anyone could sign that "
                         "partner's messages."),
    ]
    # and the real configuration passes every rule
    assert secret_problems(SimpleNamespace(**{**PRODUCTION_SECRETS,
                                              "TRANSIT_PARTNERS": REAL_PARTNERS})) == []


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
