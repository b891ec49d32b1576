"""Expressions: reading and writing variables, array elements and properties (with PHP's
warnings for what is undefined), operators, casts, isset/empty and the other language constructs."""

from __future__ import annotations

from typing import Callable

from labrunner.sandbox.php import nodes as n
from labrunner.sandbox.php.classes import instance_of
from labrunner.sandbox.php.errors import ExitSignal, PhpThrow
from labrunner.sandbox.php.operators import binary, increment
from labrunner.sandbox.php.registry import CONSTANTS, available
from labrunner.sandbox.php.runtime import Function, Ref, Runtime
from labrunner.sandbox.php.values import (
    PhpArray, PhpObject, Value, normalize_key, share, strict_equals, to_bool, to_float, to_int, type_name,
)

MISSING = object()
MAGIC = {"__LINE__", "__FILE__", "__DIR__", "__FUNCTION__", "__CLASS__", "__METHOD__", "__NAMESPACE__"}


class Evaluator(Runtime):
    _dispatch: dict[type, Callable[[Evaluator, n.Node], Value]] = {}

    def eval(self, node: n.Node) -> Value:
        method = self._dispatch.get(type(node))
        if method is None:
            method = getattr(type(self), "e_" + type(node).__name__)
            self._dispatch[type(node)] = method
        return method(self, node)

    # Implemented by the interpreter.
    def run(self, body: list[n.Node]) -> None:
        raise NotImplementedError

    def e_Call(self, node: n.Call) -> Value:
        raise NotImplementedError

    def e_MethodCall(self, node: n.MethodCall) -> Value:
        raise NotImplementedError

    def e_StaticCall(self, node: n.StaticCall) -> Value:
        raise NotImplementedError

    def e_New(self, node: n.New) -> Value:
        raise NotImplementedError

    def e_Include(self, node: n.Include) -> Value:
        raise NotImplementedError

    def native_prop(self, obj: PhpObject, name: str) -> Value:
        raise NotImplementedError

    def class_constant(self, cls: str, name: str) -> Value:
        raise NotImplementedError

    # Literals and names

    def e_Lit(self, node: n.Lit) -> Value:
        return node.value

    def e_Interp(self, node: n.Interp) -> Value:
        return "".join(p if isinstance(p, str) else self.to_string(self.eval(p)) for p in node.parts)

    def e_ArrayLit(self, node: n.ArrayLit) -> Value:
        array = PhpArray()
        for item in node.items:
            value = self.eval(item.value)
            if item.spread:
                if not isinstance(value, PhpArray):
                    raise self.throw("Error", "Only arrays and Traversables can be unpacked")
                for k, v in value.d.items():
                    if isinstance(k, int):
                        array.append(v)
                    else:
                        array.set(k, v)
            elif item.key is None:
                if not array.append(value):
                    self.warn("Cannot add element to the array as the next element is already occupied")
            else:
                array.set(self.key(self.eval(item.key), "array"), value)
        return array

    def e_Const(self, node: n.Const) -> Value:
        name = node.name
        if name in MAGIC:
            self.line = node.line
            return {"__LINE__": node.line, "__FILE__": self.file,
                    "__DIR__": self.file.rsplit("/", 1)[0] or "/"}.get(name, "")
        if name in self.constants:
            return self.constants[name]
        found = CONSTANTS.get(name)
        if found is not None and available(found[1], self.host.extensions):
            return found[0]
        self.line = node.line
        raise self.throw("Error", f'Undefined constant "{name}"')

    def e_ClassConst(self, node: n.ClassConst) -> Value:
        self.line = node.line
        return self.class_constant(node.cls, node.name)

    # Variables, elements, properties

    def e_Var(self, node: n.Var) -> Value:
        ref = self.lookup(node.name)
        if ref is None:
            if node.name == "GLOBALS":
                return PhpArray({k: r.value for k, r in self.globals.items()})
            self.line = node.line
            self.warn(f"Undefined variable ${node.name}")
            return None
        return ref.value

    def key(self, value: Value, container: str) -> int | str:
        if isinstance(value, float) and value.is_integer() is False and value == value:
            self.deprecated(f"Implicit conversion from float {self.to_string(value)} to int loses precision")
        try:
            return normalize_key(value)
        except TypeError:
            raise self.throw("TypeError", f"Cannot access offset of type {type_name(value)} on {container}") from None

    def e_Dim(self, node: n.Dim) -> Value:
        base = self.eval(node.base)
        if node.key is None:
            raise self.fatal("Cannot use [] for reading")
        key = self.eval(node.key)
        self.line = node.line
        return self.element(base, key)

    def element(self, base: Value, key: Value, quiet: bool = False) -> Value:
        if isinstance(base, PhpArray):
            k = self.key(key, "array")
            if k in base.d:
                return base.d[k]
            if not quiet:
                self.warn(f'Undefined array key "{k}"' if isinstance(k, str) else f"Undefined array key {k}")
            return None
        if isinstance(base, str):
            if isinstance(key, str) and not key.lstrip("-").isdigit():
                if quiet:
                    return None
                raise self.throw("TypeError", f"Cannot access offset of type {type_name(key)} on string")
            raw = base.encode("utf-8", "surrogateescape")
            index = to_int(key)
            if -len(raw) <= index < len(raw):
                return raw[index:index + 1 or None].decode("utf-8", "surrogateescape")
            if not quiet:
                self.warn(f"Uninitialized string offset {index}")
            return None if quiet else ""
        if isinstance(base, PhpObject):
            if quiet:
                return None
            raise self.throw("Error", f"Cannot use object of type {base.cls} as array")
        if not quiet:
            self.warn(f"Trying to access array offset on value of type {type_name(base)}")
        return None

    def prop_name(self, name: str | n.Node) -> str:
        return name if isinstance(name, str) else self.to_string(self.eval(name))

    def e_Prop(self, node: n.Prop) -> Value:
        base = self.eval(node.base)
        self.line = node.line
        name = self.prop_name(node.name)
        if base is None and node.nullsafe:
            return None
        return self.property(base, name)

    def property(self, base: Value, name: str, quiet: bool = False) -> Value:
        if isinstance(base, PhpObject):
            if name in base.props:
                return base.props[name]
            if base.internal is not None and not isinstance(base.internal, list):
                value = self.native_prop(base, name)
                if value is not MISSING:
                    return value
            if not quiet:
                self.warn(f"Undefined property: {base.cls}::${name}")
            return None
        if not quiet:
            self.warn(f'Attempt to read property "{name}" on {type_name(base)}')
        return None

    def array_for_write(self, node: n.Node) -> PhpArray:
        """The array a write through ``node`` changes, created or unshared in its slot first."""
        if isinstance(node, n.Var):
            ref = self.ref(node.name)
            ref.value = self.writable(ref.value, node)
            assert isinstance(ref.value, PhpArray)
            return ref.value
        if isinstance(node, n.Dim):
            parent = self.array_for_write(node.base)
            if node.key is None:
                child = PhpArray()
                if not parent.append(child):
                    self.warn("Cannot add element to the array as the next element is already occupied")
                child.shared = False
                return child
            k = self.key(self.eval(node.key), "array")
            current = parent.d.get(k)
            fresh = self.writable(current, node)
            if fresh is not current:
                parent.d[k] = fresh
                if isinstance(k, int) and k >= parent.next:
                    parent.next = k + 1
            assert isinstance(fresh, PhpArray)
            return fresh
        if isinstance(node, n.Prop):
            obj = self.eval(node.base)
            name = self.prop_name(node.name)
            if not isinstance(obj, PhpObject):
                raise self.throw("Error", f'Attempt to modify property "{name}" on {type_name(obj)}')
            current = obj.props.get(name)
            fresh = self.writable(current, node)
            obj.props[name] = fresh
            assert isinstance(fresh, PhpArray)
            return fresh
        raise self.fatal("Cannot use temporary expression in write context")

    def writable(self, value: Value, node: n.Node) -> PhpArray:
        if isinstance(value, PhpArray):
            return value.copy() if value.shared else value
        if value is None:
            return PhpArray()
        if value is False:
            self.deprecated("Automatic conversion of false to array is deprecated")
            return PhpArray()
        if isinstance(value, str):
            if value == "":
                raise self.throw("Error", "[] operator not supported for strings") if isinstance(node, n.Dim) \
                    and node.key is None else self.unsupported("writing string offsets")
            raise self.unsupported("writing string offsets")
        if isinstance(value, PhpObject):
            raise self.throw("Error", f"Cannot use object of type {value.cls} as array")
        raise self.throw("Error", "Cannot use a scalar value as an array")

    def assign(self, target: n.Node, value: Value) -> Value:
        if isinstance(target, n.Var):
            if target.name == "this":
                raise self.fatal("Cannot re-assign $this")
            self.ref(target.name).value = share(value)
        elif isinstance(target, n.Dim):
            array = self.array_for_write(target.base)
            if target.key is None:
                if not array.append(value):
                    self.warn("Cannot add element to the array as the next element is already occupied")
            else:
                array.set(self.key(self.eval(target.key), "array"), value)
        elif isinstance(target, n.Prop):
            obj = self.eval(target.base)
            name = self.prop_name(target.name)
            if not isinstance(obj, PhpObject):
                raise self.throw("Error", f'Attempt to assign property "{name}" on {type_name(obj)}')
            obj.props[name] = share(value)
        elif isinstance(target, n.ArrayLit):
            self.destructure([(i.key, i.value) for i in target.items], value)
        else:
            raise self.fatal("Cannot assign to this expression")
        return value

    def e_Assign(self, node: n.Assign) -> Value:
        value = self.eval(node.value)
        self.line = node.line
        return self.assign(node.target, value)

    def e_ListAssign(self, node: n.ListAssign) -> Value:
        value = self.eval(node.value)
        self.destructure(node.targets, value)
        return value

    def destructure(self, targets: list[tuple[n.Node | None, n.Node | None]], value: Value) -> None:
        for index, (key, target) in enumerate(targets):
            if target is None or isinstance(target, n.Lit) and target.value is None and key is None:
                continue
            k = self.eval(key) if key is not None else index
            item = self.element(value, k) if isinstance(value, PhpArray) else None
            self.assign(target, item)

    def e_AssignOp(self, node: n.AssignOp) -> Value:
        if node.op == "??":
            current = self.quiet(node.target)
            if current is not None:
                return current
            return self.assign(node.target, self.eval(node.value))
        current = self.eval(node.target)
        value = self.eval(node.value)
        self.line = node.line
        return self.assign(node.target, binary(self, node.op, current, value))

    def e_IncDec(self, node: n.IncDec) -> Value:
        if isinstance(node.target, n.Var) and self.lookup(node.target.name) is None:
            self.line = node.line
            self.warn(f"Undefined variable ${node.target.name}")
            old: Value = None
        else:
            old = self.eval(node.target)
        new = increment(self, old, node.op)
        self.assign(node.target, new)
        return new if node.prefix else old

    def quiet(self, node: n.Node) -> Value:
        """A value for isset, empty and ??: never warns, MISSING-free (undefined is null)."""
        if isinstance(node, n.Var):
            ref = self.lookup(node.name)
            return None if ref is None else ref.value
        if isinstance(node, n.Dim):
            base = self.quiet(node.base)
            if base is None or node.key is None:
                return None
            return self.element(base, self.eval(node.key), quiet=True)
        if isinstance(node, n.Prop):
            base = self.quiet(node.base)
            return self.property(base, self.prop_name(node.name), quiet=True) if isinstance(base, PhpObject) else None
        return self.eval(node)

    def e_Isset(self, node: n.Isset) -> Value:
        return all(self.quiet(e) is not None for e in node.exprs)

    def e_Empty(self, node: n.Empty) -> Value:
        return not to_bool(self.quiet(node.expr))

    # Operators

    def e_Bin(self, node: n.Bin) -> Value:
        op = node.op
        if op in ("&&", "and"):
            return to_bool(self.eval(node.left)) and to_bool(self.eval(node.right))
        if op in ("||", "or"):
            return to_bool(self.eval(node.left)) or to_bool(self.eval(node.right))
        if op == "xor":
            return to_bool(self.eval(node.left)) != to_bool(self.eval(node.right))
        if op == "??":
            left = self.quiet(node.left)
            return left if left is not None else self.eval(node.right)
        left = self.eval(node.left)
        right = self.eval(node.right)
        self.line = node.line
        return binary(self, op, left, right)

    def e_Unary(self, node: n.Unary) -> Value:
        value = self.eval(node.expr)
        if node.op == "!":
            return not to_bool(value)
        self.line = node.line
        if node.op == "-":
            return binary(self, "*", value, -1)
        if node.op == "+":
            return binary(self, "*", value, 1)
        if isinstance(value, float):
            value = to_int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.throw("TypeError", f"Cannot perform bitwise not on {type_name(value)}")
        return ~value

    def e_Cast(self, node: n.Cast) -> Value:
        value = self.eval(node.expr)
        kind = node.type
        if kind == "int":
            return to_int(value)
        if kind == "float":
            return to_float(value)
        if kind == "string":
            return self.to_string(value)
        if kind == "bool":
            return to_bool(value)
        if kind == "array":
            if isinstance(value, PhpArray):
                return value
            if value is None:
                return PhpArray()
            if isinstance(value, PhpObject):
                return PhpArray(dict(value.props))
            return PhpArray.of([value])
        if kind == "object":
            if isinstance(value, PhpObject):
                return value
            obj = PhpObject("stdClass")
            if isinstance(value, PhpArray):
                obj.props = {str(k): v for k, v in value.d.items()}
            elif value is not None:
                obj.props = {"scalar": value}
            return obj
        raise self.fatal("The (unset) cast is no longer supported")

    def e_Ternary(self, node: n.Ternary) -> Value:
        cond = self.eval(node.cond)
        if to_bool(cond):
            return cond if node.then is None else self.eval(node.then)
        return self.eval(node.otherwise)

    def e_Silence(self, node: n.Silence) -> Value:
        self.silence += 1
        try:
            return self.eval(node.expr)
        finally:
            self.silence -= 1

    def e_InstanceOf(self, node: n.InstanceOf) -> Value:
        value = self.eval(node.expr)
        return isinstance(value, PhpObject) and instance_of(value.cls, node.cls)

    def e_Print(self, node: n.Print) -> Value:
        self.echo(self.to_string(self.eval(node.expr)))
        return 1

    def e_Exit(self, node: n.Exit) -> Value:
        if node.expr is not None:
            value = self.eval(node.expr)
            if isinstance(value, str):
                self.echo(value)
            elif not isinstance(value, int):
                self.echo(self.to_string(value))
        raise ExitSignal()

    def e_Throw(self, node: n.Throw) -> Value:
        value = self.eval(node.expr)
        self.line = node.line
        if not isinstance(value, PhpObject) or not instance_of(value.cls, "Throwable"):
            raise self.throw("Error", "Can only throw objects")
        raise PhpThrow(value)

    def e_Closure(self, node: n.Closure) -> Value:
        bound: dict[str, Value] = {}
        for name in node.uses:
            ref = self.lookup(name)
            if ref is None:
                self.line = node.line
                self.warn(f"Undefined variable ${name}")
            bound[name] = None if ref is None else share(ref.value)
        func = Function("{closure}", node.params, node.body, self.file, bound,
                        closure_scope=dict(self.scope) if node.arrow else None)
        return PhpObject("Closure", internal=func)

    def e_Match(self, node: n.Match) -> Value:
        subject = self.eval(node.subject)
        for arm in node.arms:
            if arm.conds is None or any(strict_equals(subject, self.eval(c)) for c in arm.conds):
                return self.eval(arm.result)
        self.line = node.line
        from labrunner.sandbox.php.formats import var_export
        shown = var_export(subject) if isinstance(subject, (str, int, float, bool)) or subject is None \
            else f"of type {type_name(subject)}"
        raise self.throw("UnhandledMatchError", f"Unhandled match case {shown}")


__all__ = ["MISSING", "Evaluator", "Ref"]
