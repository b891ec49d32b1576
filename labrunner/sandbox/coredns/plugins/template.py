"""The template plugin: ``template CLASS TYPE [ZONES...] { match REGEX...; answer RR; rcode CODE;
fallthrough [ZONES...] }``.

A query of the class and type in its zones whose name matches a regex gets the answers built
from the templates; a name that matches none is NXDOMAIN unless ``fallthrough`` covers it. The
sandbox fills what templates mostly use (``.Name``, ``.Zone``, ``.Class``, ``.Type``,
``.Remote``, ``index .Match N``, ``.Group.NAME``); a template asking for more is said at start."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from labrunner.sandbox.coredns.corefile import CorefileError
from labrunner.sandbox.coredns.dispenser import Controller
from labrunner.sandbox.coredns.messages import NOERROR, NXDOMAIN, RCODE_NUMBERS, SERVFAIL, Query, Record, Reply
from labrunner.sandbox.coredns.names import best_zone, normalize
from labrunner.sandbox.coredns.plugins.base import Context, Next, Plugin
from labrunner.sandbox.coredns.plugins.kubernetes import fall_zones, origins

CLASSES = ("IN", "CH", "CHAOS", "HS", "NONE", "ANY")
TYPES = ("A", "AAAA", "CNAME", "PTR", "MX", "TXT", "SRV", "NS", "SOA", "ANY", "HINFO", "CAA", "DS", "DNSKEY")
_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
_FILLED = re.compile(r"\.(Name|Zone|Class|Type|Remote)|index \.Match (\d+)|\.Group\.(\w+)|index \.Group \"(\w+)\"")


@dataclass
class Template:
    qclass: str
    qtype: str
    zones: list[str]
    patterns: list[re.Pattern[str]] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    rcode: str = NOERROR
    fallthrough: tuple[str, ...] = ()


def unfilled(text: str) -> list[str]:
    """The template actions the sandbox cannot fill."""
    return [action for action in _ACTION.findall(text) if not _FILLED.fullmatch(action)]


def _fill(text: str, values: dict[str, str], match: re.Match[str]) -> str:
    def one(action: re.Match[str]) -> str:
        found = _FILLED.fullmatch(action.group(1))
        if found is None:
            return action.group(0)
        if found.group(1):
            return values[found.group(1)]
        if found.group(2):
            index = int(found.group(2))
            return match.group(index) or "" if index <= (match.re.groups or 0) else ""
        group = found.group(3) or found.group(4)
        if group.isdigit():
            return match.group(int(group)) or "" if int(group) <= match.re.groups else ""
        return (match.groupdict().get(group) or "")
    return _ACTION.sub(one, text)


def _record(text: str) -> Record | None:
    """dns.NewRR for the record types a resolver prints: NAME [TTL] [CLASS] TYPE DATA."""
    fields = text.split()
    if len(fields) < 3:
        return None
    name, rest, ttl = fields[0], fields[1:], 3600
    if rest and rest[0].isdigit():
        ttl, rest = int(rest[0]), rest[1:]
    if rest and rest[0].upper() in CLASSES:
        rest = rest[1:]
    if len(rest) < 2:
        return None
    return Record(normalize(name), rest[0].upper(), normalize(rest[1]) if rest[0].upper() in ("CNAME", "PTR") else rest[1], ttl)


@dataclass
class TemplatePlugin(Plugin):
    name = "template"
    zones: list[str] = field(default_factory=list)
    templates: list[Template] = field(default_factory=list)

    def serve(self, query: Query, context: Context, following: Next) -> Reply:
        name = normalize(query.name)
        if not best_zone(self.zones, name):
            return following(query)
        for template in self.templates:
            zone = best_zone(template.zones, name)
            if not zone or template.qtype not in ("ANY", query.type):
                continue
            found = next((m for m in (p.search(name) for p in template.patterns) if m is not None), None)
            if found is None:
                if best_zone(template.fallthrough, name):
                    continue
                return Reply(NXDOMAIN, authoritative=True)
            values = {"Name": name, "Zone": zone, "Class": "IN", "Type": query.type, "Remote": context.ip}
            answer = []
            for text in template.answers:
                record = _record(_fill(text, values, found))
                if record is None:
                    return Reply(SERVFAIL, error=f"dns: not a TTL: \"{text}\" at line: 1:{len(text)}")
                answer.append(record)
            return Reply(template.rcode, tuple(answer), authoritative=True)
        return following(query)


def setup(c: Controller, warnings: list[str]) -> TemplatePlugin:
    plugin = TemplatePlugin()
    while c.next():
        arguments = c.args(2)
        if arguments is None:
            raise c.arg_err()
        if arguments[0] not in CLASSES:
            raise c.err(f"invalid query class {arguments[0]}")
        if arguments[1] not in TYPES:
            raise c.err(f"invalid RR class {arguments[1]}")
        zones = origins(c.remaining_args(), c.server_block_keys)
        plugin.zones += zones
        template = Template(arguments[0], arguments[1], zones)
        while c.next_block():
            option = c.val()
            if option == "match":
                patterns = c.remaining_args()
                if not patterns:
                    raise c.arg_err()
                for pattern in patterns:
                    try:
                        template.patterns.append(re.compile(pattern))
                    except re.error as error:
                        raise c.err(f"could not parse regex: {pattern}, error parsing regexp: {error}") from None
            elif option in ("answer", "additional", "authority"):
                texts = c.remaining_args()
                if not texts:
                    raise c.arg_err()
                for text in texts:
                    for action in unfilled(text):
                        warnings.append(f"[WARNING] plugin/template: the labrunner sandbox does not fill {{{{ {action} }}}} "
                                        "(it fills .Name, .Zone, .Class, .Type, .Remote, .Match and .Group)")
                if option == "answer":
                    template.answers += texts
            elif option == "rcode":
                if not c.next_arg():
                    raise c.arg_err()
                if c.val().upper() not in RCODE_NUMBERS:
                    raise c.err(f"unknown rcode {c.val()}")
                template.rcode = c.val().upper()
            elif option == "fallthrough":
                template.fallthrough = fall_zones(c.remaining_args())
            elif option in ("upstream", "ederror"):
                c.remaining_args()
            else:
                raise c.arg_err()
        if not template.patterns:
            template.patterns.append(re.compile(".*"))
        if not template.answers and template.rcode == NOERROR:
            earlier = "" if not plugin.templates else " ..."
            raise c.err(f"no answer section for template found: {{[{' '.join(plugin.zones)}] <nil> [{earlier.strip()}]}}")
        plugin.templates.append(template)
    if not plugin.templates:
        raise CorefileError("no template found")
    return plugin
