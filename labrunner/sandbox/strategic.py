"""Strategic merge patch, driven by the schema's patch metadata.

What ``kubectl patch`` (by default), ``kubectl edit`` and a changed ``kubectl
apply`` send. Maps merge (``null`` deletes a key); a list whose schema says
``x-kubernetes-patch-strategy: merge`` with ``x-kubernetes-patch-merge-key: K``
merges item by item on K (containers by name, ports by containerPort...); a
primitive list with strategy merge is a union; any other list is replaced.
Directives: ``$patch: replace|delete|merge`` in a map or list item,
``$deleteFromPrimitiveList/<field>``, ``$retainKeys``, and
``$setElementOrder/<field>`` (honoured for the order of merged lists).
The strategies come from the 1.32 schemas, never from a table of our own.
"""

from __future__ import annotations

import copy
from typing import Any

from labrunner.sandbox import openapi

_REF = "#/$defs/"


class PatchError(ValueError):
    pass


def _resolve(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return {}
    while "$ref" in schema and str(schema["$ref"]).startswith(_REF):
        schema = openapi.definitions().get(schema["$ref"][len(_REF):], {})
    return schema


def _field_schema(schema: dict[str, Any], key: str) -> dict[str, Any]:
    schema = _resolve(schema)
    properties = schema.get("properties")
    if isinstance(properties, dict) and key in properties:
        return properties[key]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else {}


def strategic_merge(original: Any, patch: Any, group: str, version: str, kind: str) -> Any:
    name = openapi.definition_for(group, version, kind)
    schema = openapi.definitions().get(name, {}) if name else {}
    return _merge_map(copy.deepcopy(original), patch, schema)


def _merge_map(original: Any, patch: Any, schema: dict[str, Any]) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    result: dict[str, Any] = dict(original) if isinstance(original, dict) else {}
    retain = patch.get("$retainKeys")
    orders = {k.split("/", 1)[1]: v for k, v in patch.items() if k.startswith("$setElementOrder/")}
    for key, value in patch.items():
        if key.startswith("$"):
            if key.startswith("$deleteFromPrimitiveList/"):
                field = key.split("/", 1)[1]
                result[field] = [item for item in result.get(field) or [] if item not in value]
            continue
        if value is None:
            result.pop(key, None)
            continue
        field_schema = _resolve(_field_schema(schema, key))
        if isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, field_schema, orders.get(key))
        elif isinstance(value, dict):
            merged = _merge_map(result.get(key), value, field_schema)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(original: Any, patch: list[Any], schema: dict[str, Any], order: list[Any] | None) -> list[Any]:
    strategy = str(schema.get("x-kubernetes-patch-strategy", ""))
    merge_key = schema.get("x-kubernetes-patch-merge-key")
    original_list = list(original) if isinstance(original, list) else []
    if "merge" not in strategy.split(","):
        return [copy.deepcopy(item) for item in patch if not (isinstance(item, dict) and item.get("$patch"))]
    if not merge_key:
        merged = list(original_list)  # a set of primitives
        for item in patch:
            if item not in merged:
                merged.append(copy.deepcopy(item))
        return _ordered(merged, order, None)
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [copy.deepcopy(item) for item in patch if not (isinstance(item, dict) and "$patch" in item)]
    item_schema = _resolve(schema.get("items") or {})
    merged = [copy.deepcopy(item) for item in original_list]
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            raise PatchError(f"a list item lacks its merge key {merge_key!r}")
        index = next((i for i, existing in enumerate(merged) if isinstance(existing, dict) and existing.get(merge_key) == item[merge_key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                merged.pop(index)
            continue
        if index is None:
            merged.append(_merge_map({}, item, item_schema))
        else:
            merged[index] = _merge_map(merged[index], item, item_schema)
    return _ordered(merged, order, merge_key)


def _ordered(items: list[Any], order: list[Any] | None, merge_key: str | None) -> list[Any]:
    if not order:
        return items

    def key_of(item: Any) -> Any:
        return item.get(merge_key) if merge_key and isinstance(item, dict) else item

    wanted = [key_of(entry) for entry in order]
    ranked = {json_key: position for position, json_key in enumerate(map(repr, wanted))}
    return sorted(items, key=lambda item: ranked.get(repr(key_of(item)), len(ranked)))
