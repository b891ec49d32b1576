"""``quota-limits`` and ``limit-range``: what a namespace's ResourceQuotas and LimitRanges hold,
compared as quantities (``1`` is ``1000m``, ``128Mi`` is not ``128M``), under any object names.

Named mistakes: a quota in another namespace, ``cpu`` and ``requests.cpu`` (one resource for a
quota, so both are accepted and the tighter wins), a LimitRange's ``default`` (the default
*limit*) where ``defaultRequest`` was meant, a ``max`` the API server turned into the default
limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from labrunner.cluster import errors
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, NonEmptyStr
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.sandbox.quantity import Quantity, parse

ALIASES = {"cpu": "requests.cpu", "memory": "requests.memory", "ephemeral-storage": "requests.ephemeral-storage"}
"""Quota resource names that mean the same (pkg/quota/v1/evaluator/core: cpu is requests.cpu)."""


class QuotaLimits(CheckArgs):
    """The ResourceQuotas of ``namespace`` (any names) limit each resource of ``hard`` to that
    quantity (the tightest quota counts; ``cpu`` and ``requests.cpu`` are one resource)."""

    kind: Literal["quota-limits"]
    namespace: KubeName
    hard: dict[NonEmptyStr, NonEmptyStr] = Field(min_length=1)


class LimitRangeArgs(CheckArgs):
    """A LimitRange of ``namespace`` (any name) has an item of ``type`` whose ``default`` (the
    default limit), ``default_request``, ``min``, ``max`` and ``max_limit_request_ratio`` hold
    the quantities given (others are not compared)."""

    kind: Literal["limit-range"]
    namespace: KubeName
    type: Literal["Container", "Pod", "PersistentVolumeClaim"] = "Container"
    default: dict[NonEmptyStr, NonEmptyStr] = {}
    default_request: dict[NonEmptyStr, NonEmptyStr] = {}
    min: dict[NonEmptyStr, NonEmptyStr] = {}
    max: dict[NonEmptyStr, NonEmptyStr] = {}
    max_limit_request_ratio: dict[NonEmptyStr, NonEmptyStr] = {}


def _quantity(text: Any) -> Quantity | None:
    try:
        return parse(text)
    except ValueError:
        return None


def _unit_note(have: str, want: str) -> str:
    """``128M`` beside ``128Mi``: the classic unit slip."""
    if have.rstrip("i") == want.rstrip("i") and have != want:
        return f" ({have} and {want} differ: M is 10^6 bytes, Mi is 2^20)"
    return ""


def _elsewhere(context: CheckContext, plural: str, namespace: str) -> list[str]:
    try:
        found = [o for o in context.cluster.list(plural) if (o.get("metadata") or {}).get("namespace") != namespace]
    except errors.ClusterError:
        return []
    return [f"{'ResourceQuota' if plural == 'resourcequotas' else 'LimitRange'} {o['metadata']['name']} is in namespace "
            f"{o['metadata']['namespace']}: it applies only there" for o in found[:3]]


def quota_limits(args: QuotaLimits, context: CheckContext) -> Outcome:
    quotas = context.cluster.list("resourcequotas", args.namespace)
    if not quotas:
        return "failed", f"no ResourceQuota in {args.namespace}", _elsewhere(context, "resourcequotas", args.namespace)
    problems: list[str] = []
    for resource, wanted_text in sorted(args.hard.items()):
        wanted = _quantity(wanted_text)
        canonical = ALIASES.get(resource, resource)
        limits: list[tuple[Quantity, str, str]] = []
        for quota in quotas:
            for key, value in ((quota.get("spec") or {}).get("hard") or {}).items():
                if ALIASES.get(key, key) == canonical and (found := _quantity(value)) is not None:
                    limits.append((found, quota["metadata"]["name"], f"{key}: {value}"))
        if not limits:
            names = ", ".join(q["metadata"]["name"] for q in quotas)
            problems.append(f"no ResourceQuota in {args.namespace} limits {resource} (quotas: {names})")
            continue
        tightest = min(limits, key=lambda item: item[0].value)
        if wanted is not None and tightest[0].value != wanted.value:
            problems.append(f"ResourceQuota {tightest[1]} limits {tightest[2]}; this step wants {resource}: {wanted_text}"
                            + _unit_note(tightest[2].split(": ", 1)[1], wanted_text))
    if problems:
        return "failed", f"the quotas of {args.namespace} do not limit what this step asks", problems
    said = ", ".join(f"{key}={value}" for key, value in sorted(args.hard.items()))
    return "passed", f"the quotas of {args.namespace} limit {said}", []


FIELDS = (("default", "default"), ("default_request", "defaultRequest"), ("min", "min"), ("max", "max"),
          ("max_limit_request_ratio", "maxLimitRequestRatio"))


def _item_problems(args: LimitRangeArgs, name: str, item: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for attribute, field in FIELDS:
        wanted: dict[str, str] = getattr(args, attribute)
        have = item.get(field) or {}
        for resource, value in sorted(wanted.items()):
            want = _quantity(value)
            if resource not in have:
                other = "defaultRequest" if field == "default" else "default" if field == "defaultRequest" else ""
                if other and resource in (item.get(other) or {}):
                    meaning = "the default limit" if field == "defaultRequest" else "the default request"
                    problems.append(f"LimitRange {name} sets {other}.{resource} ({meaning}); this step wants {field}.{resource}: "
                                    f"{value} ({'default is the limit a container gets' if field == 'default' else 'defaultRequest is the request'})")
                else:
                    problems.append(f"LimitRange {name} sets no {field}.{resource}; this step wants {value}")
                continue
            found = _quantity(have[resource])
            if want is not None and found is not None and found.value != want.value:
                note = ""
                default_here = (item.get("default") or {}).get(resource)
                request_here = (item.get("defaultRequest") or {}).get(resource)
                asked_request = _quantity(args.default_request.get(resource)) if resource in args.default_request else None
                if field == "default" and str(have[resource]) == str((item.get("max") or {}).get(resource)) and "default" not in args.default:
                    note = " (with no default given, the API server makes the max the default limit)"
                elif field == "default" and asked_request is not None and found.value == asked_request.value:
                    note = (f" (default is the default limit; {have[resource]} looks meant as defaultRequest, the default request)")
                elif field == "defaultRequest" and str(default_here) == str(request_here) == str((item.get("max") or {}).get(resource)):
                    note = (" (with only max given, the API server makes it the default limit and the default limit the default "
                            "request; give defaultRequest itself)")
                elif field == "defaultRequest" and str(default_here) == str(request_here):
                    note = (" (defaultRequest equals default: when only default is given, the API server copies it into "
                            "defaultRequest; give defaultRequest itself)")
                problems.append(f"LimitRange {name} has {field}.{resource}: {have[resource]}; this step wants {value}"
                                + _unit_note(str(have[resource]), value) + note)
    return problems


def limit_range(args: LimitRangeArgs, context: CheckContext) -> Outcome:
    ranges = context.cluster.list("limitranges", args.namespace)
    if not ranges:
        return "failed", f"no LimitRange in {args.namespace}", _elsewhere(context, "limitranges", args.namespace)
    best: list[str] | None = None
    for limit_range_obj in ranges:
        name = limit_range_obj["metadata"]["name"]
        items = [i for i in (limit_range_obj.get("spec") or {}).get("limits") or () if i.get("type") == args.type]
        for item in items:
            problems = _item_problems(args, name, item)
            if not problems:
                return "passed", f"LimitRange {name} sets what this step asks for each {args.type}", []
            if best is None or len(problems) < len(best):
                best = problems
    if best is None:
        kinds = sorted({str(i.get("type")) for r in ranges for i in (r.get("spec") or {}).get("limits") or ()})
        return "failed", f"no LimitRange in {args.namespace} has an item of type {args.type}", [
            f"their items are of type {', '.join(kinds) or 'none'}"]
    return "failed", f"the LimitRanges of {args.namespace} do not set what this step asks for each {args.type}", best


KINDS = (CheckKind(model=QuotaLimits, run=quota_limits, watches=("resourcequotas",)),
         CheckKind(model=LimitRangeArgs, run=limit_range, watches=("limitranges",)))
