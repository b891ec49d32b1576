"""The troubleshooting topic's check kinds, in the order the lab format documents them."""

from __future__ import annotations

from labrunner.topics.troubleshooting import corefile, env, kept, logs, routes, usage

KINDS = (*kept.KINDS, *env.KINDS, *routes.KINDS, *corefile.KINDS, *logs.KINDS, *usage.KINDS)
