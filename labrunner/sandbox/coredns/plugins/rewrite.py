"""The rewrite plugin's name rules: ``rewrite [continue|stop] name [exact|prefix|suffix|substring|regex]
FROM TO [answer auto | answer name FROM TO | answer value FROM TO]``.

The question is renamed before the plugins after it answer; the answer's names are put back as
the rule says (``exact`` always, the others with ``answer auto``, ``answer name`` by regex), so a
client sees the name it asked for. Rules of other fields (class, type, edns0, ttl, cname, rcode)
are parsed and let queries pass unchanged: the sandbox says so in the log at start."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from labrunner.sandbox.coredns.corefile import CorefileError
from labrunner.sandbox.coredns.dispenser import Controller
from labrunner.sandbox.coredns.messages import SERVFAIL, Query, Reply
from labrunner.sandbox.coredns.names import is_domain_name, normalize
from labrunner.sandbox.coredns.plugins.base import Context, Next, Plugin

MATCH_TYPES = ("exact", "prefix", "suffix", "substring", "regex")
UNSIMULATED_FIELDS = ("class", "type", "edns0", "ttl", "cname", "rcode")
StringRewriter = Callable[[str], str]


@dataclass
class ResponseRule:
    rewrite: StringRewriter
    values: bool = False
    """Rewrites record values (a CNAME's target) rather than owner names."""


@dataclass
class NameRule:
    mode: str
    match: str
    source: str
    target: str
    auto: bool = False
    answers: list[ResponseRule] = field(default_factory=list)
    pattern: re.Pattern[str] | None = None

    def apply(self, name: str) -> str | None:
        """The new question name, or None when the rule does not match."""
        if self.match == "exact":
            return self.target if name == self.source else None
        if self.match == "prefix":
            return self.target + name[len(self.source):] if name.startswith(self.source) else None
        if self.match == "suffix":
            return name[:len(name) - len(self.source)] + self.target if name.endswith(self.source) else None
        if self.match == "substring":
            return name.replace(self.source, self.target) if self.source in name else None
        assert self.pattern is not None
        groups = self.pattern.search(name)
        if groups is None:
            return None
        result = self.target
        for index, value in enumerate([groups.group(0), *groups.groups()]):
            result = result.replace("{" + str(index) + "}", value or "")
        return result

    def response_rules(self, original: str, rewritten: str) -> list[ResponseRule]:
        if self.match == "suffix" and self.auto:
            source, target = self.target, self.source
            back: StringRewriter = lambda s: s[:len(s) - len(source)] + target if s.endswith(source) else s
            return [ResponseRule(back), ResponseRule(back, values=True), *self.answers]
        if self.auto:
            remap = _remap(rewritten, original)
            return [ResponseRule(remap), ResponseRule(remap, values=True), *self.answers]
        return list(self.answers)


def _remap(source: str, target: str) -> StringRewriter:
    """remapStringRewriter: the name itself and the names below it."""
    def rewrite(name: str) -> str:
        if name == source:
            return target
        if name.endswith("." + source):
            return name[:len(name) - len(source)] + target
        return name
    return rewrite


def _regex_rewriter(pattern: re.Pattern[str], replacement: str) -> StringRewriter:
    def rewrite(text: str) -> str:
        found = pattern.search(text)
        if found is None:
            return text
        result = replacement
        for index, value in enumerate([found.group(0), *found.groups()]):
            result = result.replace("{" + str(index) + "}", value or "")
        return result
    return rewrite


@dataclass
class PassRule:
    """A rule of a field the sandbox does not rewrite."""

    mode: str
    field: str


@dataclass
class Rewrite(Plugin):
    name = "rewrite"
    rules: list[NameRule | PassRule] = field(default_factory=list)

    def serve(self, query: Query, context: Context, following: Next) -> Reply:
        original = name = query.name.lower()
        responses: list[ResponseRule] = []
        for rule in self.rules:
            if isinstance(rule, PassRule):
                continue
            rewritten = rule.apply(name)
            if rewritten is None:
                continue
            if not is_domain_name(rewritten):
                return Reply(SERVFAIL, error=f"invalid name after rewrite: {rewritten}")
            responses += rule.response_rules(name, rewritten)
            name = rewritten
            if rule.mode == "stop":
                break
        if name == original:
            return following(query)
        reply = following(query.renamed(name))
        answer = []
        for record in reply.answer:
            for response in responses:
                if response.values and record.type in ("CNAME", "PTR"):
                    record = replace(record, value=response.rewrite(record.value))
                elif not response.values:
                    record = replace(record, name=response.rewrite(record.name))
            answer.append(record)
        return replace(reply, answer=tuple(answer))


def _answer_rules(match: str, arguments: list[str]) -> tuple[bool, list[ResponseRule]]:
    """parseAnswerRules, with its refusals."""
    auto, rules, index, last, name_rules = False, [], 0, "", 0
    if len(arguments) < 2:
        raise CorefileError(f"invalid arguments for {match} rule")
    while index < len(arguments):
        if last == "" and arguments[index] != "answer":
            raise CorefileError(f"exceeded the number of arguments for a non-answer rule argument for {match} rule")
        if arguments[index] == "answer":
            index += 1
        if index >= len(arguments):
            raise CorefileError(f"type missing for answer rule for {match} rule")
        last = arguments[index]
        index += 1
        if last == "auto":
            auto = True
            continue
        if last in ("name", "value"):
            if len(arguments) - index < 2:
                raise CorefileError(f"{last} answer rule for {match} rule: 2 arguments required")
            pattern = _compile(arguments[index], arguments[index + 1], f"{last} answer rule for {match} rule: ")
            rules.append(ResponseRule(_regex_rewriter(pattern, normalize(arguments[index + 1])), values=last == "value"))
            index += 2
            name_rules += last == "name"
            continue
        raise CorefileError(f'invalid type "{last}" for answer rule for {match} rule')
    if auto and name_rules:
        raise CorefileError("auto name answer rule cannot be combined with explicit name anwer rules")
    return auto, rules


def _compile(source: str, target: str, prefix: str = "") -> re.Pattern[str]:
    try:
        pattern = re.compile(source)
    except re.error:
        raise CorefileError(f"{prefix}invalid regex matching pattern: {source}") from None
    used = sum(1 for index in range(101) if "{" + str(index) + "}" in target)
    if used > pattern.groups:
        raise CorefileError(f"{prefix}the rewrite regex pattern ({target}) uses more subexpressions than its corresponding "
                            f"matching regex pattern ({source})")
    return pattern


def name_rule(mode: str, arguments: list[str]) -> NameRule:
    if len(arguments) < 2:
        raise CorefileError("too few arguments for a name rule")
    if len(arguments) == 2:
        match, source, target = "exact", normalize(arguments[0]), normalize(arguments[1])
    else:
        match = arguments[0].lower()
        source, target = (arguments[1], arguments[2]) if match == "regex" else (normalize(arguments[1]), normalize(arguments[2]))
    auto, answers = _answer_rules(match, arguments[3:]) if len(arguments) > 3 else (False, [])
    if match == "exact":
        _compile(target, source)
        return NameRule(mode, match, source, target, True, answers)
    if match in ("prefix", "suffix", "substring"):
        return NameRule(mode, match, source, target, auto, answers)
    if match == "regex":
        pattern = _compile(source, target)
        return NameRule(mode, match, source, normalize(arguments[2]), auto, answers, pattern)
    raise CorefileError(f"name rule supports only exact, prefix, suffix, substring, and regex name matching, received: {match}")


def new_rule(arguments: list[str]) -> NameRule | PassRule:
    if not arguments:
        raise CorefileError("no rule type specified for rewrite")
    first, mode, start = arguments[0].lower(), "stop", 1
    if first in ("continue", "stop") and len(arguments) > 1:
        mode, start = first, 2
    kind = arguments[start - 1].lower()
    if kind == "answer":
        raise CorefileError("response rewrites must begin with a name rule")
    if kind == "name":
        return name_rule(mode, arguments[start:])
    if kind in ("class", "type") and len(arguments) - start + 1 != 3:
        raise CorefileError(f"{kind} rules must have exactly two arguments")
    if kind in UNSIMULATED_FIELDS:
        return PassRule(mode, kind)
    raise CorefileError(f'invalid rule type "{arguments[0]}"')


def setup(c: Controller) -> Rewrite:
    plugin = Rewrite()
    while c.next():
        arguments = c.remaining_args()
        if len(arguments) < 2:
            while c.next_block():
                arguments.append(c.val())
                while c.next_arg():
                    arguments.append(c.val())
        plugin.rules.append(new_rule(arguments))
    return plugin
