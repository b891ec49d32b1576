"""The two patch formats the API server takes besides strategic merge (``strategic.py``):
RFC 7386 JSON merge patch (``kubectl patch --type=merge``) and RFC 6902 JSON patch
(``--type=json``). Pure functions over plain JSON values.
"""

from __future__ import annotations

import copy
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test).

    Raises:
        ValueError: an operation that cannot apply; the message says which.
    """
    document = copy.deepcopy(document)

    def walk(path: str) -> tuple[Any, str]:
        if not path.startswith("/"):
            raise ValueError(f"invalid path {path!r}")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]
        parent = document
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        return parent, parts[-1]

    def get(path: str) -> Any:
        parent, key = walk(path)
        return parent[int(key)] if isinstance(parent, list) else parent[key]

    for operation in operations:
        op, path = operation.get("op"), operation.get("path", "")
        try:
            if op in ("add", "replace"):
                parent, key = walk(path)
                if isinstance(parent, list):
                    index = len(parent) if key == "-" else int(key)
                    if op == "add":
                        parent.insert(index, copy.deepcopy(operation["value"]))
                    else:
                        parent[index] = copy.deepcopy(operation["value"])
                else:
                    if op == "replace" and key not in parent:
                        raise KeyError(key)
                    parent[key] = copy.deepcopy(operation["value"])
            elif op == "remove":
                parent, key = walk(path)
                del parent[int(key) if isinstance(parent, list) else key]
            elif op in ("move", "copy"):
                value = get(operation["from"])
                if op == "move":
                    source_parent, source_key = walk(operation["from"])
                    del source_parent[int(source_key) if isinstance(source_parent, list) else source_key]
                document = json_patch(document, [{"op": "add", "path": path, "value": value}])
            elif op == "test":
                if get(path) != operation.get("value"):
                    raise ValueError(f"test failed at {path}")
            else:
                raise ValueError(f"unknown op {op!r}")
        except (KeyError, IndexError, TypeError) as error:
            raise ValueError(f"the {op} operation at {path!r} does not apply: {error}") from None
    return document
