"""kube-scheduler's decisions as pure functions over pod and node dicts: no store, no HTTP.

:func:`schedule` runs the default profile's filters (``filters.FILTERS``) on every node, scores
the feasible ones (``scores.SCORES``) and picks the best; when none is feasible it returns the
:class:`FitError` whose text is the FailedScheduling event's, and what preemption would do
(``preemption.py``). The plugins are ported from kubernetes 1.32's
``pkg/scheduler/framework/plugins`` and keep their reason strings word for word.
"""

from __future__ import annotations

from labrunner.sandbox.scheduling.framework import (
    FitError, NodeInfo, Snapshot, Status, UNSCHEDULABLE, UNRESOLVABLE, Decision, schedule,
)
from labrunner.sandbox.scheduling.requests import pod_requests, qos_class

__all__ = ["Decision", "FitError", "NodeInfo", "Snapshot", "Status", "UNRESOLVABLE", "UNSCHEDULABLE", "pod_requests", "qos_class", "schedule"]
