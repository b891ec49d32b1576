"""Custom resources as apiextensions-apiserver treats them: their CRD's structural schema
prunes unknown fields (or refuses them under ``fieldValidation=Strict``), fills defaults and
validates every write, and its additionalPrinterColumns are ``kubectl get``'s columns.

Validation covers the OpenAPI keywords (type, required, enum, pattern, min/maxLength,
minimum/maximum, min/maxItems, maxProperties, ``x-kubernetes-list-type`` map keys and sets),
each error in the API server's words, all of them in one 422. Not evaluated: CEL rules
(``x-kubernetes-validations``) and ``format`` beyond the type; a CRD relying on them accepts
here what a real API server would refuse.
"""

from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from labrunner.sandbox.resource_hooks import FieldError


@dataclass(frozen=True)
class Version:
    group: str
    version: str
    kind: str
    plural: str
    schema: dict[str, Any]
    columns: tuple[dict[str, Any], ...]


_versions: dict[tuple[str, str, str], Version] = {}


def refresh(crds: list[dict[str, Any]]) -> None:
    """Learn the schemas and printer columns of the stored definitions (replacing the previous ones)."""
    found: dict[tuple[str, str, str], Version] = {}
    for crd in crds:
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        for version in spec.get("versions") or []:
            schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or {}
            key = (str(spec.get("group", "")), str(version.get("name", "")), str(names.get("plural", "")))
            found[key] = Version(key[0], key[1], str(names.get("kind", "")), key[2], schema, tuple(version.get("additionalPrinterColumns") or ()))
    _versions.clear()
    _versions.update(found)


def version_of(group: str, version: str, plural: str) -> Version | None:
    return _versions.get((group, version, plural))


# -- pruning --------------------------------------------------------------------------------


def unknown_field_places(obj: Any, schema: dict[str, Any]) -> list[tuple[str, tuple[str | int, ...]]]:
    """The fields the schema does not declare (metadata's own are the object's), sorted."""
    found: list[tuple[str, tuple[str | int, ...]]] = []

    def walk(value: Any, node: dict[str, Any], path: str, keys: tuple[str | int, ...]) -> None:
        if not isinstance(node, dict) or node.get("x-kubernetes-preserve-unknown-fields"):
            return
        if isinstance(value, dict):
            properties = node.get("properties")
            extra = node.get("additionalProperties")
            if properties is None:
                if isinstance(extra, dict):
                    for key, item in value.items():
                        walk(item, extra, f"{path}.{key}" if path else str(key), (*keys, key))
                return
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if key in properties:
                    if not keys and key == "metadata":
                        continue
                    walk(item, properties[key], child, (*keys, key))
                elif not (not keys and key in ("apiVersion", "kind", "metadata")):
                    found.append((child, (*keys, key)))
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            for index, item in enumerate(value):
                walk(item, node["items"], f"{path}[{index}]", (*keys, index))

    walk(obj, schema, "", ())
    return sorted(found, key=lambda place: place[0])


# -- defaulting -------------------------------------------------------------------------------


def apply_defaults(obj: Any, schema: dict[str, Any]) -> None:
    """structuraldefaulting.Default: an absent property with a default gets a copy of it, and
    defaults apply inside what was defaulted as inside what was sent."""
    if isinstance(obj, dict):
        properties = schema.get("properties") or {}
        for key, node in properties.items():
            if key not in obj and isinstance(node, dict) and "default" in node:
                obj[key] = copy.deepcopy(node["default"])
        for key, value in obj.items():
            node = properties.get(key)
            if node is None and isinstance(schema.get("additionalProperties"), dict):
                node = schema["additionalProperties"]
            if isinstance(node, dict):
                apply_defaults(value, node)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for item in obj:
            apply_defaults(item, schema["items"])


# -- validation -------------------------------------------------------------------------------

_JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    names: dict[type, str] = {dict: "object", list: "array", str: "string"}
    return names.get(type(value), "unknown")


def _fits(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    wanted = _JSON_TYPES.get(kind)
    return wanted is None or isinstance(value, wanted) and not (wanted is not bool and isinstance(value, bool))


def _quoted(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else json.dumps(value)


def _go_map(value: dict[str, Any]) -> str:
    """How Go's %#v prints a list-map item's keys (the Duplicate value's text)."""
    inner = ", ".join(f'"{key}":{_quoted(item)}' for key, item in sorted(value.items()))
    return f"map[string]interface {{}}{{{inner}}}"


def validate(obj: Any, schema: dict[str, Any]) -> list[FieldError]:
    """Every violation of ``schema`` in ``obj``, in the API server's words."""
    errors: list[FieldError] = []

    def walk(value: Any, node: dict[str, Any], path: str) -> None:
        if not isinstance(node, dict) or node.get("x-kubernetes-int-or-string") and isinstance(value, (int, str)):
            return
        kind = node.get("type")
        if value is None:
            if not node.get("nullable"):
                errors.append(FieldError("FieldValueTypeInvalid", path, f'Invalid value: "null": {path} in body must be of type {kind}: "null"'))
            return
        if isinstance(kind, str) and not _fits(value, kind):
            errors.append(FieldError("FieldValueTypeInvalid", path, f'Invalid value: "{_type_name(value)}": {path} in body must be of type {kind}: "{_type_name(value)}"'))
            return
        if "enum" in node and value not in node["enum"]:
            supported = ", ".join(_quoted(item) for item in node["enum"])
            errors.append(FieldError("FieldValueNotSupported", path, f"Unsupported value: {_quoted(value)}: supported values: {supported}"))
        if isinstance(value, str):
            if "maxLength" in node and len(value) > node["maxLength"]:
                errors.append(FieldError("FieldValueTooLong", path, f"Too long: may not be more than {node['maxLength']} bytes"))
            if "minLength" in node and len(value) < node["minLength"]:
                errors.append(FieldError("FieldValueInvalid", path, f'Invalid value: "{value}": {path} in body should be at least {node["minLength"]} chars long'))
            if "pattern" in node and re.search(_python_pattern(node["pattern"]), value) is None:
                errors.append(FieldError("FieldValueInvalid", path, f'Invalid value: "{value}": {path} in body should match \'{node["pattern"]}\''))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in node and value < node["minimum"]:
                errors.append(FieldError("FieldValueInvalid", path, f"Invalid value: {value}: {path} in body should be greater than or equal to {node['minimum']}"))
            if "maximum" in node and value > node["maximum"]:
                errors.append(FieldError("FieldValueInvalid", path, f"Invalid value: {value}: {path} in body should be less than or equal to {node['maximum']}"))
        if isinstance(value, list):
            if "maxItems" in node and len(value) > node["maxItems"]:
                errors.append(FieldError("FieldValueTooMany", path, f"Too many: {len(value)}: must have at most {node['maxItems']} items"))
            if "minItems" in node and len(value) < node["minItems"]:
                errors.append(FieldError("FieldValueInvalid", path, f"Invalid value: {len(value)}: {path} in body should have at least {node['minItems']} items"))
            _list_type(value, node, path, errors)
            for index, item in enumerate(value):
                walk(item, node.get("items") or {}, f"{path}[{index}]")
        if isinstance(value, dict):
            if "maxProperties" in node and len(value) > node["maxProperties"]:
                errors.append(FieldError("FieldValueTooMany", path, f"Too many: {len(value)}: must have at most {node['maxProperties']} items"))
            for required in node.get("required") or []:
                if required not in value:
                    errors.append(FieldError("FieldValueRequired", f"{path}.{required}" if path else required, "Required value"))
            properties = node.get("properties") or {}
            for key, item in value.items():
                child = f"{path}.{key}" if path else key
                if key in properties:
                    if not (path == "" and key == "metadata"):
                        walk(item, properties[key], child)
                elif isinstance(node.get("additionalProperties"), dict):
                    walk(item, node["additionalProperties"], child)

    walk(obj, schema, "")
    return errors


def _list_type(value: list[Any], node: dict[str, Any], path: str, errors: list[FieldError]) -> None:
    list_type = node.get("x-kubernetes-list-type")
    if list_type == "set":
        seen: list[Any] = []
        for index, item in enumerate(value):
            if item in seen:
                errors.append(FieldError("FieldValueDuplicate", f"{path}[{index}]", f"Duplicate value: {_quoted(item)}"))
            seen.append(item)
    elif list_type == "map":
        keys = node.get("x-kubernetes-list-map-keys") or []
        seen_keys: list[tuple[Any, ...]] = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            identity = tuple(item.get(key) for key in keys)
            if identity in seen_keys:
                errors.append(FieldError("FieldValueDuplicate", f"{path}[{index}]",
                                         f"Duplicate value: {_go_map({key: item.get(key) for key in keys if key in item})}"))
            seen_keys.append(identity)


def _python_pattern(pattern: str) -> str:
    """ECMA-262 as the API server reads it (Go's regexp, RE2) in Python's re: the same for the
    patterns CRDs use, but for ``\\x60``-style escapes, which both read."""
    return pattern


# -- printer columns --------------------------------------------------------------------------


def column_cells(columns: tuple[dict[str, Any], ...], obj: dict[str, Any]) -> list[Any]:
    """The tableconvertor's cells: the JSONPath's first result; a string column prints it as
    JSONPath prints (a list as JSON), a date column as an age."""
    from labrunner.sandbox.store import seconds
    from labrunner.sandbox.tables import human_duration

    cells: list[Any] = []
    for column in columns:
        found = _json_path(str(column.get("jsonPath", "")), obj)
        if found is None:
            cells.append(None)
            continue
        kind = column.get("type")
        if kind == "date":
            cells.append(human_duration(time.time() - seconds(str(found))) if isinstance(found, str) else None)
        elif kind == "string":
            cells.append(found if isinstance(found, str) else json.dumps(found, separators=(",", ":")))
        else:
            cells.append(found)
    return cells


_FILTER = re.compile(r'^\[\?\(@\.([A-Za-z0-9_]+)\s*==\s*["\']([^"\']*)["\']\)\]')


def _json_path(path: str, obj: Any) -> Any:
    """The first result of a simple JSONPath (``.a.b``, ``[*]``, ``[0]``, ``[?(@.k=="v")]``)."""
    values = [obj]
    rest = path.strip()
    while rest:
        if rest.startswith("."):
            match = re.match(r"^\.([A-Za-z0-9_\-]+)", rest)
            if match is None:
                return None
            values = [v[match.group(1)] for v in values if isinstance(v, dict) and match.group(1) in v]
            rest = rest[match.end():]
        elif rest.startswith("[*]"):
            values = [item for v in values if isinstance(v, list) for item in v]
            rest = rest[3:]
        elif (index := re.match(r"^\[(\d+)\]", rest)) is not None:
            values = [v[int(index.group(1))] for v in values if isinstance(v, list) and len(v) > int(index.group(1))]
            rest = rest[index.end():]
        elif (condition := _FILTER.match(rest)) is not None:
            values = [item for v in values if isinstance(v, list) for item in v
                      if isinstance(item, dict) and str(item.get(condition.group(1))) == condition.group(2)]
            rest = rest[condition.end():]
        else:
            return None
    return values[0] if values else None
