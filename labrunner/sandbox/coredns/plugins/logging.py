"""The log and errors plugins: what a query leaves in ``kubectl logs`` of the CoreDNS pod.

``log`` writes one line per query after it is answered, in CoreDNS's common log format
(``[INFO] 10.244.1.4:39871 - 4012 "A IN web.default.svc.cluster.local. udp 47 false 512" NOERROR
qr,aa,rd 110 0.000104863s``); ``errors`` writes the error a plugin returned
(``[ERROR] plugin/errors: 2 example.internal. A: read udp ...: i/o timeout``)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from labrunner.sandbox.coredns.corefile import CorefileError
from labrunner.sandbox.coredns.dispenser import Controller
from labrunner.sandbox.coredns.messages import NOERROR, NXDOMAIN, RCODE_NUMBERS, Query, Reply, flags, reply_size, request_size
from labrunner.sandbox.coredns.names import best_zone, normalize
from labrunner.sandbox.coredns.plugins.base import Context, Next, Plugin, go_duration

COMMON = '{remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}" {rcode} {>rflags} {rsize} {duration}'
COMBINED = COMMON + ' "{>opcode}"'
CLASSES = ("all", "denial", "error", "success")


def _duration(reply: Reply) -> str:
    """Go's Duration.Seconds() as the log plugin prints it."""
    seconds = reply.delay + random.uniform(0.00004, 0.0004)
    return f"{seconds:.9f}".rstrip("0") + "s"


def log_line(query: Query, original: str, reply: Reply, template: str = COMMON) -> str:
    values = {
        "remote": query.client, "port": str(query.client_port), ">id": str(query.id), "type": query.type, "class": "IN",
        "name": original, "proto": "udp", "size": str(request_size(query)), ">do": "false", ">bufsize": "512",
        "rcode": reply.rcode, ">rflags": flags(reply), "rsize": str(reply_size(query, reply)), "duration": _duration(reply),
        ">opcode": "QUERY", "common": "", "combined": "",
    }
    template = template.replace("{common}", COMMON).replace("{combined}", COMBINED)
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


@dataclass
class Rule:
    zones: list[str]
    classes: frozenset[str] = frozenset({"all"})
    format: str = COMMON


@dataclass
class Log(Plugin):
    name = "log"
    rules: list[Rule] = field(default_factory=list)

    def serve(self, query: Query, context: Context, following: Next) -> Reply:
        original = normalize(query.name)
        reply = following(query)
        for rule in self.rules:
            if not best_zone(rule.zones, original):
                continue
            kind = "success" if reply.rcode == NOERROR else "denial" if reply.rcode == NXDOMAIN else "error"
            if "all" in rule.classes or kind in rule.classes or (kind == "success" and not reply.answer and "denial" in rule.classes):
                context.log([f"[INFO] {log_line(query, original, reply, rule.format)}"])
            break
        return reply


@dataclass
class Errors(Plugin):
    name = "errors"

    def serve(self, query: Query, context: Context, following: Next) -> Reply:
        reply = following(query)
        if reply.error:
            code = RCODE_NUMBERS.get(reply.rcode, 2)
            context.log([f"[ERROR] plugin/errors: {code} {normalize(query.name)} {query.type}: {reply.error}"])
        return reply


def log_setup(c: Controller) -> Log:
    plugin = Log()
    while c.next():
        arguments = c.remaining_args()
        if len(arguments) > 1 and "{" in arguments[-1]:
            names, template = arguments[:-1], arguments[-1]
        elif len(arguments) == 1 and "{" in arguments[0]:
            names, template = [], arguments[0]
        else:
            names, template = arguments, COMMON
        rule = Rule(zones=[normalize(name) for name in names] or ["."], format=template)
        classes: set[str] = set()
        while c.next_block():
            if c.val() != "class":
                raise c.err(f"unknown property '{c.val()}'")
            values = c.remaining_args()
            if not values:
                raise c.arg_err()
            for value in values:
                if value not in CLASSES:
                    raise c.err(f"invalid class '{value}'")
                classes.add(value)
        if classes:
            rule.classes = frozenset(classes)
        plugin.rules.append(rule)
    return plugin


def errors_setup(c: Controller) -> Errors:
    seen = False
    while c.next():
        if seen:
            raise CorefileError("this plugin can only be used once per Server Block")
        seen = True
        if c.remaining_args():
            raise c.arg_err()
        while c.next_block():
            if c.val() != "consolidate":
                raise c.err(f"unknown property '{c.val()}'")
            arguments = c.remaining_args()
            if len(arguments) < 2 or len(arguments) > 3:
                raise c.arg_err()
            try:
                go_duration(arguments[0])
            except ValueError as error:
                raise c.err(str(error)) from None
    return Errors()
