"""docs/lab-format.md documents every check kind and every argument it takes."""

from __future__ import annotations

import re

import pytest

from labrunner.lab.check_kinds import CHECK_MODELS
from tests.conftest import REPO

DOC = (REPO / "docs" / "lab-format.md").read_text(encoding="utf-8")
COMMON = {"kind", "says", "id", "advisory"}


def section(kind: str) -> str:
    match = re.search(rf"^### `{re.escape(kind)}`\n(.*?)(?=^### |^## |\Z)", DOC, re.MULTILINE | re.DOTALL)
    assert match, f"docs/lab-format.md has no '### `{kind}`' section"
    return match.group(1)


@pytest.mark.parametrize("model", CHECK_MODELS, ids=lambda model: model.model_fields["kind"].annotation.__args__[0])
def test_every_check_kind_and_argument_is_documented(model: type) -> None:
    kind = model.model_fields["kind"].annotation.__args__[0]
    text = section(kind)
    for name in set(model.model_fields) - COMMON:
        assert f"`{name}`" in text, f"the '{kind}' section of docs/lab-format.md does not mention `{name}`"
