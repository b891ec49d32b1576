"""A pytest plugin for benchmarks/diagnosis_length.py: every failing check's message, appended
as a JSON line to $LABRUNNER_DIAGNOSIS_RECORD, from the runner (what the learner reads) and from
kinds run directly through the registry (modules that call a kind's function themselves).
Loaded with ``-p diagnosis_recorder``, benchmarks/ on PYTHONPATH; never by the suite."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import pytest

_FILE = os.environ.get("LABRUNNER_DIAGNOSIS_RECORD")


_inside_runner: list[bool] = []


def _write(kind: str, message: str, details: list[str] | tuple[str, ...], namespace: object) -> None:
    if not _FILE:
        return
    evidence = next((line for line in details if line.startswith("yours ")), None)
    before = f"your policies in {namespace} do not mean what this step asks: {evidence}" if kind == "policy-meaning" and evidence else None
    with open(_FILE, "a", encoding="utf-8") as out:
        out.write(json.dumps({"kind": kind, "message": message, "before": before}) + "\n")


@pytest.hookimpl
def pytest_configure(config: pytest.Config) -> None:
    from labrunner.checks import runner
    from labrunner.registry import Registry

    original_run_check = runner.run_check
    last: dict[str, Any] = {}

    def run_check(check: Any, *args: Any, **kwargs: Any) -> Any:
        _inside_runner.append(True)
        try:
            result = original_run_check(check, *args, **kwargs)
        finally:
            _inside_runner.pop()
        if result.status == "failed":
            _write(check.kind, result.message, result.details, last.get("namespace"))
        return result

    runner.run_check = run_check  # type: ignore[assignment]
    original_kind = Registry.kind

    def kind(self: Any, name: str) -> Any:
        found = original_kind(self, name)
        if found is None:
            return None
        run = found.run

        def recorded(arguments: Any, context: Any) -> Any:
            outcome = run(arguments, context)
            last["namespace"] = getattr(arguments, "namespace", None)
            if outcome[0] == "failed" and not _inside_runner:
                _write(name, outcome[1], outcome[2], last["namespace"])
            return outcome

        return dataclasses.replace(found, run=recorded)

    Registry.kind = kind  # type: ignore[method-assign]
