"""Running a step's checks: every declared check, never an exception out."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from labrunner.checks.result import CheckResult
from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.lab.model import Check, Step
from labrunner.registry import CheckContext, registry

log = logging.getLogger("labrunner.checks")


def run_check(check: Check, step: Step, cluster: ClusterPort, parameters: Mapping[str, str] | None = None) -> CheckResult:
    kinds = registry()
    kind = kinds.kind(check.kind)
    if kind is None:
        return CheckResult(check.id, check.says, "error", f"labrunner does not know the check kind {check.kind!r}", advisory=check.advisory)
    try:
        status, message, details = kind.run(kinds.arguments(check), CheckContext(cluster, dict(parameters or {})))
    except errors.ClusterError as failure:
        return CheckResult(check.id, check.says, "error", failure.message, (failure.hint,) if failure.hint else (),
                           hint=failure.hint or None, advisory=check.advisory, cluster_lost=failure.cluster_lost)
    except Exception as failure:  # a bug in a check must not stop the others
        log.exception("check %s failed", check.id)
        return CheckResult(check.id, check.says, "error", f"the check itself failed ({type(failure).__name__}: {failure}); this is a bug in labrunner",
                           advisory=check.advisory)
    hint = step.hints[0] if status in ("failed", "pending") and step.hints else None
    return CheckResult(check.id, check.says, status, message, tuple(details), hint, check.advisory)


def run_step(step: Step, cluster: ClusterPort, parameters: Mapping[str, str] | None = None) -> list[CheckResult]:
    return [run_check(check, step, cluster, parameters) for check in step.checks]
