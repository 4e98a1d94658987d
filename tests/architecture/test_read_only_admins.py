"""A read-only admin says so once: `core.admin.ReadOnlyAdminMixin`, not its own copies of
`has_add_permission` / `has_change_permission` / `has_delete_permission` returning False.

Introspection of every admin registered on the officer site and of their inlines. A class is
read-only by hand when, outside the mixin, it refuses with a constant False both adding and
changing, or refuses adding while every field of its model is in a static `readonly_fields` (and it
composes no form of its own: no `get_fields` / `get_form` / `get_readonly_fields`). Refusing one
thing alone stays allowed: "no delete: revoke instead", "no add: opened by the reconciliation
only, closed in the form".
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Iterator
from typing import Any

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin

PROJECT_APPS = {"core", "reference", "traders", "tariff", "intake", "notifications", "maintenance", "manifests",
                "declarations", "risk", "clearance", "transit", "officers", "sandbox"}
PERMISSIONS = ("has_add_permission", "has_change_permission", "has_delete_permission")
FORM_HOOKS = ("get_fields", "get_form", "get_readonly_fields", "get_formset")

def _returns_false(function: Any) -> bool:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # docstring
    return (len(body) == 1 and isinstance(body[0], ast.Return) and isinstance(body[0].value, ast.Constant)
            and body[0].value.value is False)


def _own_classes(cls: type) -> list[type]:
    """The project's classes in `cls`'s MRO, the mixin left out (Django's own are not looked at)."""
    return [klass for klass in cls.__mro__
            if klass is not ReadOnlyAdminMixin and klass.__module__.split(".")[0] in PROJECT_APPS]


def refused_by_hand(cls: type) -> set[str]:
    """The permissions `cls` refuses with a constant False in a class of its own (not the mixin)."""
    refused = set()
    for name in PERMISSIONS:
        owner = next((klass for klass in cls.__mro__ if name in vars(klass)), None)
        if owner in _own_classes(cls) and _returns_false(vars(owner)[name]):
            refused.add(name)
    return refused


def read_only_by_hand(cls: type, model: Any) -> bool:
    refused = refused_by_hand(cls)
    if {"has_add_permission", "has_change_permission"} <= refused:
        return True
    if "has_add_permission" not in refused:
        return False
    if any(hook in vars(klass) for klass in _own_classes(cls) for hook in FORM_HOOKS):
        return False  # composes its own form (an editable field of the form, not of the model)
    return {field.name for field in model._meta.fields} <= set(getattr(cls, "readonly_fields", ()))


def admin_classes() -> Iterator[tuple[type, Any]]:
    for model, model_admin in admin.site._registry.items():
        yield type(model_admin), model
        for inline in model_admin.inlines:
            yield inline, inline.model


def test_the_check_sees_a_hand_made_read_only_admin() -> None:
    # given: the two shapes the apps had (add and change refused; add refused, every field read-only)
    from notifications.models import Notification

    class Refusing(admin.ModelAdmin):
        def has_add_permission(self, request: Any) -> bool:
            return False

        def has_change_permission(self, request: Any, obj: Any = None) -> bool:
            return False

    class AllReadOnly(admin.ModelAdmin):
        readonly_fields = [f.name for f in Notification._meta.fields]

        def has_add_permission(self, request: Any) -> bool:
            return False  # comes from the services

    class NoDelete(admin.ModelAdmin):
        def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
            return False  # revoke instead

    class WithMixin(ReadOnlyAdminMixin, admin.ModelAdmin):
        pass

    for cls in (Refusing, AllReadOnly, NoDelete, WithMixin):
        cls.__module__ = "notifications.admin"

    # when / then
    assert read_only_by_hand(Refusing, Notification) is True
    assert read_only_by_hand(AllReadOnly, Notification) is True
    assert read_only_by_hand(NoDelete, Notification) is False
    assert read_only_by_hand(WithMixin, Notification) is False


def test_no_admin_is_read_only_by_hand() -> None:
    # given / when
    found = sorted({f"{cls.__module__}.{cls.__qualname__}" for cls, model in admin_classes()
                    if read_only_by_hand(cls, model)})

    # then
    assert found == [], "Use core.admin.ReadOnlyAdminMixin:\n" + "\n".join(found)
