"""PHP 8's arithmetic, string and bitwise operators on values, with its warnings and TypeErrors
(``"12abc" + 1`` warns "A non-numeric value encountered", ``"abc" + 1`` throws)."""

from __future__ import annotations

import math

from labrunner.sandbox.php.runtime import Runtime
from labrunner.sandbox.php.values import (
    PHP_INT_MAX, PHP_INT_MIN, PhpArray, PhpObject, Value, compare, float_to_int, leading_numeric, loose_equals,
    parse_numeric, strict_equals, type_name,
)


def _unsupported(rt: Runtime, op: str, a: Value, b: Value) -> Exception:
    return rt.throw("TypeError", f"Unsupported operand types: {type_name(a)} {op} {type_name(b)}")


def number(rt: Runtime, value: Value, op: str, a: Value, b: Value) -> int | float:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if value is None:
        return 0
    if isinstance(value, str):
        parsed = parse_numeric(value)
        if parsed is not None:
            return parsed
        lead = leading_numeric(value)
        if lead is None:
            raise _unsupported(rt, op, a, b)
        rt.warn("A non-numeric value encountered")
        return lead
    raise _unsupported(rt, op, a, b)


def _fit(value: int) -> int | float:
    return value if PHP_INT_MIN <= value <= PHP_INT_MAX else float(value)


def to_int_operand(rt: Runtime, value: int | float) -> int:
    if isinstance(value, float):
        if value != int(value) if math.isfinite(value) else True:
            rt.deprecated(f"Implicit conversion from float {rt.to_string(value)} to int loses precision")
        return float_to_int(value)
    return value


def binary(rt: Runtime, op: str, a: Value, b: Value) -> Value:
    if op == ".":
        return rt.to_string(a) + rt.to_string(b)
    if op in ("==", "!=", "===", "!==", "<", "<=", ">", ">=", "<=>"):
        return comparison(op, a, b)
    if op == "+" and isinstance(a, PhpArray) and isinstance(b, PhpArray):
        result = a.copy()
        for k, v in b.d.items():
            if k not in result.d:
                result.set(k, v)
        return result
    if isinstance(a, (PhpArray, PhpObject)) or isinstance(b, (PhpArray, PhpObject)):
        raise _unsupported(rt, op, a, b)
    x, y = number(rt, a, op, a, b), number(rt, b, op, a, b)
    if op == "+":
        return _fit(x + y) if isinstance(x, int) and isinstance(y, int) else float(x) + float(y)
    if op == "-":
        return _fit(x - y) if isinstance(x, int) and isinstance(y, int) else float(x) - float(y)
    if op == "*":
        return _fit(x * y) if isinstance(x, int) and isinstance(y, int) else float(x) * float(y)
    if op == "/":
        if y == 0:
            raise rt.throw("DivisionByZeroError", "Division by zero")
        if isinstance(x, int) and isinstance(y, int) and x % y == 0:
            return _fit(x // y)
        return x / y
    if op == "%":
        xi, yi = to_int_operand(rt, x), to_int_operand(rt, y)
        if yi == 0:
            raise rt.throw("DivisionByZeroError", "Modulo by zero")
        return int(math.fmod(xi, yi))
    if op == "**":
        if isinstance(x, int) and isinstance(y, int) and y >= 0:
            return _fit(x ** y) if abs(x) < 2**63 and y < 1024 else float(x) ** y
        try:
            return float(x) ** float(y)
        except (OverflowError, ZeroDivisionError):
            return math.inf
    xi, yi = to_int_operand(rt, x), to_int_operand(rt, y)
    if op == "&":
        return xi & yi
    if op == "|":
        return xi | yi
    if op == "^":
        return xi ^ yi
    if op in ("<<", ">>"):
        if yi < 0:
            raise rt.throw("ArithmeticError", "Bit shift by negative number")
        if op == ">>":
            return xi >> min(yi, 63)
        return _wrap(xi << yi) if yi < 64 else 0
    raise rt.fatal(f"labrunner sandbox: operator {op}")


def _wrap(value: int) -> int:
    value &= 2**64 - 1
    return value - 2**64 if value >= 2**63 else value


def comparison(op: str, a: Value, b: Value) -> Value:
    if op == "===":
        return strict_equals(a, b)
    if op == "!==":
        return not strict_equals(a, b)
    if op == "==":
        return loose_equals(a, b)
    if op == "!=":
        return not loose_equals(a, b)
    result = compare(a, b)
    if op == "<=>":
        return result
    if op == "<":
        return result < 0
    if op == "<=":
        return result <= 0
    if op == ">":
        return compare(b, a) < 0
    return compare(b, a) <= 0


def increment(rt: Runtime, value: Value, op: str) -> Value:
    if value is None:
        return 1 if op == "++" else None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _fit(value + 1 if op == "++" else value - 1)
    if isinstance(value, float):
        return value + 1 if op == "++" else value - 1
    if isinstance(value, str):
        parsed = parse_numeric(value)
        if parsed is not None:
            return increment(rt, parsed, op)
        if op == "--" or value == "":
            return "1" if value == "" and op == "++" else (-1 if value == "" else value)
        return _perl_increment(value)
    raise rt.throw("TypeError", f"Cannot {'increment' if op == '++' else 'decrement'} {type_name(value)}")


def _perl_increment(text: str) -> str:
    chars = list(text)
    i = len(chars) - 1
    while i >= 0:
        c = chars[i]
        if c == "z":
            chars[i] = "a"
        elif c == "Z":
            chars[i] = "A"
        elif c == "9":
            chars[i] = "0"
        elif c.isalnum() and c.isascii():
            chars[i] = chr(ord(c) + 1)
            return "".join(chars)
        else:
            return "".join(chars)
        i -= 1
    first = text[0]
    return ("1" if first.isdigit() else "a" if first.islower() else "A") + "".join(chars)
