"""Built-in functions and constants, declared with their PHP signatures, and the argument
handling PHP 8.3 applies to them in coercive typing mode (``strict_types`` is not honoured):
arity errors, TypeErrors naming the parameter, and the 8.1 deprecation for null to a scalar."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from labrunner.sandbox.php.runtime import Runtime
from labrunner.sandbox.php.values import (
    PhpArray, PhpObject, Value, float_to_int, format_float, leading_numeric, parse_numeric, type_name,
)


@dataclass(frozen=True)
class Param:
    name: str
    types: tuple[str, ...]
    optional: bool
    variadic: bool
    by_ref: bool
    nullable: bool


@dataclass(frozen=True)
class Builtin:
    name: str
    params: tuple[Param, ...]
    impl: Callable[..., Value]
    extension: str


class Native(Protocol):
    """The Python side of a built-in object (a mysqli link, a result set, a PDO statement)."""

    def get(self, rt: Runtime, name: str) -> Value: ...
    def call(self, rt: Runtime, obj: PhpObject, name: str, args: list[Value]) -> Value: ...


ALWAYS = frozenset({"core", "standard", "json", "date", "pcre"})
"""Extensions compiled into every php image."""
FUNCTIONS: dict[str, Builtin] = {}
CONSTANTS: dict[str, tuple[Value, str]] = {}
"""Name to value and the extension that defines it."""

_SIGNATURE = re.compile(r"(\w+)\((.*)\)", re.S)


def php(signature: str, extension: str = "standard") -> Callable[[Callable[..., Value]], Callable[..., Value]]:
    """Register a built-in from its PHP signature, e.g. ``strlen(string $string)``; the Python
    function takes the runtime, then the coerced arguments under the same names."""
    m = _SIGNATURE.fullmatch(signature.strip())
    assert m is not None, signature
    params = []
    for part in filter(None, (p.strip() for p in m.group(2).split(","))):
        spec, _, default = part.partition("=")
        type_text, _, name = spec.strip().rpartition(" ")
        by_ref = name.startswith("&")
        variadic = "..." in name
        name = name.lstrip("&.").lstrip("$")
        nullable = type_text.startswith("?") or "null" in type_text.split("|")
        types = tuple(t for t in type_text.lstrip("?").split("|") if t != "null")
        params.append(Param(name, types, bool(default) or variadic, variadic, by_ref, nullable))

    def register(fn: Callable[..., Value]) -> Callable[..., Value]:
        for name in m.group(1).split("__"):
            FUNCTIONS[name.lower()] = Builtin(name, tuple(params), fn, extension)
        return fn
    return register


def available(extension: str, loaded: frozenset[str]) -> bool:
    return extension in ALWAYS or extension in loaded


def constants(extension: str, values: dict[str, Value]) -> None:
    for name, value in values.items():
        CONSTANTS[name] = (value, extension)


def call(rt: Runtime, fn: Builtin, args: list[Value], named: dict[str, Value]) -> Value:
    params = fn.params
    required = sum(1 for p in params if not p.optional)
    variadic = bool(params) and params[-1].variadic
    given = len(args) + len(named)
    if given < required or (not variadic and len(args) > len(params)):
        if required == len(params) and not variadic:
            amount = "exactly"
            count = required
        elif given < required:
            amount, count = "at least", required
        else:
            amount, count = "at most", len(params)
        plural = "" if count == 1 else "s"
        raise rt.throw("ArgumentCountError", f"{fn.name}() expects {amount} {count} argument{plural}, {given} given")
    coerced: list[Any] = []
    for i, value in enumerate(args):
        param = params[min(i, len(params) - 1)]
        coerced.append(value if param.by_ref else coerce(rt, fn, i + 1, param, value))
    keywords: dict[str, Any] = {}
    for name, value in named.items():
        index = next((i for i, p in enumerate(params) if p.name == name), None)
        if index is None:
            raise rt.throw("Error", f"Unknown named parameter ${name}")
        keywords[name] = coerce(rt, fn, index + 1, params[index], value)
    return fn.impl(rt, *coerced, **keywords)


def coerce(rt: Runtime, fn: Builtin, position: int, param: Param, value: Value) -> Value:
    types = param.types
    if "mixed" in types or not types:
        return value
    if value is None:
        if param.nullable:
            return None
        scalar = next((t for t in types if t in ("string", "int", "float", "bool")), None)
        if scalar is None:
            raise _type_error(rt, fn, position, param, value)
        rt.deprecated(f"{fn.name}(): Passing null to parameter #{position} (${param.name}) of type "
                      f"{'|'.join(types)} is deprecated")
        return {"string": "", "int": 0, "float": 0.0, "bool": False}[scalar]
    if isinstance(value, PhpArray):
        if "array" in types or "iterable" in types:
            return value
        raise _type_error(rt, fn, position, param, value)
    if isinstance(value, PhpObject):
        if "object" in types or "callable" in types and value.cls == "Closure" or any(
                t.lower() == value.cls.lower() for t in types):
            return value
        if "string" in types and value.cls.endswith(("Exception", "Error")):
            return rt.to_string(value)
        raise _type_error(rt, fn, position, param, value)
    if "callable" in types:
        if isinstance(value, str):
            return value
        raise _type_error(rt, fn, position, param, value)
    if type_name(value) in types:
        return value
    if "int" in types and "float" in types and isinstance(value, str):
        number = parse_numeric(value)
        if number is None:
            raise _type_error(rt, fn, position, param, value)
        return number
    if "string" in types:
        return rt.to_string(value)
    if "float" in types:
        if isinstance(value, str):
            number = parse_numeric(value)
            if number is None:
                if leading_numeric(value) is None:
                    raise _type_error(rt, fn, position, param, value)
                raise _type_error(rt, fn, position, param, value)
            return float(number)
        return float(value)
    if "int" in types:
        if isinstance(value, str):
            number = parse_numeric(value)
            if number is None:
                raise _type_error(rt, fn, position, param, value)
            value = number
        if isinstance(value, float):
            if value != int(value):
                rt.deprecated(f"Implicit conversion from float {format_float(value)} to int loses precision")
            return float_to_int(value)
        return int(value)
    if "bool" in types:
        from labrunner.sandbox.php.values import to_bool
        return to_bool(value)
    raise _type_error(rt, fn, position, param, value)


def _type_error(rt: Runtime, fn: Builtin, position: int, param: Param, value: Value) -> Exception:
    wanted = "|".join(param.types) if "callable" not in param.types else "a valid callback"
    if "callable" in param.types:
        detail = f'function "{value}" not found or invalid function name' if isinstance(value, str) else \
            "no array or string given"
        return rt.throw("TypeError", f"{fn.name}(): Argument #{position} (${param.name}) must be {wanted}, {detail}")
    if param.nullable:
        wanted = "?" + wanted
    return rt.throw("TypeError", f"{fn.name}(): Argument #{position} (${param.name}) must be of type {wanted}, "
                                 f"{type_name(value)} given")
