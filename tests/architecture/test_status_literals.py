"""No status string literal outside the enums.

Every status field's values are spelled once, in its `TextChoices` enum; code compares, filters
and assigns with the enum members (`Status.PAID`, not "paid"), so renaming a value or grepping a
lifecycle finds every use. This test parses the source of every project app (AST, so comments and
docstrings do not count) and fails on a string constant that equals a value of a status enum and
stands where a status goes:

- a keyword argument `status=`, `status__in=`, `from_status=`, `to_status=` ...
  (`Q(status="paid")`, `.filter(status__in=["open"])`, `Event(to_status="closed")`);
- a comparison with a name or attribute ending in `status` (`d.status == "paid"`,
  `row["status"] in ("open", "closed")`);
- an assignment to such a name or attribute (`task.status = "done"`);
- a dict entry under the key "status" (`{"status": "paid"}`, e.g. `.update(**{...})`);
- anywhere, a tuple, list or set of two or more strings that are all values of one status field
  (`REJECTABLE = ("registered", "assessed")`: a set of statuses is written with enum members);
- a module's own constant for such a value, used where a status goes (`RELEASED = "released"`
  then `to_status == RELEASED`): a second spelling of the value, reported where it is bound.

Left out: migrations (they freeze the values of their day), the enum modules and the bodies of
`Choices` classes (where the values are defined), OpenAPI examples (`openapi.py` modules and
`*_example(...)` calls: the JSON a client receives, written as the client sees it), and `bench/`
(measurement scripts, not the app).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from django.apps import apps
from django.db import models

ROOT = Path(__file__).resolve().parents[2]
PROJECT_APPS = ("config", "core", "reference", "traders", "tariff", "manifests", "declarations", "risk", "clearance",
                "intake", "maintenance", "notifications", "sandbox", "transit", "officers")


def _is_status_name(name: str) -> bool:
    return name == "status" or name.endswith("_status")


def status_values() -> dict[str, set[str]]:
    """value -> the enum fields it belongs to, for every choices-bearing status/state field."""
    values: dict[str, set[str]] = {}
    for model in apps.get_models():
        if model.__module__.split(".")[0] not in PROJECT_APPS:
            continue
        for field in model._meta.get_fields():
            if not isinstance(field, models.CharField) or not field.choices:
                continue
            if not _is_status_name(field.name):
                continue
            for value, _label in field.flatchoices:
                values.setdefault(str(value), set()).add(f"{model._meta.label}.{field.name}")
    return values


def _key_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        return node.slice.value
    return None


def _strings(node: ast.AST | None) -> Iterator[ast.Constant]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        for element in node.elts:
            yield from _strings(element)
    elif isinstance(node, ast.Call) and _key_name(node.func) in {"frozenset", "set", "tuple", "list"}:
        for arg in node.args:
            yield from _strings(arg)


def _is_choices_class(node: ast.ClassDef) -> bool:
    return any((_key_name(base) or "").endswith("Choices") for base in node.bases)


def _aliases(tree: ast.AST, values: dict[str, set[str]]) -> dict[str, ast.Constant]:
    """Names bound to a status value in this module (`RELEASED = "released"`)."""
    aliases: dict[str, ast.Constant] = {}
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        value = getattr(node, "value", None)
        if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value in values:
            for target in targets:
                if isinstance(target, ast.Name):
                    aliases[target.id] = value
    return aliases


class _Finder(ast.NodeVisitor):
    def __init__(self, values: dict[str, set[str]], aliases: dict[str, ast.Constant] | None = None) -> None:
        self.values = values
        self.aliases = aliases or {}
        self.hits: list[tuple[int, str]] = []
        self.seen: set[int] = set()

    def _constants(self, node: ast.AST | None) -> Iterator[ast.Constant]:
        yield from _strings(node)
        names = node.elts if isinstance(node, (ast.List, ast.Tuple, ast.Set)) else [node]
        for name in names:
            if isinstance(name, ast.Name) and name.id in self.aliases:
                yield self.aliases[name.id]

    def _check(self, node: ast.AST | None) -> None:
        for constant in self._constants(node):
            if constant.value in self.values and id(constant) not in self.seen:
                self.seen.add(id(constant))
                self.hits.append((constant.lineno, constant.value))

    def _check_collection(self, node: ast.List | ast.Tuple | ast.Set) -> None:
        strings = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        if len(strings) >= 2 and len(strings) == len(node.elts) and all(v in self.values for v in strings):
            fields = set.intersection(*(self.values[v] for v in strings))
            if fields:
                self._check(node)
                return
        self.generic_visit(node)

    def visit_List(self, node: ast.List) -> None:
        self._check_collection(node)

    def visit_Tuple(self, node: ast.Tuple) -> None:
        self._check_collection(node)

    def visit_Set(self, node: ast.Set) -> None:
        self._check_collection(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if not _is_choices_class(node):
            self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        # Examples of the wire format in the OpenAPI schema (`answer_example(...)`, `OpenApiExample`)
        # show the JSON a client receives, not code that handles a status.
        if not (_key_name(node.func) or "").lower().endswith("example"):
            self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg and _is_status_name(node.arg.split("__")[0]):
            self._check(node.value)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        if any(_is_status_name(_key_name(operand) or "") for operand in operands):
            for operand in operands:
                self._check(operand)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(_is_status_name(_key_name(target) or "") for target in node.targets):
            self._check(node.value)
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and _is_status_name(key.value):
                self._check(value)
        self.generic_visit(node)




def source_files() -> Iterator[Path]:
    for app in PROJECT_APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts or path.name in {"enums.py", "openapi.py"}:
                continue
            yield path


def status_literals() -> list[str]:
    values = status_values()
    found = []
    for path in source_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        finder = _Finder(values, _aliases(tree, values))
        finder.visit(tree)
        for lineno, value in sorted(finder.hits):
            found.append(f"{path.relative_to(ROOT)}:{lineno}: {value!r} (use {' / '.join(sorted(values[value]))})")
    return found


def test_the_scan_sees_the_status_enums() -> None:
    # given / when
    values = status_values()

    # then: the values of the main lifecycles are known to the scan (else it would pass vacuously)
    for value, field in [("paid", "declarations.Declaration.status"), ("arrived", "manifests.Manifest.status"),
                         ("in_transit", "transit.TransitMovement.status"),
                         ("pending", "intake.BufferedSubmission.status")]:
        assert field in values[value]


def test_the_scan_finds_a_literal() -> None:
    # given: a line that compares a status with a string, and one that uses the enum
    finder = _Finder(status_values())
    tree = ast.parse("if d.status == 'paid':\n    pass\nif d.status == Status.PAID:\n    pass\n"
                     "qs.filter(status__in=['open', 'x'])\nt.status = 'closed'\nq.update(**{'status': 'lodged'})\n")

    # when
    finder.visit(tree)

    # then
    assert finder.hits == [(1, "paid"), (5, "open"), (6, "closed"), (7, "lodged")]


def test_the_scan_finds_a_module_constant_standing_for_a_status() -> None:
    # given: a subscriber naming another app's statuses with constants of its own (manifests did)
    values = status_values()
    tree = ast.parse('RELEASED = "released"\nCANCELLED: str = "cancelled"\nMODE = "auto"\n\n'
                     "def on(to_status, mode):\n    if to_status == RELEASED:\n        pass\n"
                     "    elif to_status in (CANCELLED, Move.REJECTED):\n        pass\n"
                     "    if mode == MODE:\n        pass\n")
    finder = _Finder(values, _aliases(tree, values))

    # when
    finder.visit(tree)

    # then: both constants are reported where they are bound; the enum member and a non-status are not
    assert sorted(finder.hits) == [(1, "released"), (2, "cancelled")]


def test_no_status_string_literal_outside_the_enums() -> None:
    # given / when
    found = status_literals()

    # then
    assert found == [], "Status string literals (use the enum member):\n" + "\n".join(found)
