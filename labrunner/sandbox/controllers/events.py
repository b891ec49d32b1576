"""Events as the control plane's components write them (core/v1, with the
deprecated source and the newer reporting fields both filled, as kubectl
describe reads either)."""

from __future__ import annotations

import time
from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.store import AlreadyExists, Store, now

EVENTS = resources.lookup("", "v1", "events")
_last_stamp = 0


def _suffix() -> str:
    """client-go's recorder names an event ``<object>.<hex of the time in nanoseconds>``, so
    names sort by time and ``kubectl describe`` lists a second's events in order."""
    global _last_stamp
    _last_stamp = max(time.time_ns(), _last_stamp + 1)
    return f"{_last_stamp:x}"


def record(store: Store, involved: dict[str, Any], reason: str, message: str, kind: str = "Normal", component: str = "kubelet") -> None:
    assert EVENTS is not None
    namespace = involved["metadata"].get("namespace") or "default"
    event = {
        "metadata": {"name": f"{involved['metadata']['name']}.{_suffix()}", "namespace": namespace},
        # a cluster-scoped object's events live in "default" but name no namespace for it (kubectl describe asks for none)
        "involvedObject": {"kind": involved.get("kind"), **({"namespace": namespace} if involved["metadata"].get("namespace") else {}),
                           "name": involved["metadata"]["name"],
                           "uid": involved["metadata"].get("uid"), "apiVersion": involved.get("apiVersion")},
        "reason": reason, "message": message, "type": kind, "count": 1,
        "source": {"component": component}, "firstTimestamp": now(), "lastTimestamp": now(),
        "reportingComponent": component, "reportingInstance": "",
    }
    try:
        store.create(EVENTS, event)
    except AlreadyExists:
        pass
