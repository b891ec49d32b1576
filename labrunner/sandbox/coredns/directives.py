"""The directives CoreDNS 1.11.3 knows, in the order its plugins run (core/dnsserver/zdirectives.go,
generated from plugin.cfg): a query goes down this order whatever the Corefile's order."""

from __future__ import annotations

DIRECTIVES = (
    "root", "metadata", "geoip", "cancel", "tls", "timeouts", "reload", "nsid", "bufsize", "bind", "debug", "trace", "ready",
    "health", "pprof", "prometheus", "errors", "log", "dnstap", "local", "dns64", "acl", "any", "chaos", "loadbalance", "tsig",
    "cache", "rewrite", "header", "dnssec", "autopath", "minimal", "template", "transfer", "hosts", "route53", "azure",
    "clouddns", "k8s_external", "kubernetes", "file", "auto", "secondary", "etcd", "loop", "forward", "grpc", "erratic",
    "whoami", "on", "sign", "view",
)

SIMULATED = frozenset({"errors", "log", "health", "ready", "prometheus", "reload", "loop", "cache", "loadbalance", "rewrite",
                       "template", "hosts", "kubernetes", "forward", "whoami", "debug", "bufsize", "any"})
"""What the sandbox's CoreDNS does (or, for cache, loadbalance, debug, bufsize and any, accepts
and says where in docs/architecture.md it stops); any other directive is accepted as CoreDNS
accepts it and logs a warning that the sandbox lets queries pass it."""
