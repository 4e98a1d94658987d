"""Pieces written once and shared: the read-only admin mixin and the one problem+json schema."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from drf_spectacular.generators import SchemaGenerator

from core.admin import ReadOnlyAdminMixin

pytestmark = pytest.mark.django_db


def test_every_read_only_admin_refuses_add_change_and_delete_even_to_a_superuser() -> None:
    # given
    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.create_superuser(username="root", password="x" * 16)
    read_only = {type(model_admin).__name__: model_admin for model_admin in admin.site._registry.values()
                 if isinstance(model_admin, ReadOnlyAdminMixin)}

    # when / then: the four apps that had their own copy of the block use the one mixin
    assert {"DeclarationAdmin", "DocumentaryCheckQueueAdmin", "TransitMovementAdmin", "CrspEntryAdmin",
            "BufferedSubmissionAdmin"} <= set(read_only)
    for name, model_admin in read_only.items():
        assert model_admin.has_add_permission(request) is False, name
        assert model_admin.has_change_permission(request) is False, name
        assert model_admin.has_delete_permission(request) is False, name
        assert model_admin.has_view_permission(request) is True, name


def test_the_inlines_are_read_only_too() -> None:
    from manifests.admin import ManifestEventInline
    from tariff.admin import ExemptionCertificateChangeInline, ExemptionDrawdownInline

    request = RequestFactory().get("/admin/")
    for inline in (ManifestEventInline, ExemptionCertificateChangeInline, ExemptionDrawdownInline):
        assert issubclass(inline, ReadOnlyAdminMixin)
        instance = inline(inline.model, admin.site)
        assert (instance.has_add_permission(request, None), instance.has_change_permission(request, None),
                instance.has_delete_permission(request, None)) == (False, False, False)


def test_the_schema_has_one_problem_component() -> None:
    # given / when
    schema = SchemaGenerator().get_schema(request=None, public=True)

    # then: every problem answer points at `Problem` (with its `ProblemError` items), no other shape
    components = schema["components"]["schemas"]
    assert sorted(name for name in components if "problem" in name.lower()) == ["Problem", "ProblemError"]
    refs = {media["schema"]["$ref"]
            for path in schema["paths"].values() for operation in path.values() if isinstance(operation, dict)
            for status, response in operation.get("responses", {}).items() if int(status) >= 400
            for media in response.get("content", {}).values()}
    assert refs == {"#/components/schemas/Problem"}
