"""The JSON Schema of ``lab.yaml``, generated from the models, for editors.

Committed as ``labs/lab.schema.json``; a test keeps the file in step with the
models. Regenerate with ``labrunner schema > labs/lab.schema.json``.
"""

from __future__ import annotations

from typing import Any

from labrunner.lab.schema import LabFile

SCHEMA_ID = "https://labrunner.dev/schemas/lab.schema.json"


def lab_json_schema() -> dict[str, Any]:
    schema = LabFile.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "labrunner lab",
        "description": "A labrunner lab: labs/<id>/lab.yaml. See docs/lab-format.md.",
        **{key: value for key, value in schema.items() if key not in ("title", "description")},
    }
