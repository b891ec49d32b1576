"""Scheduling: where pods land and why they wait, and the nodes they land on.

The check kinds (:mod:`.kinds`, loaded when first needed): ``pods-placed`` (a workload's pods
scheduled where the step wants, spread, Running; a pod that waits explained node by node with
kube-scheduler's own filters, :mod:`labrunner.sandbox.scheduling`, beside the scheduler's
message) ``node-state`` (a node's taints, labels, cordon, drained), ``quota-limits`` and ``limit-range``
(a namespace's ResourceQuotas and LimitRanges by quantity), ``disruption-budget`` and
``priority-class``. Their words name the
field responsible: the taint not tolerated and the toleration that almost does, the label a
nodeSelector wants, the requests beside what a node has left, a toleration taken for an
attraction.
"""

from __future__ import annotations

from labrunner.registry.types import Resource, Topic

TOPIC = Topic(
    name="scheduling",
    kinds="labrunner.topics.scheduling.kinds:KINDS",
    resources=(
        Resource(plural="resourcequotas", kind="ResourceQuota"),
        Resource(plural="limitranges", kind="LimitRange"),
        Resource(plural="poddisruptionbudgets", kind="PodDisruptionBudget", group="policy"),
        Resource(plural="priorityclasses", kind="PriorityClass", group="scheduling.k8s.io", namespaced=False),
    ),
)
