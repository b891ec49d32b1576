"""The basics topic's check kinds, in the order the lab format documents them."""

from __future__ import annotations

from labrunner.topics.basics import absence, cluster, data, namespaces, probes, services, shell, workloads

KINDS = (*cluster.KINDS, *namespaces.KINDS, *workloads.KINDS, *services.KINDS, *absence.KINDS, *data.KINDS,
         *probes.KINDS, *shell.KINDS)
