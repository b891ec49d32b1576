"""labs/lab.schema.json is what editors validate lab files against: it must say
exactly what the loader accepts."""

from __future__ import annotations

import json

from labrunner.lab.json_schema import lab_json_schema
from tests.conftest import REPO


def test_committed_schema_matches_the_models() -> None:
    committed = json.loads((REPO / "labs" / "lab.schema.json").read_text(encoding="utf-8"))
    assert committed == lab_json_schema(), "regenerate it: labrunner schema > labs/lab.schema.json"


def test_schema_refuses_unknown_keys() -> None:
    schema = lab_json_schema()
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["StepFile"]["additionalProperties"] is False
