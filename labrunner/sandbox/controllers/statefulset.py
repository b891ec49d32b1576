"""The statefulset controller (being written: its reconcile does nothing yet)."""

from __future__ import annotations

from labrunner.sandbox.controllers.shared import Cluster


def reconcile(cluster: Cluster) -> None:
    return None
