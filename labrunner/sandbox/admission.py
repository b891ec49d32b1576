"""What a body must be before anything reads it: the group-version-kind its URL serves, and
every field of the type the 1.32 schema gives it, refused in kube-apiserver's words.

The API server decodes a JSON body into its Go struct, so a wrong-typed field is Go's
encoding/json error (``json: cannot unmarshal string into Go struct field
DeploymentSpec.spec.replicas of type int32``); a strategic merge patch goes through the
unstructured converter instead, which words the same fault differently (``json: cannot
unmarshal string into Go value of type int32``, ``cannot convert int64 to string``,
``cannot restore struct from: string``). Both are found by one walk over the schema; only
the first fault in the body's order is reported, as Go reports only its first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from labrunner.sandbox import openapi, resources
from labrunner.sandbox.resources import ResourceType

_REF = "#/$defs/"
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
QUANTITY_FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


@dataclass(frozen=True)
class _Shape:
    kind: str
    """struct, map, slice, int32, int64, float64, string, bytes, bool, intorstring, quantity or any."""
    go_type: str
    schema: dict[str, Any]
    struct: str = ""
    """For a struct: its Go type's name (the ``Struct`` of Go's error)."""


@dataclass(frozen=True)
class Mismatch:
    value: Any
    struct: str
    field: str
    """The struct fields from the root, dotted, as Go names them (no indices, no map keys)."""
    shape: _Shape


def _shape(schema: Any) -> _Shape:
    if not isinstance(schema, dict) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return _Shape("any", "interface {}", {})
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith(_REF):
        name = reference[len(_REF):]
        if name.endswith("util.intstr.IntOrString"):
            return _Shape("intorstring", "intstr.IntOrString", {})
        if name.endswith("api.resource.Quantity"):
            return _Shape("quantity", "resource.Quantity", {})
        inner = _shape(openapi.definitions().get(name, {}))
        if inner.kind == "struct":
            package, _, type_name = name.rpartition(".")
            return _Shape("struct", f"{package.rpartition('.')[2]}.{type_name}", inner.schema, type_name)
        return inner  # a named scalar (Time, a string enum): Go reads it as the scalar
    types = schema.get("type")
    kinds = [t for t in (types if isinstance(types, list) else [types]) if t not in (None, "null")]
    kind = kinds[0] if len(kinds) == 1 else None
    if kind == "integer":
        size = "int32" if schema.get("format") == "int32" else "int64"
        return _Shape(size, size, schema)
    if kind == "number":
        return _Shape("float64", "float64", schema)
    if kind == "boolean":
        return _Shape("bool", "bool", schema)
    if kind == "string":
        return _Shape("bytes", "[]uint8", schema) if schema.get("format") == "byte" else _Shape("string", "string", schema)
    if kind == "array":
        items = _shape(schema.get("items"))
        return _Shape("slice", f"[]{items.go_type}", schema)
    if kind == "object":
        if isinstance(schema.get("properties"), dict):
            return _Shape("struct", "struct", schema, "")
        if isinstance(schema.get("additionalProperties"), dict):
            return _Shape("map", f"map[string]{_shape(schema['additionalProperties']).go_type}", schema)
    return _Shape("any", "interface {}", schema)


def _fits(value: Any, shape: _Shape) -> bool:
    """Whether Go's encoding/json takes ``value`` into a field of ``shape`` (scalars; null always)."""
    boolean = value is True or value is False
    if shape.kind in _INT_RANGES:
        low, high = _INT_RANGES[shape.kind]
        return isinstance(value, int) and not boolean and low <= value <= high
    if shape.kind == "float64":
        return isinstance(value, (int, float)) and not boolean
    if shape.kind in ("string", "bytes"):
        return isinstance(value, str)
    if shape.kind == "bool":
        return boolean
    return True


def first_mismatch(obj: Any, group: str, version: str, kind: str) -> Mismatch | None:
    """The first field of ``obj`` (in its own order) whose JSON type its Go field cannot take."""
    name = openapi.definition_for(group, version, kind)
    if name is None:
        return None
    root = _shape({"$ref": _REF + name})

    def walk(value: Any, shape: _Shape, struct: str, fields: tuple[str, ...]) -> Mismatch | None:
        if value is None or shape.kind == "any":
            return None
        if shape.kind == "struct":
            if not isinstance(value, dict):
                return Mismatch(value, struct, ".".join(fields), shape)
            properties = shape.schema.get("properties") or {}
            inner = shape.struct or struct
            for key, item in value.items():
                if key in properties and (found := walk(item, _shape(properties[key]), inner, (*fields, key))):
                    return found
            return None
        if shape.kind == "map":
            if not isinstance(value, dict):
                return Mismatch(value, struct, ".".join(fields), shape)
            element = _shape(shape.schema.get("additionalProperties"))
            return next((found for item in value.values() if (found := walk(item, element, struct, fields))), None)
        if shape.kind == "slice":
            if not isinstance(value, list):
                return Mismatch(value, struct, ".".join(fields), shape)
            element = _shape(shape.schema.get("items"))
            return next((found for item in value if (found := walk(item, element, struct, fields))), None)
        if shape.kind == "intorstring":
            if isinstance(value, str) or _fits(value, _Shape("int32", "int32", {})):
                return None
            return Mismatch(value, struct, ".".join(fields), shape)
        if shape.kind == "quantity":
            text = value if isinstance(value, str) else None if isinstance(value, (dict, list)) or value is True or value is False else repr(value)
            if text is not None and _QUANTITY.match(text.strip()):
                return None
            return Mismatch(value, struct, ".".join(fields), shape)
        return None if _fits(value, shape) else Mismatch(value, struct, ".".join(fields), shape)

    return walk(obj, root, root.struct, ())


def drop_nulls(obj: Any) -> None:
    """Remove the fields that are null: Go decodes null as the field's zero value, and the
    sandbox reads an absent field the same way (``metadata: null`` is no metadata)."""
    pending = [obj]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key in [key for key, value in item.items() if value is None]:
                del item[key]
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def json_kind(value: Any) -> str:
    """How Go's UnmarshalTypeError names the JSON value it met."""
    if value is True or value is False:
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    names: dict[type, str] = {str: "string", dict: "object", list: "array"}
    return names.get(type(value), "value")


def json_error(mismatch: Mismatch) -> str:
    """Go's encoding/json error for a JSON body decoded into the kind's struct."""
    shape, value = mismatch.shape, mismatch.value
    if shape.kind == "quantity":
        return QUANTITY_FORMAT
    go_type = "int32" if shape.kind == "intorstring" else shape.go_type  # IntOrString reads a non-string as int32
    found = json_kind(value)
    if found == "number" and (shape.kind in _INT_RANGES or shape.kind == "intorstring"):
        found = f"number {value!r}"  # Go quotes the literal it could not fit
    where = f"Go struct field {mismatch.struct}.{mismatch.field}" if mismatch.field else "Go value"
    return f"json: cannot unmarshal {found} into {where} of type {go_type}"


def _go_kind(value: Any) -> str:
    """reflect.Kind of the value as the unstructured converter holds it."""
    if value is True or value is False:
        return "bool"
    names: dict[type, str] = {str: "string", int: "int64", float: "float64", dict: "map", list: "slice"}
    return names.get(type(value), "interface")


def converter_error(mismatch: Mismatch) -> str:
    """The unstructured converter's error (a strategic merge patch's result is converted, not decoded)."""
    shape, value = mismatch.shape, mismatch.value
    if shape.kind == "quantity":
        return QUANTITY_FORMAT
    if shape.kind == "struct":
        return f"cannot restore struct from: {_go_kind(value)}"
    if shape.kind == "map":
        return f"cannot restore map from {_go_kind(value)}"
    if shape.kind == "slice":
        return f"cannot restore slice from {_go_kind(value)}"
    target = "int32" if shape.kind == "intorstring" else shape.go_type
    kind = _go_kind(value)
    if (kind == "int64" and shape.kind in ("string", "bytes")) or (kind == "float64" and target in _INT_RANGES):
        return f"cannot convert {kind} to {target if shape.kind != 'bytes' else 'string'}"
    return f"json: cannot unmarshal {json_kind(value)} into Go value of type {target}"


def apply_error(mismatch: Mismatch) -> str:
    """structured-merge-diff's words for a server-side apply configuration of the wrong type
    (it validates the applied configuration against the schema before merging it)."""
    from labrunner.sandbox.decoding import go_value

    value, kind = mismatch.value, mismatch.shape.kind
    if kind in ("intorstring", "quantity"):
        return json_error(mismatch)
    names: dict[type, str] = {str: "string", int: "int64", float: "float64", bool: "bool", dict: "map[string]interface {}", list: "[]interface {}"}
    go_type = names.get(type(value), "interface {}")
    if kind in ("int32", "int64", "float64"):
        return f".{mismatch.field}: expected numeric (int or float), got {go_type}"
    if kind in ("string", "bytes"):
        return f".{mismatch.field}: expected string, got &value.valueUnstructured{{Value:{go_value(value)}}}"
    if kind == "bool":
        return f".{mismatch.field}: expected boolean, got &{{{go_value(value)}}}"
    return f".{mismatch.field}: expected {'list' if kind == 'slice' else 'map'}, got &{{{go_value(value)}}}"


# -- the group-version-kind of a body --------------------------------------------------------


def _internal_package(group: str) -> str:
    return group.split(".")[0] if group and group != "events.k8s.io" else "core"


def envelope_problem(resource: ResourceType, api_version: str, kind: str) -> str | None:
    """kube-apiserver's refusal of a body whose apiVersion or kind is not the URL's, or None."""
    if (api_version, kind) == (resource.api_version, resource.kind):
        return None
    group, _, version = api_version.rpartition("/")
    known = any((r.api_version, r.kind) == (api_version, kind) for r in resources.all_resources())
    custom = resource in resources.custom_resources()
    if not known and not custom and not (group == resource.group and kind == resource.kind):
        return (f'{kind} in version "{version}" cannot be handled as a {resource.kind}: no kind "{kind}" is registered '
                f'for version "{api_version}" in scheme "pkg/api/legacyscheme/scheme.go:30"')
    if api_version != resource.api_version:
        return f"the API version in the data ({api_version}) does not match the expected API version ({resource.api_version})"
    if custom:
        return None
    return (f'{kind} in version "{version}" cannot be handled as a {resource.kind}: converting ({version}.{kind}) '
            f"to ({_internal_package(resource.group)}.{resource.kind}): unknown conversion")
