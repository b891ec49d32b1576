"""Core functions: types and conversions, math, time (UTC, as the php images have no
date.timezone), the environment and the request (headers, status), local files through the host,
and waiting (sleep adds to the page's delay, it never blocks)."""

from __future__ import annotations

import math
import random
import time as _time
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from labrunner.sandbox.php import arrays, formats, strings  # noqa: F401  (they register their functions)
from labrunner.sandbox.php.errors import E_ALL, TYPE_NAMES
from labrunner.sandbox.php.registry import FUNCTIONS, available, constants, php
from labrunner.sandbox.php.runtime import PHP_VERSION, Runtime
from labrunner.sandbox.php.values import (
    PHP_INT_MAX, PHP_INT_MIN, PhpArray, PhpObject, Value, compare, gettype as _gettype, is_numeric_str, to_bool,
    to_float, to_int,
)

constants("core", {
    "PHP_EOL": "\n", "PHP_VERSION": PHP_VERSION, "PHP_MAJOR_VERSION": 8, "PHP_MINOR_VERSION": 3,
    "PHP_RELEASE_VERSION": 14, "PHP_VERSION_ID": 80314, "PHP_OS": "Linux", "PHP_OS_FAMILY": "Linux",
    "PHP_INT_MAX": PHP_INT_MAX, "PHP_INT_MIN": PHP_INT_MIN, "PHP_INT_SIZE": 8, "PHP_FLOAT_EPSILON": 2.220446049250313e-16,
    "PHP_FLOAT_MAX": 1.7976931348623157e308, "PHP_FLOAT_MIN": 2.2250738585072014e-308, "NAN": math.nan, "INF": math.inf,
    "DIRECTORY_SEPARATOR": "/", "PATH_SEPARATOR": ":", "PHP_SAPI": "apache2handler", "M_PI": math.pi, "M_E": math.e,
    "PHP_ROUND_HALF_UP": 1, "PHP_ROUND_HALF_DOWN": 2, "PHP_ROUND_HALF_EVEN": 3, "PHP_ROUND_HALF_ODD": 4,
    "E_ALL": E_ALL, "E_STRICT": 2048, "E_RECOVERABLE_ERROR": 4096, "E_CORE_ERROR": 16, "E_CORE_WARNING": 32,
    "E_COMPILE_WARNING": 128, **{f"E_{name}": code for code, name in {
        1: "ERROR", 2: "WARNING", 4: "PARSE", 8: "NOTICE", 64: "COMPILE_ERROR", 256: "USER_ERROR",
        512: "USER_WARNING", 1024: "USER_NOTICE", 8192: "DEPRECATED", 16384: "USER_DEPRECATED"}.items()},
})
assert TYPE_NAMES


# Types

def _is(kind: str) -> None:
    checks = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool), "float": lambda v: isinstance(v, float),
              "string": lambda v: isinstance(v, str), "bool": lambda v: isinstance(v, bool),
              "array": lambda v: isinstance(v, PhpArray), "null": lambda v: v is None,
              "object": lambda v: isinstance(v, PhpObject),
              "numeric": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
              or isinstance(v, str) and is_numeric_str(v),
              "scalar": lambda v: isinstance(v, (int, float, str, bool))}
    check = checks[kind]
    names = {"int": "is_int__is_integer__is_long", "float": "is_float__is_double"}.get(kind, f"is_{kind}")
    php(f"{names}(mixed $value)")(lambda rt, value: check(value))


for _kind in ("int", "float", "string", "bool", "array", "null", "object", "numeric", "scalar"):
    _is(_kind)


@php("intval(mixed $value, int $base = 10)")
def intval(rt: Runtime, value: Value, base: int = 10) -> Value:
    if isinstance(value, str) and base != 10:
        try:
            return int(value.strip(), base if base else 0)
        except ValueError:
            return 0
    return to_int(value)


@php("floatval__doubleval(mixed $value)")
def floatval(rt: Runtime, value: Value) -> Value:
    return to_float(value)


@php("strval(mixed $value)")
def strval(rt: Runtime, value: Value) -> Value:
    return rt.to_string(value)


@php("boolval(mixed $value)")
def boolval(rt: Runtime, value: Value) -> Value:
    return to_bool(value)


@php("gettype(mixed $value)")
def gettype(rt: Runtime, value: Value) -> Value:
    return _gettype(value)


@php("get_debug_type(mixed $value)")
def get_debug_type(rt: Runtime, value: Value) -> Value:
    from labrunner.sandbox.php.values import type_name
    return type_name(value)


# Math

@php("abs(int|float $num)")
def abs_(rt: Runtime, num: int | float) -> Value:
    return abs(num)


def _round(num: float, precision: int) -> float:
    if not math.isfinite(num):
        return num
    return float(Decimal(repr(float(num))).quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP))


@php("round(int|float $num, int $precision = 0, int $mode = 1)")
def round_(rt: Runtime, num: int | float, precision: int = 0, mode: int = 1) -> Value:
    return _round(float(num), precision)


@php("floor(int|float $num)")
def floor(rt: Runtime, num: int | float) -> Value:
    return float(math.floor(num)) if math.isfinite(num) else float(num)


@php("ceil(int|float $num)")
def ceil(rt: Runtime, num: int | float) -> Value:
    return float(math.ceil(num)) if math.isfinite(num) else float(num)


def _extremes(rt: Runtime, name: str, value: Value, values: tuple[Value, ...], sign: int) -> Value:
    items = list(values)
    if not items:
        if not isinstance(value, PhpArray):
            from labrunner.sandbox.php.values import type_name
            raise rt.throw("TypeError", f"{name}(): Argument #1 ($value) must be of type array, "
                                        f"{type_name(value)} given")
        items = value.values()
        if not items:
            raise rt.throw("ValueError", f"{name}(): Argument #1 ($value) must contain at least one element")
    else:
        items = [value, *items]
    best = items[0]
    for item in items[1:]:
        if compare(item, best) * sign > 0:
            best = item
    return best


@php("max(mixed $value, mixed ...$values)")
def max_(rt: Runtime, value: Value, *values: Value) -> Value:
    return _extremes(rt, "max", value, values, 1)


@php("min(mixed $value, mixed ...$values)")
def min_(rt: Runtime, value: Value, *values: Value) -> Value:
    return _extremes(rt, "min", value, values, -1)


@php("sqrt(float $num)")
def sqrt(rt: Runtime, num: float) -> Value:
    return math.sqrt(num) if num >= 0 else math.nan


@php("pow(mixed $num, mixed $exponent)")
def pow_(rt: Runtime, num: Value, exponent: Value) -> Value:
    from labrunner.sandbox.php.operators import binary
    return binary(rt, "**", num, exponent)


@php("intdiv(int $num1, int $num2)")
def intdiv(rt: Runtime, num1: int, num2: int) -> Value:
    if num2 == 0:
        raise rt.throw("DivisionByZeroError", "Division by zero")
    return int(num1 / num2)


@php("rand__mt_rand(int $min = 0, int $max = 2147483647)")
def rand(rt: Runtime, min: int = 0, max: int = 2147483647) -> Value:
    if max < min:
        raise rt.throw("ValueError", "mt_rand(): Argument #2 ($max) must be greater than or equal to argument #1 ($min)")
    return random.randint(min, max)


@php("random_int(int $min, int $max)")
def random_int(rt: Runtime, min: int, max: int) -> Value:
    return random.randint(min, max)


# Time

@php("time()")
def time_(rt: Runtime) -> Value:
    return int(_time.time() + rt.delay)


@php("microtime(bool $as_float = false)")
def microtime(rt: Runtime, as_float: bool = False) -> Value:
    now = _time.time() + rt.delay
    if as_float:
        return now
    return f"{now - int(now):.8f} {int(now)}"


@php("hrtime(bool $as_number = false)")
def hrtime(rt: Runtime, as_number: bool = False) -> Value:
    nanos = _time.monotonic_ns() + int(rt.delay * 1e9)
    return nanos if as_number else PhpArray.of([nanos // 10**9, nanos % 10**9])


_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def format_date(fmt: str, moment: datetime) -> str:
    out: list[str] = []
    escape = False
    for c in fmt:
        if escape:
            out.append(c)
            escape = False
            continue
        if c == "\\":
            escape = True
            continue
        d = moment
        suffix = "th" if 11 <= d.day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d.day % 10, "th")
        table = {
            "d": f"{d.day:02d}", "D": _DAYS[d.weekday()][:3], "j": str(d.day), "l": _DAYS[d.weekday()],
            "N": str(d.isoweekday()), "S": suffix, "w": str(d.isoweekday() % 7),
            "z": str(d.timetuple().tm_yday - 1), "W": f"{d.isocalendar()[1]:02d}", "F": d.strftime("%B"),
            "m": f"{d.month:02d}", "M": d.strftime("%b"), "n": str(d.month),
            "t": str(((d.replace(day=28) + (d.replace(day=28) - d.replace(day=24))).replace(day=1)
                      - d.replace(day=1)).days) if False else str(_days_in_month(d.year, d.month)),
            "L": "1" if _days_in_month(d.year, 2) == 29 else "0", "o": str(d.isocalendar()[0]), "Y": str(d.year),
            "y": f"{d.year % 100:02d}", "a": "am" if d.hour < 12 else "pm", "A": "AM" if d.hour < 12 else "PM",
            "g": str(d.hour % 12 or 12), "G": str(d.hour), "h": f"{d.hour % 12 or 12:02d}", "H": f"{d.hour:02d}",
            "i": f"{d.minute:02d}", "s": f"{d.second:02d}", "u": f"{d.microsecond:06d}",
            "v": f"{d.microsecond // 1000:03d}", "e": "UTC", "T": "UTC", "P": "+00:00", "O": "+0000", "p": "Z",
            "Z": "0", "I": "0", "U": str(int(d.timestamp())),
            "c": d.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "r": d.strftime("%a, %d %b %Y %H:%M:%S +0000"),
        }
        out.append(table.get(c, c))
    return "".join(out)


def _days_in_month(year: int, month: int) -> int:
    import calendar
    return calendar.monthrange(year, month)[1]


@php("date__gmdate(string $format, ?int $timestamp = null)")
def date(rt: Runtime, format: str, timestamp: int | None = None) -> Value:
    moment = datetime.fromtimestamp(_time.time() + rt.delay if timestamp is None else timestamp, timezone.utc)
    if timestamp is None:
        moment = moment.replace(microsecond=0)
    return format_date(format, moment)


@php("date_default_timezone_get()")
def date_default_timezone_get(rt: Runtime) -> Value:
    return "UTC"


# Waiting

@php("sleep(int $seconds)")
def sleep(rt: Runtime, seconds: int) -> Value:
    if seconds < 0:
        raise rt.throw("ValueError", "sleep(): Argument #1 ($seconds) must be greater than or equal to 0")
    rt.delay += seconds
    return 0


@php("usleep(int $microseconds)")
def usleep(rt: Runtime, microseconds: int) -> Value:
    if microseconds < 0:
        raise rt.throw("ValueError", "usleep(): Argument #1 ($microseconds) must be greater than or equal to 0")
    rt.delay += microseconds / 1e6
    return None


# The environment and the request

@php("gethostname()")
def gethostname(rt: Runtime) -> Value:
    return rt.host.hostname


@php("getenv(?string $name = null, bool $local_only = false)")
def getenv(rt: Runtime, name: str | None = None, local_only: bool = False) -> Value:
    if name is None:
        return PhpArray(dict(rt.host.environment()))
    value = rt.host.getenv(name)
    return False if value is None else value


@php("phpversion(?string $extension = null)")
def phpversion(rt: Runtime, extension: str | None = None) -> Value:
    if extension is None:
        return PHP_VERSION
    return PHP_VERSION if extension.lower() in rt.host.extensions | {"standard", "core", "date", "json"} else False


@php("php_uname(string $mode = 'a')")
def php_uname(rt: Runtime, mode: str = "a") -> Value:
    parts = {"s": "Linux", "n": rt.host.hostname, "m": "x86_64"}
    if mode in parts:
        return parts[mode]
    raise rt.unsupported(f"php_uname('{mode}') (the kernel's release and version)")


@php("php_sapi_name()")
def php_sapi_name(rt: Runtime) -> Value:
    return "apache2handler"


@php("extension_loaded(string $extension)")
def extension_loaded(rt: Runtime, extension: str) -> Value:
    return extension.lower() in rt.host.extensions | {"core", "standard", "date", "json", "pcre", "pdo"}


@php("header(string $header, bool $replace = true, int $response_code = 0)")
def header(rt: Runtime, header: str, replace: bool = True, response_code: int = 0) -> Value:
    rt.header(header, replace, response_code)
    return None


@php("headers_sent()")
def headers_sent(rt: Runtime) -> Value:
    return rt.output_started is not None


@php("http_response_code(int $response_code = 0)")
def http_response_code(rt: Runtime, response_code: int = 0) -> Value:
    old = rt.status
    if response_code:
        if rt.output_started is not None:
            file, line = rt.output_started
            rt.warn(f"http_response_code(): Cannot set response code - headers already sent (output started at "
                    f"{file}:{line})")
            return False
        rt.status = response_code
        return True if old == 200 and False else old
    return old


@php("error_reporting(?int $error_level = null)")
def error_reporting(rt: Runtime, error_level: int | None = None) -> Value:
    old = rt.error_reporting
    if error_level is not None:
        rt.error_reporting = error_level
    return old


@php("ini_set(string $option, string|int|float|bool|null $value)")
def ini_set(rt: Runtime, option: str, value: Value) -> Value:
    if option == "display_errors":
        old = "1" if rt.display_errors else "0"
        rt.display_errors = str(value).lower() in ("1", "on", "true", "yes", "stdout", "stderr")
        return old
    if option == "error_reporting":
        old_level = str(rt.error_reporting)
        rt.error_reporting = to_int(value)
        return old_level
    raise rt.unsupported(f"ini_set('{option}')")


@php("set_time_limit(int $seconds)")
def set_time_limit(rt: Runtime, seconds: int) -> Value:
    return True


@php("define(string $constant_name, mixed $value, bool $case_insensitive = false)")
def define(rt: Runtime, constant_name: str, value: Value, case_insensitive: bool = False) -> Value:
    if constant_name in rt.constants:
        rt.warn(f"Constant {constant_name} already defined")
        return False
    rt.constants[constant_name] = value
    return True


@php("defined(string $constant_name)")
def defined(rt: Runtime, constant_name: str) -> Value:
    from labrunner.sandbox.php.registry import CONSTANTS
    return constant_name in rt.constants or constant_name in CONSTANTS


@php("function_exists(string $function)")
def function_exists(rt: Runtime, function: str) -> Value:
    key = function.lower().lstrip("\\")
    builtin = FUNCTIONS.get(key)
    return key in getattr(rt, "functions") or builtin is not None and available(builtin.extension,
                                                                                 rt.host.extensions)


@php("call_user_func(callable $callback, mixed ...$args)")
def call_user_func(rt: Runtime, callback: Value, *args: Value) -> Value:
    return rt.call_value(callback, list(args))


@php("trigger_error__user_error(string $message, int $error_level = 1024)")
def trigger_error(rt: Runtime, message: str, error_level: int = 1024) -> Value:
    if error_level not in (256, 512, 1024, 16384):
        raise rt.throw("ValueError", "trigger_error(): Argument #2 ($error_level) must be one of E_USER_ERROR, "
                                     "E_USER_WARNING, E_USER_NOTICE, or E_USER_DEPRECATED")
    if error_level == 256:
        rt.report(error_level, message)
        from labrunner.sandbox.php.errors import ExitSignal
        raise ExitSignal()
    rt.report(error_level, message)
    return True


@php("error_log(string $message, int $message_type = 0)")
def error_log(rt: Runtime, message: str, message_type: int = 0) -> Value:
    rt.log.append(message)
    return True


@php("uniqid(string $prefix = '', bool $more_entropy = false)")
def uniqid(rt: Runtime, prefix: str = "", more_entropy: bool = False) -> Value:
    now = _time.time() + rt.delay
    return f"{prefix}{int(now):8x}{int((now - int(now)) * 1e6):05x}"


# Files, read through the host

@php("file_get_contents(string $filename, bool $use_include_path = false, mixed $context = null, "
     "int $offset = 0, ?int $length = null)")
def file_get_contents(rt: Runtime, filename: str, use_include_path: bool = False, context: Value = None,
                      offset: int = 0, length: int | None = None) -> Value:
    if "://" in filename and not filename.startswith("file://"):
        raise rt.unsupported(f"file_get_contents() of URLs ({filename})")
    path = rt.resolve_path(filename.removeprefix("file://"))
    content = rt.host.read_file(path)
    if content is None:
        rt.warn(f"file_get_contents({filename}): Failed to open stream: No such file or directory")
        return False
    data = content[offset:] if length is None else content[offset:offset + length]
    return data.decode("utf-8", "surrogateescape")


@php("file_exists(string $filename)")
def file_exists(rt: Runtime, filename: str) -> Value:
    return bool(filename) and rt.host.read_file(rt.resolve_path(filename)) is not None


@php("is_file(string $filename)")
def is_file(rt: Runtime, filename: str) -> Value:
    return bool(filename) and rt.host.read_file(rt.resolve_path(filename)) is not None


@php("basename(string $path, string $suffix = '')")
def basename(rt: Runtime, path: str, suffix: str = "") -> Value:
    base = path.rstrip("/").rsplit("/", 1)[-1]
    return base[:-len(suffix)] if suffix and base.endswith(suffix) and base != suffix else base


@php("dirname(string $path, int $levels = 1)")
def dirname(rt: Runtime, path: str, levels: int = 1) -> Value:
    import posixpath
    for _ in range(levels):
        path = posixpath.dirname(path.rstrip("/")) or "."
    return path

