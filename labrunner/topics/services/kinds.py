"""The Services topic's check kinds, in the order the lab format documents them."""

from __future__ import annotations

from labrunner.topics.services import backends, coredns, dns, endpointslices, gateway, ingress, routes

KINDS = (*backends.KINDS, *endpointslices.KINDS, *dns.KINDS, *coredns.KINDS, *ingress.KINDS, *gateway.KINDS, *routes.KINDS)
