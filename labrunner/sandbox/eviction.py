"""The Eviction API (``POST pods/NAME/eviction`` with a policy/v1 Eviction), as
``pkg/registry/core/pod/storage/eviction.go`` answers it: a pod no PodDisruptionBudget selects,
or one that is not running yet, finished or already terminating, is deleted at once; one a budget
selects is deleted only while the budget allows a disruption, which the eviction takes
(``disruptionsAllowed`` one less, the pod in ``disruptedPods`` until the disruption controller
sees it gone), and is otherwise refused with 429 ``Cannot evict pod as it would violate the pod's
disruption budget.``, which ``kubectl drain`` retries. An evicted pod gets the DisruptionTarget
condition (EvictionByEvictionAPI) before it is deleted."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from labrunner.sandbox import resources
from labrunner.sandbox.controllers.shared import is_ready
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.scheduling.matching import label_selector
from labrunner.sandbox.status import json_response, not_found, status
from labrunner.sandbox.store import Conflict, NotFound, now

EVICTIONS = ResourceType("policy", "v1", "Eviction", "evictions", "eviction")
"""The body's kind (served as the pods/eviction subresource, never stored)."""
PODS = resources.lookup("", "v1", "pods")
PDBS = resources.lookup("policy", "v1", "poddisruptionbudgets")
VIOLATES = "Cannot evict pod as it would violate the pod's disruption budget."


def _budgets(store: Any, pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The budgets that select the pod (a nil or empty selector selects nothing here)."""
    assert PDBS is not None
    labels = pod["metadata"].get("labels") or {}
    found = []
    for pdb in store.list(PDBS, pod["metadata"]["namespace"]):
        selector = (pdb.get("spec") or {}).get("selector")
        if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
            continue
        if label_selector(selector)(labels):
            found.append(pdb)
    return found


async def evict(writes: Any, request: web.Request, namespace: str, name: str) -> web.Response:
    """Answer one eviction (``writes``: the API's :class:`~labrunner.sandbox.writes.Writes`)."""
    assert PODS is not None and PDBS is not None
    body, problem = await writes.object_body(request, EVICTIONS)
    if problem is not None or body is None:
        return problem or status(400, "BadRequest", "no object")
    if (body.get("metadata") or {}).get("name", name) != name:
        return status(400, "BadRequest", "name in URL does not match name in Eviction object")
    store = writes.store
    try:
        pod = store.get(PODS, namespace, name)
    except NotFound:
        return not_found(PODS, name)
    options = body.get("deleteOptions") or {}
    dry_run = request.query.get("dryRun") == "All" or "All" in (options.get("dryRun") or [])
    phase = (pod.get("status") or {}).get("phase")
    if phase not in ("Succeeded", "Failed", "Pending") and not pod["metadata"].get("deletionTimestamp"):
        budgets = _budgets(store, pod)
        if len(budgets) > 1:
            return status(500, "InternalError", "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
        if budgets and (refused := _take_disruption(store, budgets[0], pod, dry_run)) is not None:
            return refused
    if not dry_run:
        _mark_and_delete(store, pod)
    return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, status=201)


def _take_disruption(store: Any, pdb: dict[str, Any], pod: dict[str, Any], dry_run: bool) -> web.Response | None:
    """checkAndDecrement; the refusal, or None when the pod may go."""
    assert PDBS is not None
    budget = pdb.get("status") or {}
    policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy") or "IfHealthyBudget"
    healthy, desired = int(budget.get("currentHealthy") or 0), int(budget.get("desiredHealthy") or 0)
    if not is_ready(pod) and (policy == "AlwaysAllow" or healthy >= desired):
        return None  # an unhealthy pod may go while the budget is healthy
    if int(budget.get("observedGeneration") or 0) < int(pdb["metadata"].get("generation") or 1):
        return status(429, "TooManyRequests", VIOLATES, {"causes": [
            {"reason": "DisruptionBudget", "message": f"The disruption budget {pdb['metadata']['name']} is still being processed by the server."}]})
    allowed = int(budget.get("disruptionsAllowed") or 0)
    if allowed < 0:
        return status(403, "Forbidden", f'pods "{pod["metadata"]["name"]}" is forbidden: pdb disruptions allowed is negative')
    if allowed == 0:
        return status(429, "TooManyRequests", VIOLATES, {"causes": [
            {"reason": "DisruptionBudget",
             "message": f"The disruption budget {pdb['metadata']['name']} needs {desired} healthy pods and has {healthy} currently"}]})
    if dry_run:
        return None
    budget["disruptionsAllowed"] = allowed - 1
    if allowed - 1 == 0:
        for condition in budget.get("conditions") or []:
            if condition.get("type") == "DisruptionAllowed":
                condition.update(status="False", reason="InsufficientPods", lastTransitionTime=now())
    budget.setdefault("disruptedPods", {})[pod["metadata"]["name"]] = now()
    pdb["status"] = budget
    try:
        store.update(PDBS, pdb)
    except Conflict:
        return status(409, "Conflict", f'Operation cannot be fulfilled on poddisruptionbudgets.policy "{pdb["metadata"]["name"]}": '
                      "the object has been modified; please apply your changes to the latest version and try again")
    return None


def _mark_and_delete(store: Any, pod: dict[str, Any]) -> None:
    assert PODS is not None
    status_ = pod.setdefault("status", {})
    conditions = [c for c in status_.get("conditions") or [] if c.get("type") != "DisruptionTarget"]
    conditions.append({"type": "DisruptionTarget", "status": "True", "lastProbeTime": None, "lastTransitionTime": now(),
                       "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"})
    status_["conditions"] = conditions
    try:
        store.update(PODS, pod)
        store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
    except (NotFound, Conflict):
        pass
