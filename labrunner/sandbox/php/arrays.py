"""Array functions. Each returns a new array (by-value arguments are never changed); sorting
functions take a reference and store the sorted copy back."""

from __future__ import annotations

import functools
from typing import Any

from labrunner.sandbox.php.registry import constants, php
from labrunner.sandbox.php.runtime import MEMORY_LIMIT, Ref, Runtime, memory_exhausted
from labrunner.sandbox.php.values import (
    PhpArray, Value, compare, loose_equals, normalize_key, strict_equals, to_bool,
)

constants("standard", {"COUNT_NORMAL": 0, "COUNT_RECURSIVE": 1, "SORT_REGULAR": 0, "SORT_NUMERIC": 1,
                       "SORT_STRING": 2, "SORT_FLAG_CASE": 8, "SORT_NATURAL": 6, "ARRAY_FILTER_USE_KEY": 2,
                       "ARRAY_FILTER_USE_BOTH": 1})


@php("count__sizeof(Countable|array $value, int $mode = 0)")
def count(rt: Runtime, value: PhpArray, mode: int = 0) -> Value:
    if mode == 1:
        return sum(1 + (count(rt, v, 1) if isinstance(v, PhpArray) else 0) for v in value.values())
    return len(value)


@php("in_array(mixed $needle, array $haystack, bool $strict = false)")
def in_array(rt: Runtime, needle: Value, haystack: PhpArray, strict: bool = False) -> Value:
    same = strict_equals if strict else loose_equals
    return any(same(v, needle) for v in haystack.values())


@php("array_search(mixed $needle, array $haystack, bool $strict = false)")
def array_search(rt: Runtime, needle: Value, haystack: PhpArray, strict: bool = False) -> Value:
    same = strict_equals if strict else loose_equals
    return next((k for k, v in haystack.d.items() if same(v, needle)), False)


@php("array_keys(array $array)")
def array_keys(rt: Runtime, array: PhpArray) -> Value:
    return PhpArray.of(list(array.d))


@php("array_values(array $array)")
def array_values(rt: Runtime, array: PhpArray) -> Value:
    return PhpArray.of(array.values())


@php("array_key_exists__key_exists(mixed $key, array $array)")
def array_key_exists(rt: Runtime, key: Value, array: PhpArray) -> Value:
    return normalize_key(key) in array.d


@php("array_map(?callable $callback, array $array, array ...$arrays)")
def array_map(rt: Runtime, callback: Value, array: PhpArray, *arrays: PhpArray) -> Value:
    if arrays:
        size = max([len(array)] + [len(a) for a in arrays])
        columns = [a.values() + [None] * (size - len(a)) for a in (array, *arrays)]
        if callback is None:
            return PhpArray.of([PhpArray.of(list(row)) for row in zip(*columns)])
        return PhpArray.of([rt.call_value(callback, list(row)) for row in zip(*columns)])
    if callback is None:
        return array
    result = PhpArray()
    for k, v in array.d.items():
        result.set(k, rt.call_value(callback, [v]))
    if array.is_list():
        result.next = array.next
    return result


@php("array_filter(array $array, ?callable $callback = null, int $mode = 0)")
def array_filter(rt: Runtime, array: PhpArray, callback: Value = None, mode: int = 0) -> Value:
    result = PhpArray()
    for k, v in array.d.items():
        if callback is None:
            keep = to_bool(v)
        else:
            args = [k] if mode == 2 else [v, k] if mode == 1 else [v]
            keep = to_bool(rt.call_value(callback, args))
        if keep:
            result.set(k, v)
    return result


@php("array_merge(array ...$arrays)")
def array_merge(rt: Runtime, *arrays: PhpArray) -> Value:
    result = PhpArray()
    for array in arrays:
        for k, v in array.d.items():
            if isinstance(k, int):
                result.append(v)
            else:
                result.set(k, v)
    return result


@php("array_slice(array $array, int $offset, ?int $length = null, bool $preserve_keys = false)")
def array_slice(rt: Runtime, array: PhpArray, offset: int, length: int | None = None,
                preserve_keys: bool = False) -> Value:
    items = list(array.d.items())
    size = len(items)
    start = max(size + offset, 0) if offset < 0 else min(offset, size)
    end = size if length is None else (max(size + length, start) if length < 0 else min(start + length, size))
    result = PhpArray()
    for k, v in items[start:end]:
        if isinstance(k, int) and not preserve_keys:
            result.append(v)
        else:
            result.set(k, v)
    return result


def _sort_key(flags: int) -> Any:
    def cmp(a: Value, b: Value) -> int:
        if flags & 2:
            x, y = str(a).encode(), str(b).encode()
            if flags & 8:
                x, y = x.lower(), y.lower()
            return (x > y) - (x < y)
        return compare(a, b)
    return functools.cmp_to_key(cmp)


def _store(ref: Ref, pairs: list[tuple[Any, Value]], keep_keys: bool) -> bool:
    result = PhpArray()
    for k, v in pairs:
        if keep_keys:
            result.set(k, v)
        else:
            result.append(v)
    ref.value = result
    return True


def _pairs(rt: Runtime, name: str, ref: Ref) -> list[tuple[Any, Value]]:
    if not isinstance(ref.value, PhpArray):
        from labrunner.sandbox.php.values import type_name
        raise rt.throw("TypeError", f"{name}(): Argument #1 ($array) must be of type array, "
                                    f"{type_name(ref.value)} given")
    return list(ref.value.d.items())


@php("sort(array &$array, int $flags = 0)")
def sort(rt: Runtime, array: Ref, flags: int = 0) -> Value:
    key = _sort_key(flags)
    return _store(array, sorted(_pairs(rt, "sort", array), key=lambda p: key(p[1])), False)


@php("rsort(array &$array, int $flags = 0)")
def rsort(rt: Runtime, array: Ref, flags: int = 0) -> Value:
    key = _sort_key(flags)
    return _store(array, sorted(_pairs(rt, "rsort", array), key=lambda p: key(p[1]), reverse=True), False)


@php("asort(array &$array, int $flags = 0)")
def asort(rt: Runtime, array: Ref, flags: int = 0) -> Value:
    key = _sort_key(flags)
    return _store(array, sorted(_pairs(rt, "asort", array), key=lambda p: key(p[1])), True)


@php("arsort(array &$array, int $flags = 0)")
def arsort(rt: Runtime, array: Ref, flags: int = 0) -> Value:
    key = _sort_key(flags)
    return _store(array, sorted(_pairs(rt, "arsort", array), key=lambda p: key(p[1]), reverse=True), True)


@php("ksort(array &$array, int $flags = 0)")
def ksort(rt: Runtime, array: Ref, flags: int = 0) -> Value:
    key = _sort_key(flags)
    return _store(array, sorted(_pairs(rt, "ksort", array), key=lambda p: key(p[0])), True)


@php("krsort(array &$array, int $flags = 0)")
def krsort(rt: Runtime, array: Ref, flags: int = 0) -> Value:
    key = _sort_key(flags)
    return _store(array, sorted(_pairs(rt, "krsort", array), key=lambda p: key(p[0]), reverse=True), True)


@php("usort(array &$array, callable $callback)")
def usort(rt: Runtime, array: Ref, callback: Value) -> Value:
    key = functools.cmp_to_key(lambda a, b: int(rt.call_value(callback, [a, b]) or 0))
    return _store(array, sorted(_pairs(rt, "usort", array), key=lambda p: key(p[1])), False)


@php("array_push(array &$array, mixed ...$values)")
def array_push(rt: Runtime, array: Ref, *values: Value) -> Value:
    result = array.value.copy() if isinstance(array.value, PhpArray) else PhpArray()
    for v in values:
        result.append(v)
    array.value = result
    return len(result)


@php("array_pop(array &$array)")
def array_pop(rt: Runtime, array: Ref) -> Value:
    if not isinstance(array.value, PhpArray) or not len(array.value):
        return None
    result = array.value.copy()
    key = list(result.d)[-1]
    value = result.d.pop(key)
    result.next = max([k + 1 for k in result.d if isinstance(k, int)], default=0)
    array.value = result
    return value


@php("array_shift(array &$array)")
def array_shift(rt: Runtime, array: Ref) -> Value:
    if not isinstance(array.value, PhpArray) or not len(array.value):
        return None
    items = list(array.value.d.items())
    result = PhpArray()
    for k, v in items[1:]:
        if isinstance(k, int):
            result.append(v)
        else:
            result.set(k, v)
    array.value = result
    return items[0][1]


@php("array_unshift(array &$array, mixed ...$values)")
def array_unshift(rt: Runtime, array: Ref, *values: Value) -> Value:
    old = list(array.value.d.items()) if isinstance(array.value, PhpArray) else []
    result = PhpArray.of(list(values))
    for k, v in old:
        if isinstance(k, int):
            result.append(v)
        else:
            result.set(k, v)
    array.value = result
    return len(result)


@php("range(string|int|float $start, string|int|float $end, int|float $step = 1)")
def range_(rt: Runtime, start: Value, end: Value, step: Value = 1) -> Value:
    if isinstance(start, str) and isinstance(end, str) and len(start) == 1 and len(end) == 1 \
            and not start.isdigit():
        first, last = ord(start), ord(end)
        stride = abs(int(step)) or 1
        codes = range(first, last + 1, stride) if first <= last else range(first, last - 1, -stride)
        return PhpArray.of([chr(c) for c in codes])
    from labrunner.sandbox.php.values import to_number
    a, z = to_number(start), to_number(end)
    st: int | float = abs(to_number(step))
    if st == 0:
        raise rt.throw("ValueError", "range(): Argument #3 ($step) cannot be 0")
    count = int(abs(z - a) // st) + 1
    if count * 32 > MEMORY_LIMIT:
        raise memory_exhausted(count * 16, rt.line)
    direction = 1 if z >= a else -1
    as_float = any(isinstance(x, float) for x in (a, z, st))
    return PhpArray.of([(float(a + direction * i * st) if as_float else a + direction * i * int(st))
                        for i in range(count)])


@php("array_reverse(array $array, bool $preserve_keys = false)")
def array_reverse(rt: Runtime, array: PhpArray, preserve_keys: bool = False) -> Value:
    result = PhpArray()
    for k, v in reversed(list(array.d.items())):
        if isinstance(k, int) and not preserve_keys:
            result.append(v)
        else:
            result.set(k, v)
    return result


@php("array_sum(array $array)")
def array_sum(rt: Runtime, array: PhpArray) -> Value:
    from labrunner.sandbox.php.operators import binary
    total: Value = 0
    for v in array.values():
        total = binary(rt, "+", total, v)
    return total


@php("array_column(array $array, int|string|null $column_key, int|string|null $index_key = null)")
def array_column(rt: Runtime, array: PhpArray, column_key: Value, index_key: Value = None) -> Value:
    result = PhpArray()
    for row in array.values():
        if not isinstance(row, PhpArray):
            continue
        if column_key is not None and normalize_key(column_key) not in row.d:
            continue
        value = row if column_key is None else row.d[normalize_key(column_key)]
        if index_key is not None and normalize_key(index_key) in row.d:
            result.set(normalize_key(row.d[normalize_key(index_key)]), value)
        else:
            result.append(value)
    return result


@php("array_unique(array $array, int $flags = 2)")
def array_unique(rt: Runtime, array: PhpArray, flags: int = 2) -> Value:
    seen: list[str] = []
    result = PhpArray()
    for k, v in array.d.items():
        text = rt.to_string(v)
        if text not in seen:
            seen.append(text)
            result.set(k, v)
    return result


@php("array_flip(array $array)")
def array_flip(rt: Runtime, array: PhpArray) -> Value:
    result = PhpArray()
    for k, v in array.d.items():
        result.set(normalize_key(v), k)
    return result


@php("array_combine(array $keys, array $values)")
def array_combine(rt: Runtime, keys: PhpArray, values: PhpArray) -> Value:
    if len(keys) != len(values):
        raise rt.throw("ValueError", "array_combine(): Argument #1 ($keys) and argument #2 ($values) must have "
                                     "the same number of elements")
    result = PhpArray()
    for k, v in zip(keys.values(), values.values()):
        result.set(normalize_key(rt.to_string(k) if not isinstance(k, int) else k), v)
    return result


@php("array_key_first(array $array)")
def array_key_first(rt: Runtime, array: PhpArray) -> Value:
    return next(iter(array.d), None)


@php("array_key_last(array $array)")
def array_key_last(rt: Runtime, array: PhpArray) -> Value:
    return list(array.d)[-1] if len(array) else None


@php("array_fill(int $start_index, int $count, mixed $value)")
def array_fill(rt: Runtime, start_index: int, count: int, value: Value) -> Value:
    if count * 32 > MEMORY_LIMIT:
        raise memory_exhausted(count * 16, rt.line)
    result = PhpArray()
    for i in range(count):
        result.set(start_index + i, value)
    return result
