"""OpenAPI v3 documents and strict field validation, from Kubernetes 1.32's schemas.

The schemas come from the ``kubernetes-validate`` package (its
``v1.32.0-local/_definitions.json``: JSON Schema with every ``x-kubernetes-*``
extension). kubectl needs the v3 documents before ``create -f``, ``apply`` and
``edit``: it looks for a PATCH operation carrying the kind's
``x-kubernetes-group-version-kind`` and a ``fieldValidation`` parameter, then
leaves validation to the server (``?fieldValidation=Strict``). The server side of
that bargain is :func:`unknown_fields`, whose paths and sorted message match the
API server's ``strict decoding error``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import resources as package_files
from typing import Any

from labrunner.sandbox import resources

KUBERNETES_SCHEMA_VERSION = "v1.32.0"
_REF = "#/$defs/"


@functools.cache
def definitions() -> dict[str, Any]:
    folder = package_files.files("kubernetes_validate") / "kubernetes-json-schema" / f"{KUBERNETES_SCHEMA_VERSION}-local"
    return json.loads((folder / "_definitions.json").read_text(encoding="utf-8"))["$defs"]


@functools.cache
def definition_for(group: str, version: str, kind: str) -> str | None:
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            if (gvk.get("group", ""), gvk.get("version"), gvk.get("kind")) == (group, version, kind):
                return name
    return None


def _convert(schema: Any) -> Any:
    """JSON Schema 2020-12 as kubernetes-validate writes it -> OpenAPI 3.0 as the API server serves it."""
    if isinstance(schema, list):
        return [_convert(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$ref" and isinstance(value, str) and value.startswith(_REF):
            converted["allOf"] = [{"$ref": "#/components/schemas/" + value[len(_REF):]}]
        elif key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            converted["type"] = types[0] if len(types) == 1 else types
        else:
            converted[key] = _convert(value)
    return converted


def _references(schema: Any, found: set[str]) -> None:
    if isinstance(schema, dict):
        reference = schema.get("$ref")
        if isinstance(reference, str) and reference.startswith(_REF):
            name = reference[len(_REF):]
            if name not in found:
                found.add(name)
                _references(definitions().get(name, {}), found)
        for value in schema.values():
            _references(value, found)
    elif isinstance(schema, list):
        for item in schema:
            _references(item, found)


def _path_for(resource: resources.ResourceType) -> str:
    prefix = f"/apis/{resource.group}/{resource.version}" if resource.group else f"/api/{resource.version}"
    if resource.namespaced:
        return f"{prefix}/namespaces/{{namespace}}/{resource.plural}/{{name}}"
    return f"{prefix}/{resource.plural}/{{name}}"


@functools.cache
def group_version_document(group: str, version: str) -> dict[str, Any] | None:
    kinds = [r for r in resources.RESOURCES if r.group_version == (group, version)]
    if not kinds:
        return None
    needed: set[str] = set()
    paths: dict[str, Any] = {}
    for resource in kinds:
        name = definition_for(resource.group, resource.version, resource.kind)
        if name is None:
            continue
        needed.add(name)
        _references(definitions()[name], needed)
        gvk = {"group": resource.group, "version": resource.version, "kind": resource.kind}
        reference = {"$ref": f"#/components/schemas/{name}"}
        field_validation = {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True},
                            "description": "Ignore, Warn or Strict: what the server does with unknown or duplicate fields"}
        body = {"content": {"application/json": {"schema": reference}}}
        patch_body = {"content": {kind: {"schema": {"type": "object"}} for kind in (
            "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json")}}
        answer = {"200": {"description": "OK", "content": {"application/json": {"schema": reference}}}}
        paths[_path_for(resource)] = {
            "get": {"operationId": f"read{resource.kind}", "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk, "responses": answer},
            "put": {"operationId": f"replace{resource.kind}", "x-kubernetes-action": "put", "x-kubernetes-group-version-kind": gvk,
                    "parameters": [field_validation], "requestBody": body, "responses": answer},
            "patch": {"operationId": f"patch{resource.kind}", "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk,
                      "parameters": [field_validation], "requestBody": patch_body, "responses": answer},
            "delete": {"operationId": f"delete{resource.kind}", "x-kubernetes-action": "delete", "x-kubernetes-group-version-kind": gvk, "responses": answer},
        }
        collection = _path_for(resource).rsplit("/", 1)[0]
        paths[collection] = {
            "post": {"operationId": f"create{resource.kind}", "x-kubernetes-action": "post", "x-kubernetes-group-version-kind": gvk,
                     "parameters": [field_validation], "requestBody": body, "responses": answer},
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (labrunner sandbox)", "version": "v1.32.4"},
        "paths": paths,
        "components": {"schemas": {name: _convert(definitions()[name]) for name in sorted(needed)}},
    }


@functools.cache
def document_hash(group: str, version: str) -> str:
    document = group_version_document(group, version)
    return hashlib.sha512(json.dumps(document, sort_keys=True).encode()).hexdigest()[:128].upper()


def root_document() -> dict[str, Any]:
    paths = {}
    for group, versions in resources.group_versions().items():
        for version in versions:
            key = f"apis/{group}/{version}" if group else f"api/{version}"
            digest = custom_document_hash(group, version) if _is_custom(group, version) else document_hash(group, version)
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def _is_custom(group: str, version: str) -> bool:
    return any(r.group_version == (group, version) for r in resources.custom_resources())


def custom_document(group: str, version: str) -> dict[str, Any]:
    """A group-version of CustomResourceDefinitions: the PATCH operations kubectl
    looks for, and schemas that keep whatever fields the custom objects carry."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    field_validation = {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}
    for resource in resources.custom_resources():
        if resource.group_version != (group, version):
            continue
        schema_name = f"{'.'.join(reversed(group.split('.')))}.{version}.{resource.kind}"
        schemas[schema_name] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                                "x-kubernetes-group-version-kind": [{"group": group, "version": version, "kind": resource.kind}]}
        gvk = {"group": group, "version": version, "kind": resource.kind}
        reference = {"$ref": f"#/components/schemas/{schema_name}"}
        prefix = f"/apis/{group}/{version}" + ("/namespaces/{namespace}" if resource.namespaced else "")
        operation = {"x-kubernetes-group-version-kind": gvk, "parameters": [field_validation],
                     "requestBody": {"content": {"application/json": {"schema": reference}}}, "responses": {"200": {"description": "OK"}}}
        paths[f"{prefix}/{resource.plural}/{{name}}"] = {"patch": dict(operation, operationId=f"patch{resource.kind}"),
                                                          "put": dict(operation, operationId=f"replace{resource.kind}")}
        paths[f"{prefix}/{resource.plural}"] = {"post": dict(operation, operationId=f"create{resource.kind}")}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (labrunner sandbox)", "version": "v1.32.4"}, "paths": paths,
            "components": {"schemas": schemas}}


def custom_document_hash(group: str, version: str) -> str:
    return hashlib.sha512(json.dumps(custom_document(group, version), sort_keys=True).encode()).hexdigest()[:128].upper()


# -- strict decoding ----------------------------------------------------------------------


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema and schema["$ref"].startswith(_REF):
        schema = definitions().get(schema["$ref"][len(_REF):], {})
    return schema


def unknown_fields(obj: Any, group: str, version: str, kind: str) -> list[str]:
    """Every field of ``obj`` the schema does not know, as the API server names them
    (``spec.ingress[1].namespaceSelector``, top-level ones bare), sorted."""
    return [text for text, _ in unknown_field_places(obj, group, version, kind)]


def unknown_field_places(obj: Any, group: str, version: str, kind: str) -> list[tuple[str, tuple[str | int, ...]]]:
    """The unknown fields, each as the API server's text and the keys that lead to it (a key
    may itself hold dots or be empty, which the text cannot say apart), sorted by text."""
    name = definition_for(group, version, kind)
    if name is None:
        return []
    found: list[tuple[str, tuple[str | int, ...]]] = []

    def walk(value: Any, schema: dict[str, Any], path: str, keys: tuple[str | int, ...]) -> None:
        schema = _resolve(schema)
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return
        if isinstance(value, dict):
            properties = schema.get("properties")
            if properties is None:
                extra = schema.get("additionalProperties")
                if isinstance(extra, dict):
                    for key, item in value.items():
                        walk(item, extra, f"{path}.{key}" if path else str(key), (*keys, key))
                return
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if key in properties:
                    walk(item, properties[key], child, (*keys, key))
                else:
                    found.append((child, (*keys, key)))
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                walk(item, schema["items"], f"{path}[{index}]", (*keys, index))

    walk(obj, definitions()[name], "", ())
    return sorted(found, key=lambda place: place[0])


def prune(obj: Any, places: list[tuple[str | int, ...]]) -> None:
    """Drop the unknown fields at ``places`` (the server's behaviour for Warn/Ignore)."""
    for keys in places:
        target = obj
        try:
            for key in keys[:-1]:
                target = target[key]
            if isinstance(target, dict):
                target.pop(keys[-1], None)
        except (KeyError, IndexError, TypeError):
            continue
