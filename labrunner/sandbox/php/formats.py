"""Functions whose output format users compare by eye: var_dump, print_r, var_export,
json_encode/json_decode, sprintf and number_format, byte for byte as PHP 8.3 prints them."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping
from decimal import ROUND_HALF_UP, Decimal

from labrunner.sandbox.php.registry import constants, php
from labrunner.sandbox.php.runtime import Runtime
from labrunner.sandbox.php.values import (
    PhpArray, PhpObject, Value, format_float, to_float, to_int, type_name,
)

constants("json", {"JSON_HEX_TAG": 1, "JSON_HEX_AMP": 2, "JSON_HEX_APOS": 4, "JSON_HEX_QUOT": 8,
                   "JSON_FORCE_OBJECT": 16, "JSON_NUMERIC_CHECK": 32, "JSON_UNESCAPED_SLASHES": 64,
                   "JSON_PRETTY_PRINT": 128, "JSON_UNESCAPED_UNICODE": 256, "JSON_PARTIAL_OUTPUT_ON_ERROR": 512,
                   "JSON_PRESERVE_ZERO_FRACTION": 1024, "JSON_INVALID_UTF8_SUBSTITUTE": 2097152,
                   "JSON_OBJECT_AS_ARRAY": 1, "JSON_BIGINT_AS_STRING": 2, "JSON_THROW_ON_ERROR": 4194304,
                   "JSON_ERROR_NONE": 0, "JSON_ERROR_SYNTAX": 4, "JSON_ERROR_UTF8": 5})


def _raw_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def _dump(rt: Runtime, value: Value, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if value is None:
        out.append(f"{pad}NULL\n")
    elif isinstance(value, bool):
        out.append(f"{pad}bool({'true' if value else 'false'})\n")
    elif isinstance(value, int):
        out.append(f"{pad}int({value})\n")
    elif isinstance(value, float):
        out.append(f"{pad}float({format_float(value, -1)})\n")
    elif isinstance(value, str):
        out.append(f'{pad}string({_raw_len(value)}) "{value}"\n')
    elif isinstance(value, PhpArray):
        out.append(f"{pad}array({len(value)}) {{\n")
        for k, v in value.d.items():
            out.append(f'{pad}  ["{k}"]=>\n' if isinstance(k, str) else f"{pad}  [{k}]=>\n")
            _dump(rt, v, indent + 2, out)
        out.append(f"{pad}}}\n")
    else:
        props = _visible_props(value)
        out.append(f"{pad}object({value.cls})#{value.handle} ({len(props)}) {{\n")
        for k, v in props.items():
            out.append(f'{pad}  ["{k}"]=>\n')
            _dump(rt, v, indent + 2, out)
        out.append(f"{pad}}}\n")


def _visible_props(obj: PhpObject) -> dict[str, Value]:
    getter = getattr(obj.internal, "props", None)
    return dict(obj.props) if getter is None else dict(getter())


@php("var_dump(mixed $value, mixed ...$values)")
def var_dump(rt: Runtime, *values: Value) -> Value:
    out: list[str] = []
    for value in values:
        _dump(rt, value, 0, out)
    rt.echo("".join(out))
    return None


def _print_r(rt: Runtime, value: Value, indent: int, out: list[str]) -> None:
    if isinstance(value, (PhpArray, PhpObject)):
        if isinstance(value, PhpArray):
            out.append("Array\n")
            items: Mapping[Any, Value] = value.d
        else:
            out.append(f"{value.cls} Object\n")
            items = dict(_visible_props(value))
        out.append(" " * indent + "(\n")
        for k, v in items.items():
            out.append(" " * (indent + 4) + f"[{k}] => ")
            _print_r(rt, v, indent + 8, out)
            out.append("\n")
        out.append(" " * indent + ")\n")
    else:
        out.append(rt.to_string(value))


@php("print_r(mixed $value, bool $return = false)")
def print_r(rt: Runtime, value: Value, return_: bool = False) -> Value:
    out: list[str] = []
    _print_r(rt, value, 0, out)
    text = "".join(out)
    if return_:
        return text
    rt.echo(text)
    return True


def var_export(value: Value, indent: str = "") -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = format_float(value, -1)
        return text + ".0" if re.fullmatch(r"-?\d+", text) else text
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, PhpArray):
        lines = ["array (\n"]
        for k, v in value.d.items():
            key = str(k) if isinstance(k, int) else var_export(k)
            if isinstance(v, (PhpArray, PhpObject)):
                lines.append(f"{indent}  {key} => \n{indent}  {var_export(v, indent + '  ')},\n")
            else:
                lines.append(f"{indent}  {key} => {var_export(v)},\n")
        lines.append(indent + ")")
        return "".join(lines)
    lines = [f"\\{value.cls}::__set_state(array(\n" if value.cls != "stdClass" else "(object) array(\n"]
    for k, v in value.props.items():
        lines.append(f"{indent}   {var_export(k)} => {var_export(v, indent + '  ')},\n")
    lines.append(indent + ("))" if value.cls != "stdClass" else ")"))
    return "".join(lines)


@php("var_export(mixed $value, bool $return = false)")
def var_export_(rt: Runtime, value: Value, return_: bool = False) -> Value:
    text = var_export(value)
    if return_:
        return text
    rt.echo(text)
    return None


class _JsonFailure(Exception):
    pass


def _json(rt: Runtime, value: Value, flags: int, depth: int) -> str:
    pretty = flags & 128
    nl = "\n" if pretty else ""
    pad, inner = ("    " * depth, "    " * (depth + 1)) if pretty else ("", "")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = format_float(value, -1).replace("E", "e")
        if "e" not in text and "." not in text and flags & 1024:
            text += ".0"
        if value != value or value in (float("inf"), float("-inf")):
            raise _JsonFailure("Inf and NaN cannot be JSON encoded")
        return text
    if isinstance(value, str):
        return _json_string(value, flags)
    if isinstance(value, PhpArray) and value.is_list() and not flags & 16:
        if not len(value):
            return "[]"
        sep = "," + nl
        return "[" + nl + sep.join(inner + _json(rt, v, flags, depth + 1) for v in value.values()) + nl + pad + "]"
    items = value.d if isinstance(value, PhpArray) else _visible_props(value)
    if not items:
        return "{}"
    colon = ": " if pretty else ":"
    sep = "," + nl
    return "{" + nl + sep.join(inner + _json_string(str(k), flags) + colon + _json(rt, v, flags, depth + 1)
                               for k, v in items.items()) + nl + pad + "}"


def _json_string(text: str, flags: int) -> str:
    raw = text.encode("utf-8", "surrogateescape")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        if not flags & 2097152:
            raise _JsonFailure("Malformed UTF-8 characters, possibly incorrectly encoded") from None
        decoded = raw.decode("utf-8", "replace")
    out = ['"']
    for c in decoded:
        code = ord(c)
        if c == '"':
            out.append("\\u0022" if flags & 8 else '\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "/":
            out.append("/" if flags & 64 else "\\/")
        elif c in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[c])
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif c in "<>" and flags & 1:
            out.append("\\u003C" if c == "<" else "\\u003E")
        elif c == "&" and flags & 2:
            out.append("\\u0026")
        elif c == "'" and flags & 4:
            out.append("\\u0027")
        elif code > 0x7F and not flags & 256:
            if code > 0xFFFF:
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


@php("json_encode(mixed $value, int $flags = 0, int $depth = 512)")
def json_encode(rt: Runtime, value: Value, flags: int = 0, depth: int = 512) -> Value:
    try:
        return _json(rt, value, flags, 0)
    except _JsonFailure as failure:
        if flags & 4194304:
            raise rt.throw("JsonException", str(failure), 5) from None
        return False


@php("json_decode(string $json, ?bool $associative = null, int $depth = 512, int $flags = 0)")
def json_decode(rt: Runtime, json_: str, associative: bool | None = None, depth: int = 512, flags: int = 0) -> Value:
    assoc = bool(associative) or (associative is None and bool(flags & 1))

    def convert(value: object) -> Value:
        if isinstance(value, list):
            return PhpArray.of([convert(v) for v in value])
        if isinstance(value, dict):
            if assoc:
                array = PhpArray()
                for k, v in value.items():
                    from labrunner.sandbox.php.values import normalize_key
                    array.set(normalize_key(k), convert(v))
                return array
            return PhpObject("stdClass", {k: convert(v) for k, v in value.items()})
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            return float(value)
        return value

    try:
        return convert(json.loads(json_, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c))))
    except ValueError:
        if flags & 4194304:
            raise rt.throw("JsonException", "Syntax error", 4) from None
        return None


_SPEC = re.compile(r"%(?:(\d+)\$)?([-+ 0]|'.)*(\d+)?(?:\.(\d+))?([bcdeEfFgGosuxX%])")


def sprintf_impl(rt: Runtime, name: str, format: str, args: list[Value]) -> str:
    out: list[str] = []
    index = 0
    pos = 0
    for m in re.finditer(r"%(?:(\d+)\$)?((?:[-+ 0]|'.)*)(\d+)?(?:\.(\d+))?(.)", format):
        out.append(format[pos:m.start()])
        pos = m.end()
        argnum, flags, width, precision, kind = m.groups()
        if kind == "%":
            out.append("%")
            continue
        if argnum:
            slot = int(argnum) - 1
        else:
            slot = index
            index += 1
        if slot >= len(args):
            raise rt.throw("ArgumentCountError", f"{len(args) + 1} arguments are required, {len(args)} given"
                           if not argnum else f"{slot + 2} arguments are required, {len(args) + 1} given")
        value = args[slot]
        pad_char = " "
        left = "-" in flags
        plus = "+" in flags
        for f in re.findall(r"'.|0", flags):
            pad_char = f[1] if f.startswith("'") else "0"
        if kind == "s":
            text = rt.to_string(value)
            if precision is not None:
                text = text[:int(precision)]
        elif kind in "du":
            number = to_int(value)
            if kind == "u" and number < 0:
                number += 2**64
            text = ("+" if plus and number >= 0 else "") + str(number)
        elif kind in "eEfFgG":
            number_f = to_float(value)
            digits = 6 if precision is None else int(precision)
            if kind in "fF":
                text = _fixed(number_f, digits)
            elif kind in "eE":
                mantissa, _, exp = f"{number_f:.{digits}e}".partition("e")
                text = f"{mantissa}e{int(exp):+d}"
                text = text.upper() if kind == "E" else text
            else:
                text = format_float(number_f, digits or 1)
                text = text.lower() if kind == "g" else text
            if plus and number_f >= 0:
                text = "+" + text
        elif kind == "x":
            text = _radix(to_int(value) % 2**64, "x")
        elif kind == "X":
            text = _radix(to_int(value) % 2**64, "X")
        elif kind == "o":
            text = _radix(to_int(value) % 2**64, "o")
        elif kind == "b":
            text = _radix(to_int(value) % 2**64, "b")
        elif kind == "c":
            out.append(chr(to_int(value) % 256))
            continue
        else:
            raise rt.throw("ValueError", f'Unknown format specifier "{kind}"')
        if width and len(text) < int(width):
            fill = pad_char * (int(width) - len(text))
            if left:
                text = text + (fill if pad_char != "0" else " " * len(fill))
            elif pad_char == "0" and text[:1] in "+-" and kind not in "s":
                text = text[0] + fill + text[1:]
            else:
                text = fill + text
        out.append(text)
    out.append(format[pos:])
    return "".join(out)


def _radix(number: int, spec: str) -> str:
    return format(number, spec)


def _fixed(number: float, digits: int) -> str:
    quantum = Decimal(1).scaleb(-digits)
    return str(Decimal(repr(number)).quantize(quantum, rounding=ROUND_HALF_UP)) if number == number else "nan"


@php("sprintf(string $format, mixed ...$values)")
def sprintf(rt: Runtime, format: str, *values: Value) -> Value:
    return sprintf_impl(rt, "sprintf", format, list(values))


@php("printf(string $format, mixed ...$values)")
def printf(rt: Runtime, format: str, *values: Value) -> Value:
    text = sprintf_impl(rt, "printf", format, list(values))
    rt.echo(text)
    return len(text.encode("utf-8", "surrogateescape"))


@php("number_format(float $num, int $decimals = 0, ?string $decimal_separator = '.', "
     "?string $thousands_separator = ',')")
def number_format(rt: Runtime, num: float, decimals: int = 0, decimal_separator: str | None = ".",
                  thousands_separator: str | None = ",") -> Value:
    text = _fixed(abs(num), max(decimals, 0))
    whole, _, frac = text.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    result = (thousands_separator if thousands_separator is not None else ",").join(groups)
    if frac:
        result += (decimal_separator if decimal_separator is not None else ".") + frac
    negative = num < 0 and any(c not in "0.," for c in text)
    return ("-" if negative else "") + result


def type_label(value: Value) -> str:
    return type_name(value)
