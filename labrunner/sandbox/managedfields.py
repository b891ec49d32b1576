"""Server-side apply's field ownership, for what a learner meets: a field a manager applied
before and leaves out of its next apply is removed from the object (unless another applier
still owns it), as structured-merge-diff does, and ``metadata.managedFields`` records each
applier's fields as ``fieldsV1``, the format ``kubectl get --show-managed-fields`` prints.

The sets follow the schema's list semantics: ``x-kubernetes-list-type: map`` items by their
``x-kubernetes-list-map-keys`` (``k:{"name":"web"}``), ``set`` items by value (``v:...``), and
atomic lists and maps as one field. Updates by other means (PUT, merge and strategic patches)
are not recorded, and conflicts between managers are not raised: the last applier's values win
(a documented simplification).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from labrunner.sandbox import openapi
from labrunner.sandbox.strategic import _field_schema, _resolve

FieldSet = dict[str, Any]
_UNTRACKED_METADATA = frozenset({"name", "namespace", "generateName", "uid", "resourceVersion", "generation",
                                 "creationTimestamp", "deletionTimestamp", "managedFields", "selfLink"})
_KEY_DEFAULTS = {"protocol": "TCP"}
"""List-map keys the API server defaults, as the item's identity uses them (a container port's protocol)."""


def schema_of(group: str, version: str, kind: str) -> dict[str, Any]:
    name = openapi.definition_for(group, version, kind)
    return openapi.definitions().get(name, {}) if name else {}


def field_set(config: dict[str, Any], schema: dict[str, Any]) -> FieldSet:
    """The fields an applied configuration sets, as fieldsV1."""
    found: FieldSet = {}
    for key, value in config.items():
        if key in ("apiVersion", "kind", "status"):
            continue
        if key == "metadata" and isinstance(value, dict):
            metadata = {k: v for k, v in value.items() if k not in _UNTRACKED_METADATA}
            if metadata:
                found["f:metadata"] = _value_set(metadata, _field_schema(schema, key))
            continue
        found[f"f:{key}"] = _value_set(value, _field_schema(schema, key))
    return found


def _value_set(value: Any, schema: dict[str, Any]) -> FieldSet:
    schema = _resolve(schema)
    if isinstance(value, dict) and schema.get("x-kubernetes-map-type") != "atomic":
        return {f"f:{key}": _value_set(item, _field_schema(schema, key)) for key, item in value.items()}
    if isinstance(value, list) and schema.get("x-kubernetes-list-type") == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []
        items = _resolve(schema.get("items") or {})
        found: FieldSet = {}
        for item in value:
            if isinstance(item, dict):
                found["k:" + _identity(item, keys)] = {".": {}, **_value_set(item, items)}
        return found
    if isinstance(value, list) and schema.get("x-kubernetes-list-type") == "set":
        return {"v:" + json.dumps(item, separators=(",", ":")): {} for item in value}
    return {}


def _identity(item: dict[str, Any], keys: list[str]) -> str:
    return json.dumps({key: item.get(key, _KEY_DEFAULTS.get(key)) for key in keys}, separators=(",", ":"), sort_keys=True)


def prune(live: Any, before: FieldSet, now: FieldSet, others: FieldSet, schema: dict[str, Any]) -> None:
    """Remove from ``live`` what ``before`` set and ``now`` does not, unless ``others`` (every other
    applier's fields) holds it."""
    schema = _resolve(schema)
    for key, was in before.items():
        if key == ".":
            continue
        kept, elsewhere = now.get(key), others.get(key)
        if key.startswith("f:") and isinstance(live, dict):
            name = key[2:]
            if name not in live:
                continue
            if kept is None and elsewhere is None:
                del live[name]
            elif was:
                prune(live[name], was, kept or {}, elsewhere or {}, _field_schema(schema, name))
        elif key.startswith("k:") and isinstance(live, list):
            keys = schema.get("x-kubernetes-list-map-keys") or []
            index = next((i for i, item in enumerate(live) if isinstance(item, dict) and _identity(item, keys) == key[2:]), None)
            if index is None:
                continue
            if kept is None and elsewhere is None:
                del live[index]
            else:
                prune(live[index], was, kept or {}, elsewhere or {}, _resolve(schema.get("items") or {}))
        elif key.startswith("v:") and isinstance(live, list) and kept is None and elsewhere is None:
            value = json.loads(key[2:])
            if value in live:
                live.remove(value)


def _union(sets: list[FieldSet]) -> FieldSet:
    merged: FieldSet = {}
    for one in sets:
        for key, child in one.items():
            merged[key] = _union([merged.get(key) or {}, child]) if child else merged.get(key, {})
    return merged


def apply(live: dict[str, Any], applied: dict[str, Any], manager: str, api_version: str, schema: dict[str, Any]) -> None:
    """After the applied configuration was merged into ``live``: remove what ``manager`` applied
    before and no longer does, and record its fields in ``live``'s managedFields."""
    metadata = live.setdefault("metadata", {})
    entries = [e for e in metadata.get("managedFields") or [] if isinstance(e, dict)]
    mine = next((e for e in entries if e.get("manager") == manager and e.get("operation") == "Apply"), None)
    others = [e for e in entries if e is not mine]
    now = field_set(applied, schema)
    if mine is not None:
        prune(live, mine.get("fieldsV1") or {}, now,
              _union([e.get("fieldsV1") or {} for e in others if e.get("operation") == "Apply"]), schema)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    metadata["managedFields"] = [*others, {"manager": manager, "operation": "Apply", "apiVersion": api_version,
                                           "time": stamp, "fieldsType": "FieldsV1", "fieldsV1": now}]
