"""The DefaultTolerationSeconds admission plugin: a new pod that does not tolerate the node
lifecycle's ``node.kubernetes.io/not-ready`` and ``node.kubernetes.io/unreachable`` NoExecute
taints gets tolerations for them, for 300 seconds each, so its pods leave a failed node after
five minutes (``kubectl describe pod``: ``node.kubernetes.io/not-ready:NoExecute op=Exists for 300s``)."""

from __future__ import annotations

from typing import Any

DEFAULT_SECONDS = 300
KEYS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


def admit_pod(pod: dict[str, Any]) -> None:
    """Add the two tolerations a pod's create lacks (a toleration with an empty key or effect covers them)."""
    spec = pod.setdefault("spec", {})
    tolerations = list(spec.get("tolerations") or [])
    for key in KEYS:
        if not any((t.get("key") or key) == key and (t.get("effect") or "NoExecute") == "NoExecute" for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": DEFAULT_SECONDS})
    spec["tolerations"] = tolerations
