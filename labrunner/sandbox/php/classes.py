"""The built-in classes a page can name: the Throwable hierarchy, stdClass and Closure. mysqli's
and PDO's classes live in :mod:`labrunner.sandbox.php.mysqli`."""

from __future__ import annotations

from labrunner.sandbox.php.runtime import Runtime
from labrunner.sandbox.php.values import PhpArray, PhpObject, Value

PARENTS: dict[str, str | None] = {
    "Throwable": None, "Exception": "Throwable", "Error": "Throwable",
    "ErrorException": "Exception", "RuntimeException": "Exception", "LogicException": "Exception",
    "InvalidArgumentException": "LogicException", "DomainException": "LogicException",
    "LengthException": "LogicException", "OutOfRangeException": "LogicException",
    "OutOfBoundsException": "RuntimeException", "RangeException": "RuntimeException",
    "OverflowException": "RuntimeException", "UnderflowException": "RuntimeException",
    "UnexpectedValueException": "RuntimeException", "JsonException": "Exception",
    "mysqli_sql_exception": "RuntimeException", "PDOException": "RuntimeException",
    "TypeError": "Error", "ValueError": "Error", "ArithmeticError": "Error", "DivisionByZeroError": "ArithmeticError",
    "ArgumentCountError": "TypeError", "ParseError": "CompileError", "CompileError": "Error",
    "UnhandledMatchError": "Error",
    "stdClass": None, "Closure": None,
}
_CANONICAL = {name.lower(): name for name in PARENTS}


def canonical(name: str) -> str | None:
    """A built-in class's own spelling (class names are case-insensitive), or None."""
    return _CANONICAL.get(name.lower().lstrip("\\"))


def instance_of(cls: str, target: str) -> bool:
    want = target.lower().lstrip("\\")
    current: str | None = cls
    while current is not None:
        if current.lower() == want:
            return True
        current = PARENTS.get(current)
    return False


def is_throwable(cls: str) -> bool:
    return instance_of(cls, "Throwable")


def construct_exception(rt: Runtime, cls: str, args: list[Value]) -> PhpObject:
    message = rt.to_string(args[0]) if args else ""
    code = args[1] if len(args) > 1 else 0
    obj = rt.new_exception(cls, message, code)
    obj.props["previous"] = args[2] if len(args) > 2 else None
    return obj


def exception_method(rt: Runtime, obj: PhpObject, name: str) -> Value:
    method = name.lower()
    if method == "getmessage":
        return obj.props.get("message", "")
    if method == "getcode":
        return obj.props.get("code", 0)
    if method == "getfile":
        return obj.props.get("file", "")
    if method == "getline":
        return obj.props.get("line", 0)
    if method == "gettraceasstring":
        return rt.trace_string(obj)
    if method == "getprevious":
        return obj.props.get("previous")
    if method == "gettrace":
        return PhpArray.of([])
    if method == "__tostring":
        return rt.exception_string(obj)
    raise rt.throw("Error", f"Call to undefined method {obj.cls}::{name}()")
