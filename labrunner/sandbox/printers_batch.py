"""`kubectl get` columns for the batch kinds, as kube-apiserver's printers (pkg/printers/internalversion) give them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from labrunner.sandbox.store import seconds
from labrunner.sandbox.tables import Column, Row, _selector_text, age, human_duration

NAME: Column = ("Name", "string", 0)
AGE: Column = ("Age", "string", 0)
WIDE: list[Column] = [("Containers", "string", 1), ("Images", "string", 1), ("Selector", "string", 1)]


def _has(status: dict[str, Any], kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or [])


def _containers(pod_spec: dict[str, Any]) -> list[str]:
    containers = pod_spec.get("containers") or []
    return [",".join(str(c.get("name", "")) for c in containers), ",".join(str(c.get("image", "")) for c in containers)]


def _jobs(obj: dict[str, Any]) -> Row:
    """printJob: STATUS from the conditions, COMPLETIONS succeeded/completions, DURATION from the start."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    succeeded = int(status.get("succeeded") or 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif int(spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    duration = ""
    if status.get("startTime"):
        end = seconds(status["completionTime"]) if status.get("completionTime") else time.time()
        duration = human_duration(end - seconds(status["startTime"]))
    if _has(status, "Complete"):
        state = "Complete"
    elif _has(status, "Failed"):
        state = "Failed"
    elif (obj.get("metadata") or {}).get("deletionTimestamp"):
        state = "Terminating"
    elif _has(status, "Suspended"):
        state = "Suspended"
    elif _has(status, "FailureTarget"):
        state = "FailureTarget"
    else:
        state = "Running"
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    return [obj["metadata"]["name"], state, completions, duration, age(obj), *_containers(pod_spec), _selector_text(spec.get("selector"))]


def _cronjobs(obj: dict[str, Any]) -> Row:
    """printCronJob: SCHEDULE, TIMEZONE, SUSPEND, ACTIVE, LAST SCHEDULE."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    last = status.get("lastScheduleTime")
    last_text = human_duration(time.time() - seconds(last)) if last else "<none>"
    suspend = spec.get("suspend")
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    pod_spec = (job_spec.get("template") or {}).get("spec") or {}
    return [obj["metadata"]["name"], spec.get("schedule", ""), spec.get("timeZone") or "<none>",
            "<unset>" if suspend is None else ("True" if suspend else "False"), len(status.get("active") or []), last_text, age(obj),
            *_containers(pod_spec), _selector_text(job_spec.get("selector"))]


PRINTERS: dict[str, tuple[list[Column], Callable[[dict[str, Any]], Row]]] = {
    "jobs": ([NAME, ("Status", "string", 0), ("Completions", "string", 0), ("Duration", "string", 0), AGE, *WIDE], _jobs),
    "cronjobs": ([NAME, ("Schedule", "string", 0), ("Timezone", "string", 0), ("Suspend", "boolean", 0), ("Active", "integer", 0),
                  ("Last Schedule", "string", 0), AGE, *WIDE], _cronjobs),
}
