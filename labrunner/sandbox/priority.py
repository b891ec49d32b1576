"""PriorityClasses (scheduling.k8s.io/v1) and the Priority admission plugin.

- The API server's two built-in classes (``system-cluster-critical``, ``system-node-critical``),
  put back at every start as its ``scheduling/bootstrap-system-priority-classes`` hook does.
- A class's validation and admission: a user class may not go above 1000000000 nor take the
  ``system-`` prefix, its value and preemptionPolicy never change, one class at most is
  ``globalDefault``.
- A pod's create (``plugin/pkg/admission/priority``): its ``priorityClassName`` (or the global
  default class, or none: priority 0) resolved into ``spec.priority`` and ``spec.preemptionPolicy``,
  refused in the plugin's words for a class that does not exist or a priority that disagrees.
"""

from __future__ import annotations

from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.resource_hooks import Refused
from labrunner.sandbox.store import NotFound, Store

PRIORITY_CLASSES = resources.lookup("scheduling.k8s.io", "v1", "priorityclasses")
HIGHEST_USER_DEFINED = 1000000000
"""scheduling.HighestUserDefinablePriority."""
SYSTEM_CLASSES = (
    ("system-node-critical", 2000001000, "Used for system critical pods that must not be moved from their current node."),
    ("system-cluster-critical", 2000000000, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."),
)


def ensure_system_classes(store: Store) -> None:
    """The built-in classes, created when missing (a sandbox from before PriorityClasses were served gets them too)."""
    assert PRIORITY_CLASSES is not None
    for name, value, description in SYSTEM_CLASSES:
        try:
            store.get(PRIORITY_CLASSES, "", name)
        except NotFound:
            store.create(PRIORITY_CLASSES, {"metadata": {"name": name}, "value": value, "description": description,
                                            "globalDefault": False, "preemptionPolicy": "PreemptLowerPriority"})


def _forbidden(kind: str, name: str, message: str) -> Refused:
    return Refused(403, "Forbidden", f'{kind} "{name}" is forbidden: {message}', {"name": name, "kind": kind.split(".")[0]})


def _invalid(name: str, field: str, body: str) -> Refused:
    return Refused(422, "Invalid", f'PriorityClass.scheduling.k8s.io "{name}" is invalid: {field}: {body}',
                   {"name": name, "group": "scheduling.k8s.io", "kind": "PriorityClass",
                    "causes": [{"reason": "FieldValueForbidden", "message": body, "field": field}]})


def class_defaults(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
    """SetDefaults_PriorityClass."""
    obj.setdefault("preemptionPolicy", "PreemptLowerPriority")


def admit_class(obj: dict[str, Any], previous: dict[str, Any] | None, store: Store | None) -> None:
    """ValidatePriorityClass(Update) and the Priority admission plugin's one-default rule.

    Raises:
        Refused: the API server's 422 or 403.
    """
    assert PRIORITY_CLASSES is not None
    name = str(obj["metadata"].get("name", ""))
    system = dict((n, v) for n, v, _ in SYSTEM_CLASSES)
    value = obj.get("value")
    if previous is not None:
        for field in ("value", "preemptionPolicy"):
            if obj.get(field) != previous.get(field):
                raise _invalid(name, field, "Forbidden: may not be changed in an update.")
    elif name in system:
        if value != system[name]:
            raise _forbidden("priorityclasses.scheduling.k8s.io", name, f"{name} is a system priority class and cannot be changed")
    else:
        if name.startswith("system-"):
            raise _invalid(name, "metadata.name", f'Invalid value: "{name}": priority class names with \'system-\' prefix are reserved for system use only')
        if isinstance(value, int) and value > HIGHEST_USER_DEFINED:
            raise _invalid(name, "value", f"Forbidden: maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINED}")
    if obj.get("globalDefault") and store is not None:
        for other in store.list(PRIORITY_CLASSES):
            if other["metadata"]["name"] != name and other.get("globalDefault"):
                raise _forbidden("priorityclasses.scheduling.k8s.io", name,
                                 f"PriorityClass {other['metadata']['name']} is already marked as default. Only one default can exist")


def admit_pod(store: Store, pod: dict[str, Any]) -> None:
    """The Priority admission plugin on a pod's create.

    Raises:
        Refused: 403 for a class that does not exist, or a priority or preemption policy the pod
            gives that disagrees with its class.
    """
    assert PRIORITY_CLASSES is not None
    spec = pod.setdefault("spec", {})
    name = str(pod["metadata"].get("name", ""))
    class_name = spec.get("priorityClassName") or ""
    policy: str | None = "PreemptLowerPriority"
    if not class_name:
        default = next((pc for pc in store.list(PRIORITY_CLASSES) if pc.get("globalDefault")), None)
        value = int(default.get("value") or 0) if default else 0
        if default is not None:
            spec["priorityClassName"] = default["metadata"]["name"]
            policy = default.get("preemptionPolicy") or policy
    else:
        try:
            found = store.get(PRIORITY_CLASSES, "", str(class_name))
        except NotFound:
            raise _forbidden("pods", name, f"no PriorityClass with name {class_name} was found") from None
        value = int(found.get("value") or 0)
        policy = found.get("preemptionPolicy") or policy
    given = spec.get("priority")
    if given is not None and given != value:
        raise _forbidden("pods", name, f"the integer value of priority ({given}) must not be provided in pod spec; "
                                       f"priority admission controller computed {value} from the given PriorityClass name")
    spec["priority"] = value
    given_policy = spec.get("preemptionPolicy")
    if given_policy is not None and given_policy != policy:
        raise _forbidden("pods", name, f"the string value of PreemptionPolicy ({given_policy}) must not be provided in pod spec; "
                                       f"priority admission controller computed {policy} from the given PriorityClass name")
    spec["preemptionPolicy"] = policy


def keep_on_update(pod: dict[str, Any], previous: dict[str, Any]) -> None:
    """The plugin on a pod's update: a priority or preemption policy the new body leaves out is the stored one's."""
    spec, before = pod.setdefault("spec", {}), previous.get("spec") or {}
    for field in ("priority", "preemptionPolicy"):
        if spec.get(field) is None and before.get(field) is not None:
            spec[field] = before[field]
