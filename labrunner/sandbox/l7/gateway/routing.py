"""Which HTTPRoute rule answers a request, and what its filters make of it: pure.

The Gateway API's precedence (HTTPRouteRule's documentation): among the rules of the routes
attached for the request's host, an Exact path beats any prefix, a longer PathPrefix a
shorter one, then a method match, then more header matches, then more query matches; ties go to
the oldest route, then ``namespace/name``, then the rule's order. PathPrefix matches whole path
elements (``/foo`` takes ``/foo/bar``, not ``/foobar``). Hosts: an exact name, then the longest
wildcard, then routes without hostnames; a host no route serves is NGF's 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Candidate:
    route: dict[str, Any]
    rule_index: int
    hostnames: tuple[str, ...]
    """The hostnames the route serves on this listener (``*``: any)."""


@dataclass(frozen=True)
class Matched:
    route: dict[str, Any]
    rule_index: int
    rule: dict[str, Any]
    match: dict[str, Any]


def path_matches(match: dict[str, Any], path: str) -> int | None:
    """The match's path specificity for ``path`` (higher wins), or None."""
    spec = match.get("path") or {"type": "PathPrefix", "value": "/"}
    kind, value = spec.get("type", "PathPrefix"), str(spec.get("value", "/"))
    if kind == "Exact":
        return 1_000_000 + len(value) if path == value else None
    if kind == "RegularExpression":
        return len(value) if re.fullmatch(value, path) else None
    prefix = value.rstrip("/")
    if prefix == "" or path == prefix or path.startswith(prefix + "/"):
        return len(prefix) + 1
    return None


def _headers_match(match: dict[str, Any], headers: dict[str, str]) -> bool:
    lowered = {key.lower(): value for key, value in headers.items()}
    for header in match.get("headers") or []:
        value = lowered.get(str(header.get("name", "")).lower())
        if value is None:
            return False
        if header.get("type", "Exact") == "RegularExpression":
            if re.search(str(header.get("value", "")), value) is None:
                return False
        elif value != header.get("value"):
            return False
    return True


def _query_matches(match: dict[str, Any], query: dict[str, str]) -> bool:
    for parameter in match.get("queryParams") or []:
        value = query.get(str(parameter.get("name", "")))
        if value is None:
            return False
        if parameter.get("type", "Exact") == "RegularExpression":
            if re.search(str(parameter.get("value", "")), value) is None:
                return False
        elif value != parameter.get("value"):
            return False
    return True


def _host_rank(served: tuple[str, ...], host: str) -> int | None:
    best: int | None = None
    for name in served:
        if name == host:
            rank = 3_000 + len(name)
        elif name.startswith("*.") and host.endswith(name[1:]):
            rank = 2_000 + len(name)
        elif name == "*":
            rank = 1_000
        else:
            continue
        best = rank if best is None else max(best, rank)
    return best


def choose(candidates: list[Candidate], host: str, method: str, path: str, headers: dict[str, str], query: dict[str, str]) -> Matched | None:
    """The rule that takes the request, or None (NGF's 404)."""
    host = host.split(":")[0].lower()
    ranked = [(rank, c) for c in candidates if (rank := _host_rank(c.hostnames, host)) is not None]
    if not ranked:
        return None
    best_host = max(rank for rank, _ in ranked)
    found: list[tuple[tuple[Any, ...], Matched]] = []
    for _, candidate in [(rank, c) for rank, c in ranked if rank == best_host]:
        rule = ((candidate.route.get("spec") or {}).get("rules") or [])[candidate.rule_index]
        for match in rule.get("matches") or [{"path": {"type": "PathPrefix", "value": "/"}}]:
            specificity = path_matches(match, path)
            if specificity is None or (match.get("method") and match["method"] != method):
                continue
            if not _headers_match(match, headers) or not _query_matches(match, query):
                continue
            metadata = candidate.route["metadata"]
            key = (-specificity, 0 if match.get("method") else 1, -len(match.get("headers") or []), -len(match.get("queryParams") or []),
                   str(metadata.get("creationTimestamp", "")), f"{metadata.get('namespace')}/{metadata.get('name')}", candidate.rule_index)
            found.append((key, Matched(candidate.route, candidate.rule_index, rule, match)))
    if not found:
        return None
    return min(found, key=lambda pair: pair[0])[1]


def rewritten_path(path: str, match: dict[str, Any], modifier: dict[str, Any]) -> str:
    """URLRewrite's or RequestRedirect's path: ReplaceFullPath, or ReplacePrefixMatch of the matched prefix."""
    if modifier.get("type") == "ReplaceFullPath":
        return str(modifier.get("replaceFullPath", "/"))
    if modifier.get("type") == "ReplacePrefixMatch":
        prefix = str((match.get("path") or {}).get("value", "/")).rstrip("/")
        replacement = str(modifier.get("replacePrefixMatch", "/"))
        rest = path[len(prefix):]
        if replacement.endswith("/") and rest.startswith("/"):
            rest = rest[1:]
        joined = replacement + rest
        return joined if joined.startswith("/") else "/" + joined
    return path


def modified_headers(headers: dict[str, str], modifier: dict[str, Any]) -> dict[str, str]:
    """RequestHeaderModifier: set replaces, add appends (a comma between), remove drops; names case-insensitive."""
    result = dict(headers)

    def key_of(name: str) -> str | None:
        return next((key for key in result if key.lower() == name.lower()), None)

    for header in modifier.get("set") or []:
        if (present := key_of(str(header["name"]))) is not None:
            del result[present]
        result[str(header["name"])] = str(header["value"])
    for header in modifier.get("add") or []:
        present = key_of(str(header["name"]))
        if present is not None:
            result[present] = f"{result[present]},{header['value']}"
        else:
            result[str(header["name"])] = str(header["value"])
    for name in modifier.get("remove") or []:
        if (present := key_of(str(name))) is not None:
            del result[present]
    return result
