"""Supporting documents as files: upload (sniffed, capped, hashed), list, download as attachment."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from declarations.models import DeclarationDocument, DeclarationEvent
from tests.factories.declarations import World, body_im4

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 40 + b"\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 40
HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"


def _lodge(client: APIClient, world: World) -> str:
    response = client.post("/api/v1/declarations", body_im4(world, currency="KES"), format="json")
    assert response.status_code == 201, response.json()
    return str(response.json()["id"])


def _upload(client: APIClient, declaration_id: str, content: bytes, *, name: str = "invoice.pdf",
            content_type: str = "application/pdf", **fields: Any) -> Any:
    data = {"file": SimpleUploadedFile(name, content, content_type=content_type), "kind": "INV",
            "reference": "INV-2026-0042", **fields}
    return client.post(f"/api/v1/declarations/{declaration_id}/documents", data, format="multipart")


def test_an_agent_uploads_an_invoice_lists_it_and_downloads_it_as_an_attachment(client, world):
    # given
    declaration_id = _lodge(client, world)
    # when
    response = _upload(client, declaration_id, PDF, item="1")
    # then: 201 with what was stored, hashed over the exact bytes
    assert response.status_code == 201, response.json()
    body = response.json()
    document = DeclarationDocument.objects.get()
    assert body == {
        "id": str(document.pk), "kind": "INV", "reference": "INV-2026-0042", "item": 1, "filename": "invoice.pdf",
        "content_type": "application/pdf", "size": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest(),
        "uploaded_at": body["uploaded_at"],
        "content_url": f"/api/v1/declarations/{declaration_id}/documents/{document.pk}/content",
    }
    # the stored name is ours, not the client's, and the storage holds the same bytes
    assert document.file.name == f"declarations/{declaration_id}/{document.pk}.pdf"
    with storages["default"].open(document.file.name) as stored:
        assert stored.read() == PDF
    event = DeclarationEvent.objects.get(declaration_id=declaration_id, kind="document_uploaded")
    assert (event.actor_id, event.payload["sha256"]) == (world.user.pk, hashlib.sha256(PDF).hexdigest())
    # when: listed and downloaded
    listed = client.get(f"/api/v1/declarations/{declaration_id}/documents")
    content = client.get(body["content_url"])
    # then
    assert [d["id"] for d in listed.json()] == [str(document.pk)]
    assert content.status_code == 200
    assert b"".join(content.streaming_content) == PDF
    assert content["Content-Type"] == "application/pdf"
    assert content["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert content["X-Content-Type-Options"] == "nosniff"
    assert content["Content-Security-Policy"] == "default-src 'none'; sandbox; frame-ancestors 'none'"
    assert content["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(("content", "name", "content_type", "expected"), [
    (PNG, "scan.png", "image/png", "image/png"),
    (JPEG, "scan.jpg", "image/jpeg", "image/jpeg"),
    (PDF, "bill", "application/octet-stream", "application/pdf"),  # no claim: the bytes decide
])
def test_png_jpeg_and_unclaimed_pdf_are_accepted_by_their_content(client, world, content, name, content_type,
                                                                 expected):
    declaration_id = _lodge(client, world)
    response = _upload(client, declaration_id, content, name=name, content_type=content_type)
    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == expected


@pytest.mark.parametrize(("content", "name", "content_type", "code"), [
    (EXE, "invoice.pdf", "application/pdf", "unsupported_file_type"),
    (HTML, "invoice.html", "text/html", "unsupported_file_type"),
    (PNG, "invoice.pdf", "application/octet-stream", "content_type_mismatch"),  # the name claims PDF
    (PDF, "photo.png", "image/png", "content_type_mismatch"),  # the part claims PNG
    (b"", "empty.pdf", "application/pdf", "empty_file"),
])
def test_a_file_that_is_not_what_it_claims_or_not_allowed_is_refused_and_nothing_is_stored(
        client, world, content, name, content_type, code):
    declaration_id = _lodge(client, world)
    response = _upload(client, declaration_id, content, name=name, content_type=content_type)
    assert response.status_code == 400
    assert [(e["code"], e["pointer"]) for e in response.json()["errors"]] == [(code, "/file")]
    assert DeclarationDocument.objects.count() == 0
    assert not DeclarationEvent.objects.filter(kind="document_uploaded").exists()


def test_a_file_over_the_size_cap_is_refused(client, world, settings):
    # given
    settings.DECLARATION_DOCUMENT_MAX_BYTES = 64
    declaration_id = _lodge(client, world)
    # when
    response = _upload(client, declaration_id, PDF + b"0" * 64)
    # then
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "file_too_large"
    assert DeclarationDocument.objects.count() == 0


def test_bad_fields_unknown_item_and_unknown_fields_are_400_with_pointers(client, world):
    declaration_id = _lodge(client, world)
    bad_kind = _upload(client, declaration_id, PDF, kind="invoice!")
    unknown_item = _upload(client, declaration_id, PDF, item="7")
    unknown_field = _upload(client, declaration_id, PDF, colour="red")
    assert [(e["code"], e["pointer"]) for e in bad_kind.json()["errors"]] == [("invalid", "/kind")]
    assert [(e["code"], e["pointer"]) for e in unknown_item.json()["errors"]] == [("unknown_item", "/item")]
    assert [(e["code"], e["pointer"]) for e in unknown_field.json()["errors"]] == [("unknown_field", "/colour")]
    assert DeclarationDocument.objects.count() == 0


def test_another_agent_gets_404_for_upload_list_and_content(client, world, other_client):
    # given
    declaration_id = _lodge(client, world)
    document_id = _upload(client, declaration_id, PDF).json()["id"]
    # when / then
    assert _upload(other_client, declaration_id, PDF).status_code == 404
    assert other_client.get(f"/api/v1/declarations/{declaration_id}/documents").status_code == 404
    content = other_client.get(f"/api/v1/declarations/{declaration_id}/documents/{document_id}/content")
    assert content.status_code == 404
    assert content.json()["code"] == "document_not_found"
    assert DeclarationDocument.objects.count() == 1


def test_a_cancelled_declaration_takes_no_more_documents(client, world):
    declaration_id = _lodge(client, world)
    assert client.post(f"/api/v1/declarations/{declaration_id}/cancel", {}, format="json").status_code == 200
    response = _upload(client, declaration_id, PDF)
    assert response.status_code == 409
    assert response.json()["code"] == "declaration_closed"
    assert DeclarationDocument.objects.count() == 0


def _storage_class(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3_", "DOCUMENTS_STORAGE"))}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.local", **extra_env})
    code = ("import django; django.setup(); from django.core.files.storage import storages; s = storages['default']; "
            "print(type(s).__module__ + '.' + type(s).__name__, getattr(s, 'bucket_name', ''), "
            "getattr(s, 'endpoint_url', ''), getattr(s, 'default_acl', 'x'))")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_the_storage_is_the_filesystem_by_default_and_s3_compatible_when_configured():
    # given / when: the embedded default, then the docker-compose configuration (MinIO)
    default = _storage_class({})
    s3 = _storage_class({"DOCUMENTS_STORAGE": "s3", "S3_BUCKET": "forodha-documents",
                         "S3_ENDPOINT_URL": "http://minio:9000", "S3_ACCESS_KEY_ID": "forodha",
                         "S3_SECRET_ACCESS_KEY": "not-a-real-secret"})
    unknown = _storage_class({"DOCUMENTS_STORAGE": "ftp"})
    # then
    assert default.stdout.split()[0] == "django.core.files.storage.filesystem.FileSystemStorage", default.stderr
    assert s3.stdout.split() == ["storages.backends.s3.S3Storage", "forodha-documents", "http://minio:9000",
                                 "None"], s3.stderr
    assert unknown.returncode != 0
    assert "DOCUMENTS_STORAGE must be 'filesystem' or 's3'" in unknown.stderr
