"""Statements, function and method calls, ``new`` and ``include``: the part of the interpreter
that moves control around."""

from __future__ import annotations

from labrunner.sandbox.php import nodes as n
from labrunner.sandbox.php import registry
from labrunner.sandbox.php.classes import canonical, construct_exception, exception_method, instance_of, is_throwable
from labrunner.sandbox.php.errors import (
    E_PARSE, BreakSignal, ContinueSignal, FatalError, ParseError, PhpThrow, ReturnSignal,
)
from labrunner.sandbox.php.evaluate import MISSING, Evaluator
from labrunner.sandbox.php.known import extension_of
from labrunner.sandbox.php.parser import parse
from labrunner.sandbox.php.runtime import INCLUDE_PATH, Function, Ref
from labrunner.sandbox.php.values import PhpArray, PhpObject, Value, loose_equals, share, to_bool, type_name


class Interpreter(Evaluator):
    # Statements

    def run(self, body: list[n.Node]) -> None:
        for stmt in body:
            if isinstance(stmt, n.FunctionDecl) and stmt.name.lower() in self.functions and \
                    self.functions[stmt.name.lower()].body is stmt.body:
                continue
            self.line = stmt.line
            self.tick()
            self.eval(stmt)

    def run_file(self, body: list[n.Node]) -> None:
        """A file's top-level functions exist before its first statement runs, as PHP compiles them."""
        for stmt in body:
            if isinstance(stmt, n.FunctionDecl):
                self.declare(stmt)
        self.run(body)

    def declare(self, stmt: n.FunctionDecl) -> None:
        key = stmt.name.lower()
        self.line = stmt.line
        if key in self.functions:
            old = self.functions[key]
            if old.body is stmt.body:
                return
            raise FatalError(f"Cannot redeclare {stmt.name}() (previously declared in {old.file}:"
                             f"{getattr(old, 'line', 0)})", stmt.line, self.file)
        if key in registry.FUNCTIONS:
            raise FatalError(f"Cannot redeclare {stmt.name}()", stmt.line, self.file)
        func = Function(stmt.name, stmt.params, stmt.body, self.file)
        setattr(func, "line", stmt.line)
        self.functions[key] = func

    def e_FunctionDecl(self, node: n.FunctionDecl) -> Value:
        self.declare(node)
        return None

    def e_Echo(self, node: n.Echo) -> Value:
        for expr in node.exprs:
            self.echo(self.to_string(self.eval(expr)))
        return None

    def e_ExprStmt(self, node: n.ExprStmt) -> Value:
        self.eval(node.expr)
        return None

    def e_Block(self, node: n.Block) -> Value:
        self.run(node.body)
        return None

    def e_If(self, node: n.If) -> Value:
        for cond, body in node.branches:
            if to_bool(self.eval(cond)):
                self.run(body)
                return None
        if node.otherwise is not None:
            self.run(node.otherwise)
        return None

    def loop_round(self, body: list[n.Node]) -> bool:
        """Run one round of a loop body; False when the loop must stop."""
        self.tick()
        try:
            self.run(body)
        except BreakSignal as signal:
            if signal.levels > 1:
                raise BreakSignal(signal.levels - 1) from None
            return False
        except ContinueSignal as signal:
            if signal.levels > 1:
                raise ContinueSignal(signal.levels - 1) from None
        return True

    def e_While(self, node: n.While) -> Value:
        while to_bool(self.eval(node.cond)):
            if not self.loop_round(node.body):
                break
        return None

    def e_DoWhile(self, node: n.DoWhile) -> Value:
        while self.loop_round(node.body) and to_bool(self.eval(node.cond)):
            pass
        return None

    def e_For(self, node: n.For) -> Value:
        for expr in node.init:
            self.eval(expr)
        while True:
            result: Value = True
            for expr in node.cond:
                result = self.eval(expr)
            if not to_bool(result) or not self.loop_round(node.body):
                break
            for expr in node.step:
                self.eval(expr)
        return None

    def e_Foreach(self, node: n.Foreach) -> Value:
        subject = self.eval(node.subject)
        if node.by_ref:
            raise self.unsupported("foreach by reference")
        if isinstance(subject, PhpObject):
            items = list(subject.props.items()) if subject.internal is None else self.native_items(subject)
        elif isinstance(subject, PhpArray):
            items = list(subject.d.items())
        else:
            self.line = node.line
            self.warn(f"foreach() argument must be of type array|object, {type_name(subject)} given")
            return None
        for key, value in items:
            if node.key is not None:
                self.assign(node.key, key)
            self.assign(node.value, value)
            if not self.loop_round(node.body):
                break
        return None

    def native_items(self, obj: PhpObject) -> list[tuple[int | str, Value]]:
        items = getattr(obj.internal, "items", None)
        if items is None:
            raise self.unsupported(f"iterating over {obj.cls} objects")
        result: list[tuple[int | str, Value]] = items()
        return result

    def e_Switch(self, node: n.Switch) -> Value:
        subject = self.eval(node.subject)
        start = None
        for index, (label, _) in enumerate(node.cases):
            if label is not None and loose_equals(subject, self.eval(label)):
                start = index
                break
        if start is None:
            start = next((i for i, (label, _) in enumerate(node.cases) if label is None), None)
        if start is None:
            return None
        try:
            for _, body in node.cases[start:]:
                self.run(body)
        except (BreakSignal, ContinueSignal) as signal:
            if signal.levels > 1:
                raise type(signal)(signal.levels - 1) from None
        return None

    def e_Break(self, node: n.Break) -> Value:
        raise BreakSignal(node.levels)

    def e_Continue(self, node: n.Continue) -> Value:
        raise ContinueSignal(node.levels)

    def e_Return(self, node: n.Return) -> Value:
        raise ReturnSignal(None if node.expr is None else self.eval(node.expr))

    def e_Global(self, node: n.Global) -> Value:
        for name in node.names:
            ref = self.globals.get(name)
            if ref is None:
                ref = self.globals[name] = Ref()
            self.scope[name] = ref
        return None

    def e_Static(self, node: n.Static) -> Value:
        frame = self.frames[-1].function if self.frames else ""
        func = self.functions.get(frame.lower())
        for name, default in node.vars:
            statics = func.statics if func is not None else {}
            if name not in statics:
                statics[name] = Ref(None if default is None else self.eval(default))
            self.scope[name] = statics[name]
        return None

    def e_Unset(self, node: n.Unset) -> Value:
        for target in node.targets:
            if isinstance(target, n.Var):
                self.scope.pop(target.name, None)
            elif isinstance(target, n.Dim) and target.key is not None:
                container = self.quiet(target.base)
                if isinstance(container, PhpArray):
                    array = self.array_for_write(target.base)
                    array.d.pop(self.key(self.eval(target.key), "array"), None)
            elif isinstance(target, n.Prop):
                obj = self.quiet(target.base)
                if isinstance(obj, PhpObject):
                    obj.props.pop(self.prop_name(target.name), None)
        return None

    def e_Try(self, node: n.Try) -> Value:
        try:
            try:
                self.run(node.body)
            except PhpThrow as thrown:
                for catch in node.catches:
                    if any(instance_of(thrown.obj.cls, t) for t in catch.types):
                        if catch.var:
                            self.ref(catch.var).value = thrown.obj
                        self.run(catch.body)
                        break
                else:
                    raise
        except (PhpThrow, ReturnSignal, BreakSignal, ContinueSignal):
            if node.final is not None:
                self.run(node.final)
            raise
        if node.final is not None:
            self.run(node.final)
        return None

    def e_Unsupported(self, node: n.Unsupported) -> Value:
        raise self.unsupported(node.what)

    # Calls

    def arguments(self, args: list[n.Arg]) -> tuple[list[Value], dict[str, Value]]:
        values: list[Value] = []
        named: dict[str, Value] = {}
        for arg in args:
            self._pass(arg, values, named)
        return values, named

    def _pass(self, arg: n.Arg, values: list[Value], named: dict[str, Value]) -> None:
        """One argument by value: spread (``...$xs``), named (``f(x: 1)``) or positional."""
        value = self.eval(arg.value)
        if arg.spread:
            if not isinstance(value, PhpArray):
                raise self.throw("Error", "Only arrays and Traversables can be unpacked")
            values.extend(value.values())
        elif arg.name is not None:
            named[arg.name] = value
        else:
            values.append(value)

    def e_Call(self, node: n.Call) -> Value:
        if not isinstance(node.name, str):
            target = self.eval(node.name)
            values, _ = self.arguments(node.args)
            self.line = node.line
            return self.call_value(target, values)
        key = node.name.lower()
        func = self.functions.get(key)
        if func is not None:
            values, named = self.arguments(node.args)
            if named:
                values = self.place_named(func, values, named)
            self.line = node.line
            return self.call_user(func, values, self.run, self.eval)
        builtin = registry.FUNCTIONS.get(key)
        if builtin is not None and registry.available(builtin.extension, self.host.extensions):
            return self.call_builtin(builtin, node)
        self.line = node.line
        raise self.undefined_function(node.name)

    def undefined_function(self, name: str) -> Exception:
        extension = extension_of(name)
        if extension is not None and (extension in ("core", "standard") or extension in self.host.extensions):
            return self.unsupported(f"{name}()")
        return self.throw("Error", f"Call to undefined function {name}()")

    def place_named(self, func: Function, values: list[Value], named: dict[str, Value]) -> list[Value]:
        names = [p.name for p in func.params]
        result = list(values)
        for name, value in named.items():
            if name not in names:
                raise self.throw("Error", f"Unknown named parameter ${name}")
            index = names.index(name)
            while len(result) < index:
                default = func.params[len(result)].default
                result.append(None if default is None else self.eval(default))
            if index < len(result):
                result[index] = value
            else:
                result.append(value)
        return result

    def call_builtin(self, builtin: registry.Builtin, node: n.Call) -> Value:
        refs: list[tuple[n.Node, Ref]] = []
        values: list[Value] = []
        named: dict[str, Value] = {}
        for index, arg in enumerate(node.args):
            param = builtin.params[min(index, len(builtin.params) - 1)] if builtin.params else None
            if param is not None and param.by_ref and arg.name is None and not arg.spread:
                ref = Ref(self.quiet(arg.value))
                refs.append((arg.value, ref))
                values.append(ref)
                continue
            self._pass(arg, values, named)
        self.line = node.line
        shown = [r.value if isinstance(r, Ref) else r for r in values]
        self.push(builtin.name, shown)
        try:
            result = registry.call(self, builtin, values, named)
        finally:
            self.frames.pop()
        for target, ref in refs:
            self.assign(target, ref.value)
        return result

    def call_value(self, target: Value, args: list[Value]) -> Value:
        """Call a callable value: a closure or a function's name."""
        if isinstance(target, PhpObject) and isinstance(target.internal, Function):
            return self.call_user(target.internal, args, self.run, self.eval)
        if isinstance(target, str):
            key = target.lower().lstrip("\\")
            if key in self.functions:
                return self.call_user(self.functions[key], args, self.run, self.eval)
            builtin = registry.FUNCTIONS.get(key)
            if builtin is not None and registry.available(builtin.extension, self.host.extensions) \
                    and not any(p.by_ref for p in builtin.params):
                self.push(builtin.name, args)
                try:
                    return registry.call(self, builtin, args, {})
                finally:
                    self.frames.pop()
            raise self.undefined_function(target)
        if isinstance(target, PhpArray):
            raise self.unsupported("array callables")
        raise self.throw("Error", "Value not callable")

    def e_New(self, node: n.New) -> Value:
        values, _ = self.arguments(node.args)
        self.line = node.line
        name = canonical(node.cls)
        if name is not None and is_throwable(name) and name != "Throwable":
            return construct_exception(self, name, values)
        if name == "stdClass":
            return PhpObject("stdClass")
        from labrunner.sandbox.php import mysqli
        made = mysqli.construct(self, node.cls, values)
        if made is not None:
            return made
        raise self.throw("Error", f'Class "{node.cls}" not found')

    def e_MethodCall(self, node: n.MethodCall) -> Value:
        obj = self.eval(node.obj)
        if obj is None and node.nullsafe:
            return None
        values, _ = self.arguments(node.args)
        self.line = node.line
        if not isinstance(obj, PhpObject):
            raise self.throw("Error", f"Call to a member function {node.name}() on {type_name(obj)}")
        if isinstance(obj.internal, list) and is_throwable(obj.cls):
            if node.name.lower() == "getsqlstate" and "sqlstate" in obj.props:
                return obj.props["sqlstate"]
            return exception_method(self, obj, node.name)
        if isinstance(obj.internal, Function) and node.name.lower() in ("call", "__invoke"):
            return self.call_user(obj.internal, values, self.run, self.eval)
        if obj.internal is not None and hasattr(obj.internal, "call"):
            self.push(f"{obj.cls}->{node.name}", values)
            try:
                result: Value = obj.internal.call(self, obj, node.name, values)
                return result
            finally:
                self.frames.pop()
        raise self.throw("Error", f"Call to undefined method {obj.cls}::{node.name}()")

    def e_StaticCall(self, node: n.StaticCall) -> Value:
        self.line = node.line
        if canonical(node.cls) is None and node.cls.lower() not in ("pdo", "mysqli"):
            raise self.throw("Error", f'Class "{node.cls}" not found')
        raise self.unsupported(f"{node.cls}::{node.name}()")

    def native_prop(self, obj: PhpObject, name: str) -> Value:
        getter = getattr(obj.internal, "get", None)
        if getter is None:
            return MISSING
        value: Value = getter(self, name)
        return value

    def class_constant(self, cls: str, name: str) -> Value:
        from labrunner.sandbox.php import mysqli
        value = mysqli.class_constant(self, cls, name)
        if value is not MISSING:
            return value
        if canonical(cls) is None:
            raise self.throw("Error", f'Class "{cls}" not found')
        raise self.throw("Error", f'Undefined constant {canonical(cls)}::{name}')

    # Include

    def e_Include(self, node: n.Include) -> Value:
        path = self.to_string(self.eval(node.expr))
        self.line = node.line
        resolved = self.resolve_path(path)
        if node.kind.endswith("_once") and resolved in self.included:
            return True
        content = self.host.read_file(resolved) if path else None
        if content is None:
            self.warn(f"{node.kind}({path}): Failed to open stream: No such file or directory")
            if node.kind.startswith("require"):
                raise self.throw("Error", f"Failed opening required '{path}' (include_path='{INCLUDE_PATH}')")
            self.warn(f"{node.kind}(): Failed opening '{path}' for inclusion (include_path='{INCLUDE_PATH}')")
            return False
        self.included.add(resolved)
        try:
            body = parse(content.decode("utf-8", "surrogateescape"))
        except ParseError as error:
            if error.unsupported:
                raise FatalError(error.message, error.line, resolved) from None
            raise FatalError(error.message, error.line, resolved, kind=E_PARSE) from None
        saved = self.file
        self.push(node.kind, [resolved])
        self.file = resolved
        try:
            self.run_file(body)
        except ReturnSignal as signal:
            return signal.value
        finally:
            self.file = saved
            self.frames.pop()
            self.line = node.line
        return 1


__all__ = ["Interpreter", "share"]
