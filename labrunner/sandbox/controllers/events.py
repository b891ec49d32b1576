"""Events as the control plane's components write them (core/v1, with the
deprecated source and the newer reporting fields both filled, as kubectl
describe reads either)."""

from __future__ import annotations

import secrets
from typing import Any

from labrunner.sandbox import resources
from labrunner.sandbox.store import AlreadyExists, Store, now

EVENTS = resources.lookup("", "v1", "events")


def record(store: Store, involved: dict[str, Any], reason: str, message: str, kind: str = "Normal", component: str = "kubelet") -> None:
    assert EVENTS is not None
    namespace = involved["metadata"].get("namespace") or "default"
    event = {
        "metadata": {"name": f"{involved['metadata']['name']}.{secrets.token_hex(8)}", "namespace": namespace},
        "involvedObject": {"kind": involved.get("kind"), "namespace": namespace, "name": involved["metadata"]["name"],
                           "uid": involved["metadata"].get("uid"), "apiVersion": involved.get("apiVersion")},
        "reason": reason, "message": message, "type": kind, "count": 1,
        "source": {"component": component}, "firstTimestamp": now(), "lastTimestamp": now(),
        "reportingComponent": component, "reportingInstance": "",
    }
    try:
        store.create(EVENTS, event)
    except AlreadyExists:
        pass
