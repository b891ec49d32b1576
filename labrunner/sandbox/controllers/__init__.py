"""The sandbox's control plane: one module per controller, run in one loop (``loop.py``).

- ``deployment``: Deployment -> ReplicaSet ``<name>-<template hash>``, status and conditions.
- ``replicaset``: ReplicaSet -> pods ``<rs>-<5 chars>``; scale up and down.
- ``daemonset``: one pod per node; replaced when the template changes.
- ``scheduler``: nodeName, the least loaded node.
- ``kubelet`` and ``kubelet_stages``: pod IP, then the lifecycle's stages (ContainerCreating,
  Running, Ready; ErrImagePull, ImagePullBackOff; CreateContainerConfigError) with their events.
- ``endpoints``: Services -> Endpoints and an EndpointSlice of the pods they select.
- ``serviceaccounts``: a ``default`` ServiceAccount per namespace; legacy token Secrets filled.
- ``clusterroleaggregation``: an aggregated ClusterRole (``admin``, ``edit``, ``view``) holds the
  rules of the ClusterRoles its selectors match.
- ``csrsigning``: approved CertificateSigningRequests signed with the sandbox's CA.
- ``garbagecollector``: ownerReferences (background, foreground, orphan).
- ``events``: events as the components write them; ``shared``: what they all use.
"""

from labrunner.sandbox.controllers.loop import ControlPlane

__all__ = ["ControlPlane"]
