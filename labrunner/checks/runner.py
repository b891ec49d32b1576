"""Running a step's checks: every declared check, never an exception out.

A failing check whose expected object (:meth:`labrunner.registry.Registry.expected`) is absent
leads with what exists instead, the near miss (:mod:`labrunner.checks.nearmiss`): "deployment
mysql is not in networkdemo: there is a Deployment mysql in default (applied without -n
networkdemo?)", the check's own message kept as the first detail. Only failing checks pay for
the search.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from labrunner.checks.nearmiss import NearMiss, near_object
from labrunner.checks.result import CheckResult
from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.lab.model import Check, Step
from labrunner.registry import CheckContext, Registry, registry

log = logging.getLogger("labrunner.checks")


@dataclass(frozen=True)
class Checked:
    """A check's verdict as shown, as the check itself said it, and the near miss found."""

    result: CheckResult
    """What a learner sees: led by the near miss when the check did not say it itself."""
    own: CheckResult
    """What the check's function said."""
    near_miss: NearMiss | None = None


def run_check(check: Check, step: Step, cluster: ClusterPort, parameters: Mapping[str, str] | None = None) -> CheckResult:
    return checked(check, step, cluster, parameters).result


def checked(check: Check, step: Step, cluster: ClusterPort, parameters: Mapping[str, str] | None = None) -> Checked:
    """``run_check``, with the check's own verdict and the near miss apart (the exam's review words them its own way)."""
    kinds = registry()
    context = CheckContext(cluster, dict(parameters or {}))
    own = _run(kinds, check, step, context)
    if own.status != "failed":
        return Checked(own, own)
    try:
        near = _near_miss(kinds, check, context, own)
    except Exception:  # the search is a courtesy: a bug in it must not hide the verdict
        log.exception("near-miss search for check %s failed", check.id)
        near = None
    if near is None:
        return Checked(own, own)
    if near.said_in(" ".join((own.message, *own.details))):
        return Checked(own, own, near)
    return Checked(replace(own, message=near.sentence, details=(own.message, *own.details)), own, near)


def _run(kinds: Registry, check: Check, step: Step, context: CheckContext) -> CheckResult:
    kind = kinds.kind(check.kind)
    if kind is None:
        return CheckResult(check.id, check.says, "error", f"labrunner does not know the check kind {check.kind!r}", advisory=check.advisory)
    try:
        status, message, details = kind.run(kinds.arguments(check), context)
    except errors.ClusterError as failure:
        return CheckResult(check.id, check.says, "error", failure.message, (failure.hint,) if failure.hint else (),
                           hint=failure.hint or None, advisory=check.advisory, cluster_lost=failure.cluster_lost)
    except Exception as failure:  # a bug in a check must not stop the others
        log.exception("check %s failed", check.id)
        return CheckResult(check.id, check.says, "error", f"the check itself failed ({type(failure).__name__}: {failure}); this is a bug in labrunner",
                           advisory=check.advisory)
    hint = step.hints[0] if status in ("failed", "pending") and step.hints else None
    return CheckResult(check.id, check.says, status, message, tuple(details), hint, check.advisory)


def _near_miss(kinds: Registry, check: Check, context: CheckContext, result: CheckResult) -> NearMiss | None:
    """The first expected object that is absent and has a near miss; those the check's message
    names are looked at first, and when it names any, only those (its complaint is about them).
    What the check itself asked of ``context.near_object`` is not searched again."""
    expected = kinds.expected(check)
    if not expected:
        return None
    words = set(re.findall(r"[a-z0-9][a-z0-9.-]*[a-z0-9]|[a-z0-9]", result.message))
    named = [item for item in expected if item[1] in words]
    for item in named or expected:
        near = context.near_misses[item] if item in context.near_misses else near_object(context.cluster, *item)
        if near is not None:
            return near
    return None


def run_step(step: Step, cluster: ClusterPort, parameters: Mapping[str, str] | None = None) -> list[CheckResult]:
    return [run_check(check, step, cluster, parameters) for check in step.checks]
