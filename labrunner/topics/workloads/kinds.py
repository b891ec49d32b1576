"""The workloads topic's check kinds, in the order the lab format documents them."""

from __future__ import annotations

from labrunner.topics.workloads import autoscaling, batch, config, containers, rollouts

KINDS = (*rollouts.KINDS, *config.KINDS, *containers.KINDS, *batch.KINDS, *autoscaling.KINDS)
