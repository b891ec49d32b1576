"""The workloads topic: Deployments rolled out (and why not), configuration consumed,
resources, probes, native sidecars, Jobs, CronJobs and HorizontalPodAutoscalers.

This module stays cheap to import (no pydantic): the kinds are named, and loaded from
:mod:`.kinds` when the registry first needs them. The checks read the workload's spec
and the state its controllers report, and name the classic mistakes by object, field
and value.
"""

from __future__ import annotations

from labrunner.registry.types import Resource, Topic

TOPIC = Topic(
    name="workloads",
    kinds="labrunner.topics.workloads.kinds:KINDS",
    resources=(
        Resource(plural="jobs", kind="Job", group="batch"),
        Resource(plural="cronjobs", kind="CronJob", group="batch"),
        Resource(plural="horizontalpodautoscalers", kind="HorizontalPodAutoscaler", group="autoscaling", version="v2"),
    ),
)
