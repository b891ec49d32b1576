"""The storage topic's check kinds, in the order the lab format documents them."""

from __future__ import annotations

from labrunner.topics.storage import claims, volumes

KINDS = (*claims.KINDS, *volumes.KINDS)
