"""The scheduling topic's check kinds, in the order the lab format documents them."""

from __future__ import annotations

from labrunner.topics.scheduling import budgets, nodes, placement, priorities, quotas

KINDS = (*placement.KINDS, *nodes.KINDS, *quotas.KINDS, *budgets.KINDS, *priorities.KINDS)
