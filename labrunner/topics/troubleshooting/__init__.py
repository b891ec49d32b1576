"""Troubleshooting: a broken state repaired, judged by its outcome and by what was kept.

The check kinds (:mod:`.kinds`, loaded when first needed): ``objects-kept`` (what a
step's setup made is still there: the repair was made in place, not by deleting the
obstacle), ``env-from-config`` (a variable a crashing app wanted, now in its running pods
and taken from the ConfigMap), ``service-routes`` (a Service reaches the pods of a
Deployment: its selector, its targetPort, its EndpointSlices), ``logs-saved`` (a file on
the learner's disk holds a container's log lines) and ``top-pod-saved`` (a file names the
pod using the most CPU or memory, as the metrics API says), and ``metrics-served`` (the
metrics API answers, the requirement ``metrics-api`` checks it).
"""

from __future__ import annotations

from labrunner.registry.types import Requirement, Resource, Topic

TOPIC = Topic(
    name="troubleshooting",
    kinds="labrunner.topics.troubleshooting.kinds:KINDS",
    resources=(
        # kubectl's fully qualified name: the same path segment (pods) in the metrics.k8s.io group
        Resource(plural="pods.metrics.k8s.io", kind="PodMetrics", group="metrics.k8s.io", version="v1beta1"),
    ),
    requirements=(
        Requirement(id="metrics-api", text="the metrics API (metrics-server), which kubectl top reads",
                    check={"kind": "metrics-served", "says": "the metrics API answers (kubectl top works)"}),
    ),
)
