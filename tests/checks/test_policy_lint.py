"""The policy-lint check reads the learner's own file, where the lab told them to write it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labrunner.registry import CheckContext
from labrunner.topics.networkpolicy.checks import PolicyLint, policy_lint
from tests.conftest import REPO

ASSETS = REPO / "assets" / "networkpolicies"


def test_missing_then_broken_then_repaired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = PolicyLint(kind="policy-lint", says="your file has no mistakes", file="ingress-egress-policy.yaml")
    status, message, _ = policy_lint(args, CheckContext(None))  # type: ignore[arg-type]  # the file check needs no cluster
    assert status == "pending" and "ingress-egress-policy.yaml is not in" in message and str(tmp_path) in message

    shutil.copy(ASSETS / "ingress-egress-policy-broken.yaml", tmp_path / "ingress-egress-policy.yaml")
    status, message, details = policy_lint(args, CheckContext(None))  # type: ignore[arg-type]  # the file check needs no cluster
    assert status == "failed" and message.startswith("ingress-egress-policy.yaml has 4 mistakes")
    assert any(line.startswith("line 19: error:") and "indent `- namespaceSelector:`" in line for line in details)

    shutil.copy(ASSETS / "ingress-egress-policy.yaml", tmp_path / "ingress-egress-policy.yaml")
    status, message, details = policy_lint(args, CheckContext(None))  # type: ignore[arg-type]  # the file check needs no cluster
    assert status == "passed" and "no mistakes the linter knows (2 remarks)" in message
    assert any("DNS" in line for line in details)

    (tmp_path / "ingress-egress-policy.yaml").write_text("kind: NetworkPolicy\nspec:\n  podSelector: {\n")
    status, message, _ = policy_lint(args, CheckContext(None))  # type: ignore[arg-type]  # the file check needs no cluster
    assert status == "failed" and "cannot be read: line" in message
