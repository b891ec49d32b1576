"""The registry of check kinds is the one truth: the lab format's vocabulary, the JSON
schema editors use, docs/lab-format.md and what the registry's own entries name all
agree with it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from labrunner.lab.check_args import COMMON_FIELDS
from labrunner.lab.check_kinds import check_kinds, check_models
from labrunner.lab.json_schema import lab_json_schema
from labrunner.registry import registry
from tests.conftest import REPO

DOC = (REPO / "docs" / "lab-format.md").read_text(encoding="utf-8")
KINDS = registry().kinds


def section(kind: str) -> str:
    match = re.search(rf"^### `{re.escape(kind)}`\n(.*?)(?=^### |^## |\Z)", DOC, re.MULTILINE | re.DOTALL)
    assert match, f"docs/lab-format.md has no '### `{kind}`' section"
    return match.group(1)


def test_the_lab_format_knows_exactly_the_registered_kinds() -> None:
    assert check_kinds() == registry().kind_names
    assert check_models() == tuple(kind.model for kind in KINDS)


def test_the_json_schema_knows_exactly_the_registered_kinds() -> None:
    schema = lab_json_schema()
    kinds = {definition["properties"]["kind"]["const"] for definition in schema["$defs"].values()
             if "const" in (definition.get("properties") or {}).get("kind", {})}
    assert kinds == set(registry().kind_names)
    requirement_ids = set(schema["properties"]["requirements"]["items"]["enum"])
    assert requirement_ids == {requirement.id for requirement in registry().requirements}


def test_the_doc_has_a_section_for_exactly_the_registered_kinds() -> None:
    documented = set(re.findall(r"^### `([a-z0-9-]+)`$", DOC, re.MULTILINE))
    assert documented == set(registry().kind_names)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_every_argument_of_a_kind_is_documented(kind: Any) -> None:
    text = section(kind.name)
    for name in set(kind.model.model_fields) - COMMON_FIELDS:
        assert f"`{name}`" in text, f"the '{kind.name}' section of docs/lab-format.md does not mention `{name}`"


def test_every_requirement_is_documented_and_its_check_is_a_valid_declaration() -> None:
    for requirement in registry().requirements:
        assert f"`{requirement.id}`" in DOC, f"docs/lab-format.md does not list the requirement `{requirement.id}`"
        if requirement.check is not None:
            kind = registry().kind(str(requirement.check["kind"]))
            assert kind is not None, f"requirement {requirement.id} names an unregistered kind"
            kind.model.model_validate(dict(requirement.check))  # raises if the declaration is not valid


def test_what_kinds_watch_and_offer_is_registered() -> None:
    resources = {resource.plural for resource in registry().resources}
    views = {view.id for view in registry().views}
    for kind in KINDS:
        if isinstance(kind.watches, tuple):
            assert set(kind.watches) <= resources, kind.name
        assert "endpoints" not in (kind.watches if isinstance(kind.watches, tuple) else ()), \
            f"{kind.name} watches Endpoints: a probe pod a Service selects would re-trigger it for ever"
        assert set(kind.views) <= views, kind.name
    for view in registry().views:
        assert view.also_with <= set(registry().kind_names), view.id
