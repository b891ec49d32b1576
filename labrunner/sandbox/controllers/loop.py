"""The control plane's loop: what kube-controller-manager, the scheduler and the
kubelets would do, one pass at a time.

Every store write wakes the loop; each pass runs every controller over
everything (the sandbox holds tens of objects, so a full pass is cheap), and
each writes only what changed, so passes converge. Time-based steps (a
container starting, a probe passing) follow the pod's age, with a short tick
while anything is still on its way.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from labrunner.sandbox.controllers import (
    clusterroleaggregation, cronjob, csrsigning, daemonset, deployment, disruption, endpoints, garbagecollector, horizontalpodautoscaler, job,
    kubelet, localpath, nodelifecycle, persistentvolume, replicaset, replicationcontroller, resourcequota, rootca, scheduler,
    serviceaccounts, statefulset,
)
from labrunner.sandbox.controllers.shared import PODS, Cluster, terminating
from labrunner.sandbox.store import Store

log = logging.getLogger("labrunner.sandbox.controllers")

TICK = 0.2
IDLE = 5.0


def _pods(cluster: Cluster) -> None:
    cluster.each(PODS, "kubelet", lambda pod: _pod(cluster, pod))
    runtime = cluster.runtime
    if runtime is not None:  # the containers of deleted (or deleting) pods stop
        runtime.forget({str(p["metadata"].get("uid")) for p in cluster.store.list(PODS) if not terminating(p)})


def _pod(cluster: Cluster, pod: dict[str, Any]) -> None:
    # A pod bound in this pass is started in the next, as a kubelet learns of it from its watch.
    if not terminating(pod) and not scheduler.schedule(cluster, pod):
        kubelet.sync(cluster, pod)


def _ingress_controllers(cluster: Cluster) -> None:
    """What the ingress controllers a learner installed do (l7/ingress; imported here, as they import this package)."""
    from labrunner.sandbox.l7.ingress.controller import reconcile

    reconcile(cluster)


def _gateway_controllers(cluster: Cluster) -> None:
    """What a Gateway API implementation a learner installed does (l7/gateway)."""
    from labrunner.sandbox.l7.gateway.controller import reconcile

    reconcile(cluster)


PASS = (
    serviceaccounts.reconcile,
    rootca.reconcile,
    clusterroleaggregation.reconcile,
    csrsigning.reconcile,
    garbagecollector.reconcile,
    horizontalpodautoscaler.reconcile,
    cronjob.reconcile,
    job.reconcile,
    deployment.reconcile,
    replicaset.reconcile,
    replicationcontroller.reconcile,
    statefulset.reconcile,
    daemonset.reconcile,
    persistentvolume.reconcile,
    localpath.reconcile,
    nodelifecycle.reconcile,
    _pods,
    disruption.reconcile,
    resourcequota.reconcile,
    endpoints.reconcile,
    deployment.reconcile_status,
    _ingress_controllers,
    _gateway_controllers,
)
"""In this order: owners before what they own, so one pass goes from a Deployment to its pods."""


class ControlPlane:
    def __init__(self, store: Store) -> None:
        self.cluster = Cluster(store)
        self.cluster.pending = True
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.stopping = False
        store.listeners.append(lambda *_: self.wake.set())

    @property
    def pending(self) -> bool:
        return self.cluster.pending

    def start(self) -> None:
        self.wake.set()
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """End the loop. A flag as well as a cancel: Python 3.11's wait_for drops a cancellation
        that arrives as the awaited wake-up completes (gh-86296), and containers' threads wake
        the loop often; asyncio.wait (unlike wait_for) never swallows one."""
        self.stopping = True
        self.wake.set()
        if self.task is not None:
            self.task.cancel()
            await asyncio.wait({self.task}, timeout=5.0)

    async def _run(self) -> None:
        while not self.stopping:
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=TICK if self.pending else IDLE)
            except asyncio.TimeoutError:
                pass
            self.wake.clear()
            try:
                self.reconcile()
            except Exception:  # a controller bug must not stop the cluster
                log.exception("a controller pass failed")

    def reconcile(self) -> None:
        self.cluster.pending = False
        for controller in PASS:
            try:
                controller(self.cluster)
            except Exception:  # a controller's own bug: the others still run, and the next pass tries again
                log.exception("the %s pass failed", controller.__module__.rsplit(".", 1)[-1])
                self.cluster.pending = True
