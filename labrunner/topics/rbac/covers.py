"""Whether the rules a user holds cover the rules they grant: kube-apiserver's check before it
stores a Role, a ClusterRole or a binding a user without ``escalate`` or ``bind`` sends.

Follows k8s.io/component-helpers/auth/rbac/validation/policy_comparator.go (``Covers``,
``BreakdownRule``, ``ruleCovers``), then pkg/registry/rbac/validation's ``CompactRules`` and
``ConfirmNoEscalation`` for the words. Each granted rule is broken into pieces of one API group,
one resource, one verb and at most one object name (or one path and one verb), and each piece
must be covered by a single held rule. Coverage is not the authorizer's matching: a held ``*``
covers any verb, group or resource, ``*/scale`` covers the scale of every resource, a held rule
naming objects covers only pieces naming one of them, a held path ending in ``*`` covers the
paths it starts; nothing else is a wildcard (a held ``pods/*`` covers ``pods/*`` only).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from labrunner.topics.rbac.evaluate import go_quote
from labrunner.topics.rbac.model import ALL, Rule


def breakdown(rule: Rule) -> list[Rule]:
    """``rule`` as pieces of one group, resource, verb and name, then one path and verb each
    (a rule with no verbs, or no groups, grants nothing and has no pieces)."""
    pieces: list[Rule] = []
    for group in rule.api_groups:
        for resource in rule.resources:
            for verb in rule.verbs:
                if rule.resource_names:
                    pieces += [Rule(verbs=(verb,), api_groups=(group,), resources=(resource,), resource_names=(name,))
                               for name in rule.resource_names]
                else:
                    pieces.append(Rule(verbs=(verb,), api_groups=(group,), resources=(resource,)))
    for path in rule.non_resource_urls:
        pieces += [Rule(verbs=(verb,), non_resource_urls=(path,)) for verb in rule.verbs]
    return pieces


def _resources_cover(held: Sequence[str], wanted: Sequence[str]) -> bool:
    if ALL in held or set(wanted) <= set(held):
        return True
    for resource in wanted:
        if resource in held:
            continue
        if "/" not in resource or f"*/{resource.split('/', 1)[1]}" not in held:
            return False
    return True


def _path_covers(held: str, path: str) -> bool:
    return held == path or (held.endswith("*") and path.startswith(held.rstrip("*")))


def rule_covers(held: Rule, piece: Rule) -> bool:
    """Whether one held rule covers one piece of :func:`breakdown` (ruleCovers)."""
    verbs = ALL in held.verbs or set(piece.verbs) <= set(held.verbs)
    groups = ALL in held.api_groups or set(piece.api_groups) <= set(held.api_groups)
    paths = all(any(_path_covers(owned, path) for owned in held.non_resource_urls) for path in piece.non_resource_urls)
    if piece.resource_names:
        names = not held.resource_names or set(piece.resource_names) <= set(held.resource_names)
    else:
        names = not held.resource_names
    return verbs and groups and _resources_cover(held.resources, piece.resources) and names and paths


def uncovered(held: Iterable[Rule], granted: Iterable[Rule]) -> list[Rule]:
    """The pieces of ``granted`` no rule of ``held`` covers, in the order of the granted rules
    (Covers: the user holds them all when this is empty)."""
    owned = list(held)
    return [piece for rule in granted for piece in breakdown(rule) if not any(rule_covers(o, piece) for o in owned)]


def compact(rules: Sequence[Rule]) -> list[Rule]:
    """CompactRules: pieces of one group and one resource, without names, joined into one rule
    with all their verbs; every other rule kept as it is."""
    joined: dict[tuple[str, str], list[str]] = {}
    kept: list[Rule] = []
    for rule in rules:
        if rule.resource_names or rule.non_resource_urls or len(rule.api_groups) != 1 or len(rule.resources) != 1:
            kept.append(rule)
        else:
            joined.setdefault((rule.api_groups[0], rule.resources[0]), []).extend(rule.verbs)
    return kept + [Rule(verbs=tuple(verbs), api_groups=(group,), resources=(resource,)) for (group, resource), verbs in joined.items()]


def _go_strings(values: Sequence[str]) -> str:
    """A ``[]string`` as Go's ``%q`` prints it: ``["get" "list"]``."""
    return "[" + " ".join(go_quote(value) for value in values) + "]"


def compact_string(rule: Rule) -> str:
    """CompactString: ``{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}``, empty fields left out."""
    fields = (("APIGroups", rule.api_groups), ("Resources", rule.resources), ("NonResourceURLs", rule.non_resource_urls),
              ("ResourceNames", rule.resource_names), ("Verbs", rule.verbs))
    return "{" + ", ".join(f"{name}:{_go_strings(values)}" for name, values in fields if values) + "}"


def not_held_message(user: str, groups: Sequence[str], missing: Sequence[Rule], resolution_errors: Sequence[str] = ()) -> str:
    """ConfirmNoEscalation's error: who, then each missing permission compacted, once, sorted; the
    API server's 403 is ``<resource> "<name>" is forbidden: `` followed by this.

    Args:
        user: the requesting user's name.
        groups: their groups, as the authenticator gave them.
        missing: what :func:`uncovered` left.
        resolution_errors: why some of the user's bindings gave no rules (a role that does not
            exist), as the API server words each; said after the list.
    """
    described = sorted({compact_string(rule) for rule in compact(missing)})
    message = (f"user {go_quote(user)} (groups={_go_strings(groups)}) is attempting to grant RBAC permissions "
               "not currently held:\n" + "\n".join(described))
    if resolution_errors:
        said = list(dict.fromkeys(resolution_errors))
        aggregate = said[0] if len(said) == 1 else "[" + ", ".join(said) + "]"
        message += f"; resolution errors: [{aggregate}]"
    return message
