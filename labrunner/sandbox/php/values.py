"""PHP values in Python: ``None``, ``bool``, ``int``, ``float``, ``str``, :class:`PhpArray` and
:class:`PhpObject`, with PHP 8's conversions and loose comparison.

Arrays are values in PHP. A :class:`PhpArray` stored in a second place is marked ``shared`` and
copied by the first write through any holder (copy on write, without reference counts: a copy
may happen that PHP would skip, never the reverse).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, Iterator, Mapping, Union

Key = Union[int, str]
Value = Any
"""None | bool | int | float | str | PhpArray | PhpObject (Any: mypy has no recursive aliases here)."""

PHP_INT_MAX = 2**63 - 1
PHP_INT_MIN = -(2**63)

_INT_KEY = re.compile(r"-?[1-9][0-9]*|0")
_NUMERIC = re.compile(r"[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[ \t\n\r\v\f]*")
_LEADING = re.compile(r"[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class PhpArray:
    """An ordered hash with PHP's next free integer key."""

    __slots__ = ("d", "next", "shared")

    def __init__(self, items: Mapping[Any, Value] | None = None) -> None:
        self.d: dict[Key, Value] = {}
        self.next = 0
        self.shared = False
        if items:
            for k, v in items.items():
                self.set(k, v)

    @classmethod
    def of(cls, values: list[Value]) -> PhpArray:
        array = cls()
        array.d = dict(enumerate(values))
        array.next = len(values)
        return array

    def set(self, key: Key, value: Value) -> None:
        self.d[key] = share(value)
        if isinstance(key, int) and key >= self.next:
            self.next = key + 1 if key < PHP_INT_MAX else key

    def append(self, value: Value) -> bool:
        if self.next > PHP_INT_MAX or self.next in self.d:
            return False
        self.d[self.next] = share(value)
        self.next += 1
        return True

    def copy(self) -> PhpArray:
        fresh = PhpArray()
        fresh.d = dict(self.d)
        fresh.next = self.next
        for v in fresh.d.values():
            if isinstance(v, PhpArray):
                v.shared = True
        return fresh

    def values(self) -> list[Value]:
        return list(self.d.values())

    def __len__(self) -> int:
        return len(self.d)

    def __iter__(self) -> Iterator[Key]:
        return iter(self.d)

    def is_list(self) -> bool:
        return all(k == i for i, k in enumerate(self.d))


def share(value: Value) -> Value:
    if isinstance(value, PhpArray):
        value.shared = True
    return value


class PhpObject:
    """An object: a class name, properties in declaration order and, for built-in classes, the
    Python state behind them (a mysqli link, a result set, an exception's trace)."""

    __slots__ = ("cls", "props", "internal", "handle")
    _next_handle = 0

    def __init__(self, cls: str, props: dict[str, Value] | None = None, internal: Any = None) -> None:
        self.cls = cls
        self.props: dict[str, Value] = props or {}
        self.internal = internal
        PhpObject._next_handle += 1
        self.handle = PhpObject._next_handle


def normalize_key(key: Value) -> Key:
    """PHP's array key rules: canonical decimal strings become ints, bools and floats ints, null ''."""
    if isinstance(key, bool):
        return int(key)
    if isinstance(key, int):
        return key
    if isinstance(key, str):
        if _INT_KEY.fullmatch(key):
            number = int(key)
            if PHP_INT_MIN <= number <= PHP_INT_MAX:
                return number
        return key
    if isinstance(key, float):
        return float_to_int(key)
    if key is None:
        return ""
    raise TypeError(type_name(key))


def type_name(value: Value) -> str:
    """The type as PHP 8 error messages spell it (get_debug_type)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, PhpArray):
        return "array"
    return str(value.cls)


def gettype(value: Value) -> str:
    names = {"null": "NULL", "bool": "boolean", "int": "integer", "float": "double", "string": "string",
             "array": "array"}
    return names.get(type_name(value), "object")


def float_to_int(value: float) -> int:
    if math.isnan(value) or math.isinf(value):
        return 0
    if not PHP_INT_MIN <= value <= PHP_INT_MAX:
        # PHP 8 on 64-bit: out of range is undefined behaviour made modular since 8.0? It is 0 on x86-64 for
        # casts through zend_dval_to_lval (which returns 0 when out of range).
        return 0
    return int(value)


def to_bool(value: Value) -> bool:
    if isinstance(value, str):
        return value not in ("", "0")
    if isinstance(value, PhpArray):
        return len(value) > 0
    if isinstance(value, PhpObject):
        return True
    return bool(value)


def is_numeric_str(text: str) -> bool:
    return _NUMERIC.fullmatch(text) is not None


def parse_numeric(text: str) -> int | float | None:
    """The number a numeric string (PHP 8: surrounding whitespace allowed) stands for, or None."""
    if not _NUMERIC.fullmatch(text):
        return None
    return _number_of(text.strip(" \t\n\r\v\f"))


def leading_numeric(text: str) -> int | float | None:
    """The number at the start of ``text`` ("12abc" is 12), or None."""
    m = _LEADING.match(text)
    return _number_of(m.group().strip(" \t\n\r\v\f")) if m else None


def _number_of(text: str) -> int | float:
    if any(c in text for c in ".eE"):
        return float(text)
    number = int(text)
    return number if PHP_INT_MIN <= number <= PHP_INT_MAX else float(number)


def to_number(value: Value) -> int | float:
    """For (int)-like contexts that never warn: leading numeric text, else 0."""
    if isinstance(value, (bool, int)):
        return int(value)
    if isinstance(value, float):
        return value
    if value is None:
        return 0
    if isinstance(value, str):
        number = leading_numeric(value)
        return 0 if number is None else number
    if isinstance(value, PhpArray):
        return 1 if len(value) else 0
    return 1


def to_int(value: Value) -> int:
    number = to_number(value)
    return float_to_int(number) if isinstance(number, float) else number


def to_float(value: Value) -> float:
    return float(to_number(value))


def format_float(value: float, precision: int = 14) -> str:
    """``php_gcvt``: echo and string conversion use ``precision`` (14), var_dump, var_export and
    json_encode ``serialize_precision`` -1 (the shortest text that reads back, with 17 as the
    threshold for exponent form)."""
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    if precision < 0:
        digits_text = repr(abs(value))
        threshold = 17
    else:
        digits_text = f"{abs(value):.{precision - 1}e}"
        threshold = precision
    sign, digit_tuple, exponent = Decimal(digits_text).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    decpt = len(digit_tuple) + exponent
    negative = "-" if value < 0 else ""
    if decpt < -3 or decpt > threshold:
        mantissa = digits[0] + "." + (digits[1:] or "0")
        exp = decpt - 1
        return f"{negative}{mantissa}E{'+' if exp >= 0 else '-'}{abs(exp)}"
    if decpt <= 0:
        return f"{negative}0.{'0' * -decpt}{digits}"
    if len(digits) <= decpt:
        return negative + digits + "0" * (decpt - len(digits))
    return f"{negative}{digits[:decpt]}.{digits[decpt:]}"


def to_str(value: Value) -> str:
    """String conversion as echo does it (objects are handled by the interpreter)."""
    if isinstance(value, str):
        return value
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, PhpArray):
        return "Array"
    raise TypeError(type_name(value))


def compare(a: Value, b: Value) -> int:
    """PHP 8's ``<=>``: -1, 0 or 1 (arrays that cannot be ordered compare as 1, as PHP does)."""
    if isinstance(a, str) and isinstance(b, str):
        na, nb = parse_numeric(a), parse_numeric(b)
        if na is not None and nb is not None:
            return _cmp(na, nb)
        return _cmp(a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape"))
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        if a is None and isinstance(b, str):
            return _cmp("", b)
        if b is None and isinstance(a, str):
            return _cmp(a, "")
        return _cmp(to_bool(a), to_bool(b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return _cmp(a, b)
    if isinstance(a, (int, float)) and isinstance(b, str):
        nb = parse_numeric(b)
        return _cmp(a, nb) if nb is not None else _cmp(to_str(a), b)
    if isinstance(a, str) and isinstance(b, (int, float)):
        return -compare(b, a)
    if isinstance(a, PhpArray) and isinstance(b, PhpArray):
        if len(a) != len(b):
            return _cmp(len(a), len(b))
        for key, value in a.d.items():
            if key not in b.d:
                return 1
            result = compare(value, b.d[key])
            if result:
                return result
        return 0
    if isinstance(a, PhpArray):
        return 1
    if isinstance(b, PhpArray):
        return -1
    if isinstance(a, PhpObject) and isinstance(b, PhpObject):
        if a is b:
            return 0
        if a.cls != b.cls:
            return 1
        return compare(PhpArray(dict(a.props)), PhpArray(dict(b.props)))
    return 1 if isinstance(a, PhpObject) else -1


def _cmp(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


def loose_equals(a: Value, b: Value) -> bool:
    if isinstance(a, PhpArray) and isinstance(b, PhpArray):
        return len(a) == len(b) and all(k in b.d and loose_equals(v, b.d[k]) for k, v in a.d.items())
    if isinstance(a, PhpObject) and isinstance(b, PhpObject):
        return a is b or compare(a, b) == 0
    if isinstance(a, str) and isinstance(b, str):
        na, nb = parse_numeric(a), parse_numeric(b)
        if na is not None and nb is not None:
            return na == nb
        return a == b
    return compare(a, b) == 0


def strict_equals(a: Value, b: Value) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, PhpArray):
        assert isinstance(b, PhpArray)
        return len(a) == len(b) and list(a.d) == list(b.d) and all(strict_equals(v, b.d[k]) for k, v in a.d.items())
    if isinstance(a, PhpObject):
        return a is b
    return bool(a == b)
