"""The state of one request: output and headers, errors as PHP reports them, scopes, the call
stack (for stack traces), limits, and calls to user and built-in functions."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from labrunner.sandbox.php import nodes as n
from labrunner.sandbox.php.errors import (
    E_ALL, E_DEPRECATED, E_ERROR, E_WARNING, FATAL, FatalError, PhpThrow, ReturnSignal, display_form, log_form,
)
from labrunner.sandbox.php.values import PhpArray, PhpObject, Value, format_float, share, type_name

if TYPE_CHECKING:
    from labrunner.sandbox.php import Host, Request

PHP_VERSION = "8.3.14"
STEP_LIMIT = 1_000_000
"""Statements and loop rounds a page may run: PHP's 30 s max_execution_time, in work not time."""
OUTPUT_LIMIT = 16 * 1024 * 1024
"""Output a page may send: well under PHP's 128 MiB memory_limit, which output held in Python reaches first."""
MEMORY_LIMIT = 134217728
CALL_DEPTH_LIMIT = 200
"""User function calls deep: stands in for PHP 8.3's zend.max_allowed_stack_size."""
INCLUDE_PATH = ".:/usr/local/lib/php"
SENSITIVE = "\x00sensitive"
"""An argument a trace shows as Object(SensitiveParameterValue) (mysqli's password)."""


class Ref:
    """A variable's slot, shared by ``global`` and ``static`` bindings."""

    __slots__ = ("value",)

    def __init__(self, value: Value = None) -> None:
        self.value = value


@dataclass
class Frame:
    function: str
    file: str
    line: int
    args: list[Value]


@dataclass
class Function:
    name: str
    params: list[n.Param]
    body: list[n.Node]
    file: str
    bound: dict[str, Value] = field(default_factory=dict)
    statics: dict[str, Ref] = field(default_factory=dict)
    closure_scope: dict[str, Ref] | None = None
    """For an arrow function: the scope it reads (by value, at call time)."""


def memory_exhausted(size: int, line: int) -> FatalError:
    return FatalError(f"Allowed memory size of {MEMORY_LIMIT} bytes exhausted (tried to allocate {size} bytes)", line)


class Runtime:
    def __init__(self, request: Request, host: Host) -> None:
        self.request = request
        self.host = host
        self.out: list[str] = []
        self.out_size = 0
        self.log: list[str] = []
        self.delay = 0.0
        self.status = 200
        self.headers: list[tuple[str, str]] = [("X-Powered-By", f"PHP/{PHP_VERSION}")]
        self.output_started: tuple[str, int] | None = None
        self.file = request.script_filename
        self.line = 1
        self.silence = 0
        self.error_reporting = E_ALL
        self.display_errors = True
        self.steps = 0
        self.frames: list[Frame] = []
        self.globals: dict[str, Ref] = {}
        self.scope = self.globals
        self.superglobals: dict[str, Value] = {}
        self.functions: dict[str, Function] = {}
        self.constants: dict[str, Value] = {}
        self.included: set[str] = set()
        self.extras: dict[str, object] = {}
        """State of built-in extensions (mysqli's report mode and last connect error)."""

    # Output, headers and errors

    def echo(self, text: str) -> None:
        if not text:
            return
        if self.output_started is None:
            self.output_started = (self.file, self.line)
        self.out_size += len(text)
        if self.out_size > OUTPUT_LIMIT:
            self.out_size = 0
            raise memory_exhausted(len(text) + 32 & ~31 or 32, self.line)
        self.out.append(text)

    def report(self, kind: int, message: str, file: str | None = None, line: int | None = None) -> None:
        """Display and log an error as php_error_cb does (``@`` hides all but fatal ones)."""
        if self.silence and not kind & FATAL:
            return
        if not self.error_reporting & kind:
            return
        where = file or self.file
        at = self.line if line is None else line
        self.log.append(log_form(kind, message, where, at))
        if self.display_errors:
            self.echo(display_form(kind, message, where, at))
        elif kind & FATAL and self.output_started is None and self.status == 200:
            self.status = 500

    def warn(self, message: str) -> None:
        self.report(E_WARNING, message)

    def deprecated(self, message: str) -> None:
        self.report(E_DEPRECATED, message)

    def fatal(self, message: str) -> FatalError:
        return FatalError(message, self.line, self.file)

    def unsupported(self, what: str) -> FatalError:
        return FatalError(f"labrunner sandbox: the simulated PHP does not implement {what}", self.line, self.file)

    def header(self, line: str, replace: bool = True, code: int = 0) -> None:
        if self.output_started is not None:
            file, at = self.output_started
            self.warn(f"Cannot modify header information - headers already sent by (output started at {file}:{at})")
            return
        if line[:5].upper() == "HTTP/":
            parts = line.split()
            if len(parts) > 1 and parts[1].isdigit():
                self.status = int(parts[1])
            return
        name, sep, value = line.partition(":")
        if not sep:
            return
        name, value = name.strip(), value.strip()
        if replace:
            self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.append((name, value))
        if name.lower() == "location" and self.status != 201 and not 300 <= self.status < 400:
            self.status = 302
        if code:
            self.status = code

    def tick(self) -> None:
        self.steps += 1
        if self.steps > STEP_LIMIT:
            self.delay += 30.0
            raise FatalError("Maximum execution time of 30 seconds exceeded", self.line, self.file)

    # Exceptions

    def throw(self, cls: str, message: str, code: Value = 0, extra: dict[str, Value] | None = None) -> PhpThrow:
        return PhpThrow(self.new_exception(cls, message, code, extra))

    def new_exception(self, cls: str, message: str, code: Value = 0, extra: dict[str, Value] | None = None) -> PhpObject:
        props: dict[str, Value] = {"message": message, "code": code, "file": self.file, "line": self.line}
        props.update(extra or {})
        return PhpObject(cls, props, internal=list(self.frames))

    def trace_string(self, obj: PhpObject) -> str:
        frames: list[Frame] = obj.internal if isinstance(obj.internal, list) else []
        lines = [f"#{i} {f.file}({f.line}): {f.function}({', '.join(_trace_arg(a) for a in f.args)})"
                 for i, f in enumerate(reversed(frames))]
        lines.append(f"#{len(frames)} {{main}}")
        return "\n".join(lines)

    def exception_string(self, obj: PhpObject) -> str:
        message = str(obj.props.get("message", ""))
        head = f"{obj.cls}: {message}" if message else obj.cls
        return f"{head} in {obj.props.get('file')}:{obj.props.get('line')}\nStack trace:\n{self.trace_string(obj)}"

    # Calls

    def push(self, function: str, args: list[Value]) -> None:
        if len(self.frames) >= CALL_DEPTH_LIMIT:
            raise self.throw("Error", "Maximum call stack size of 8339456 bytes reached. Infinite recursion?")
        self.frames.append(Frame(function, self.file, self.line, args))

    def call_user(self, func: Function, args: list[Value], run: Callable[[list[n.Node]], None],
                  evaluate: Callable[[n.Node], Value]) -> Value:
        call_file, call_line = self.file, self.line
        self.push(func.name, args)
        scope: dict[str, Ref] = {}
        if func.closure_scope is not None:
            scope.update({k: Ref(share(r.value)) for k, r in func.closure_scope.items()})
        for name, value in func.bound.items():
            scope[name] = Ref(share(value))
        saved_scope = self.scope
        self.scope = scope
        self.file = func.file
        try:
            required = sum(1 for p in func.params if p.default is None and not p.variadic)
            for i, param in enumerate(func.params):
                if param.variadic:
                    scope[param.name] = Ref(PhpArray.of(args[i:]))
                elif i < len(args):
                    scope[param.name] = Ref(share(args[i]))
                elif param.default is not None:
                    scope[param.name] = Ref(evaluate(param.default))
                else:
                    exactly = "exactly" if required == len(func.params) else "at least"
                    self.file, self.line = call_file, call_line
                    raise self.throw("ArgumentCountError", f"Too few arguments to function {func.name}(), "
                                     f"{len(args)} passed in {call_file} on line {call_line} and {exactly} "
                                     f"{required} expected")
            for name, ref in func.statics.items():
                scope[name] = ref
            try:
                run(func.body)
            except ReturnSignal as signal:
                return signal.value
            return None
        finally:
            self.scope = saved_scope
            self.file, self.line = call_file, call_line
            self.frames.pop()

    # Variables and files

    def lookup(self, name: str) -> Ref | None:
        ref = self.scope.get(name)
        if ref is None and name in self.superglobals:
            return Ref(self.superglobals[name])
        return ref

    def ref(self, name: str) -> Ref:
        ref = self.scope.get(name)
        if ref is None:
            ref = self.scope[name] = Ref()
        return ref

    def resolve_path(self, path: str) -> str:
        if not path.startswith("/"):
            path = posixpath.join(posixpath.dirname(self.file), path)
        return posixpath.normpath(path)

    def call_value(self, target: Value, args: list[Value]) -> Value:
        """Call a callable value (the interpreter implements this)."""
        raise NotImplementedError

    def to_string(self, value: Value) -> str:
        """String conversion with PHP's errors for arrays and objects."""
        if isinstance(value, str):
            return value
        if isinstance(value, PhpArray):
            self.warn("Array to string conversion")
            return "Array"
        if isinstance(value, PhpObject):
            if value.internal is not None and value.cls.endswith(("Exception", "Error")):
                return self.exception_string(value)
            raise self.throw("Error", f"Object of class {value.cls} could not be converted to string")
        if isinstance(value, float):
            return format_float(value)
        if value is True:
            return "1"
        if value is None or value is False:
            return ""
        return str(value)


def _trace_arg(value: Value) -> str:
    if value == SENSITIVE and isinstance(value, str):
        return "Object(SensitiveParameterValue)"
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value, 17)
    if isinstance(value, str):
        raw = value.encode("utf-8", "surrogateescape")
        if len(raw) > 15:
            return "'" + raw[:15].decode("utf-8", "surrogateescape") + "...'"
        return f"'{value}'"
    if isinstance(value, PhpArray):
        return "Array"
    return f"Object({type_name(value)})"


__all__ = ["E_ERROR", "Frame", "Function", "Ref", "Runtime"]
