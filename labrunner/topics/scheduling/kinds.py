"""The scheduling topic's check kinds, in the order the lab format documents them."""

from __future__ import annotations

from labrunner.topics.scheduling import nodes, placement

KINDS = (*placement.KINDS, *nodes.KINDS)
