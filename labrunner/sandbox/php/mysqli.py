"""mysqli (procedural and object forms) and a small PDO for the mysql DSN, over the host's
:class:`~labrunner.sandbox.php.MysqlLink`.

PHP 8.1+ defaults hold: mysqli_report is MYSQLI_REPORT_ERROR|MYSQLI_REPORT_STRICT, so a failed
connect or query throws mysqli_sql_exception; with reporting off a failed connect still warns
"(HY000/2002): ..." (php_mysqli_throw_sql_exception), which ``@`` hides. A failed name lookup
also warns from the network layer in both modes. mysqli returns every column as a string (or
null), as mysqlnd does without MYSQLI_OPT_INT_AND_FLOAT_NATIVE; PDO's emulated prepares return
ints and floats natively (PHP 8.1+).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from labrunner.sandbox.php.evaluate import MISSING
from labrunner.sandbox.php.registry import constants, php
from labrunner.sandbox.php.runtime import SENSITIVE, Runtime
from labrunner.sandbox.php.values import PhpArray, PhpObject, Value, to_int

if TYPE_CHECKING:
    from labrunner.sandbox.php import MysqlLink

REPORT_ERROR, REPORT_STRICT = 1, 2
ASSOC, NUM, BOTH = 1, 2, 3
OPT_CONNECT_TIMEOUT = 0
DEFAULT_CONNECT_TIMEOUT = 60.0
constants("mysqli", {"MYSQLI_REPORT_OFF": 0, "MYSQLI_REPORT_ERROR": 1, "MYSQLI_REPORT_STRICT": 2,
                     "MYSQLI_REPORT_INDEX": 4, "MYSQLI_REPORT_ALL": 255, "MYSQLI_ASSOC": 1, "MYSQLI_NUM": 2,
                     "MYSQLI_BOTH": 3, "MYSQLI_OPT_CONNECT_TIMEOUT": 0, "MYSQLI_OPT_READ_TIMEOUT": 11,
                     "MYSQLI_OPT_INT_AND_FLOAT_NATIVE": 201, "MYSQLI_INIT_COMMAND": 3,
                     "MYSQLI_STORE_RESULT": 0, "MYSQLI_USE_RESULT": 1})
PDO_CONSTANTS = {"FETCH_ASSOC": 2, "FETCH_NUM": 3, "FETCH_BOTH": 4, "FETCH_OBJ": 5, "FETCH_COLUMN": 7,
                 "ATTR_ERRMODE": 3, "ERRMODE_SILENT": 0, "ERRMODE_WARNING": 1, "ERRMODE_EXCEPTION": 2,
                 "ATTR_DEFAULT_FETCH_MODE": 19, "ATTR_EMULATE_PREPARES": 20, "ATTR_TIMEOUT": 2,
                 "PARAM_NULL": 0, "PARAM_INT": 1, "PARAM_STR": 2, "PARAM_BOOL": 5, "MYSQL_ATTR_INIT_COMMAND": 1002}
SQLSTATE_TEXT = {"42S02": "Base table or view not found", "42000": "Syntax error or access violation",
                 "23000": "Integrity constraint violation", "42S22": "Column not found", "HY000": "General error"}


def _report(rt: Runtime) -> int:
    return int(rt.extras.get("mysqli_report", REPORT_ERROR | REPORT_STRICT))  # type: ignore[call-overload]


def _mysqli_error(rt: Runtime, function: str, sqlstate: str, code: int, message: str) -> None:
    """php_mysqli_throw_sql_exception: an exception in strict mode, else a warning."""
    if _report(rt) & REPORT_STRICT:
        raise rt.throw("mysqli_sql_exception", message, code, {"sqlstate": sqlstate})
    rt.warn(f"{function}(): ({sqlstate}/{code}): {message}")


class Link:
    def __init__(self) -> None:
        self.link: MysqlLink | None = None
        self.options: dict[int, Value] = {}
        self.errno = 0
        self.error = ""
        self.sqlstate = "00000"
        self.connect_errno = 0
        self.connect_error: str | None = None
        self.closed = False

    def connect(self, rt: Runtime, function: str, args: list[Value]) -> bool:
        from labrunner.sandbox.php import MysqlError
        host = rt.to_string(args[0]) if len(args) > 0 and args[0] is not None else "localhost"
        user = rt.to_string(args[1]) if len(args) > 1 and args[1] is not None else ""
        password = rt.to_string(args[2]) if len(args) > 2 and args[2] is not None else ""
        database = rt.to_string(args[3]) if len(args) > 3 and args[3] is not None else None
        port = to_int(args[4]) if len(args) > 4 and args[4] is not None else 3306
        timeout = float(to_int(self.options.get(OPT_CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT)))
        try:
            self.link = rt.host.mysql_connect(host.removeprefix("p:"), user, password, database, port, timeout)
        except MysqlError as failure:
            rt.delay += failure.delay
            self.connect_errno, self.connect_error = failure.code, failure.message
            rt.extras["connect"] = (failure.code, failure.message)
            if failure.message.startswith("php_network_getaddresses"):
                rt.warn(f"{function}(): {failure.message}")
            _mysqli_error(rt, function, failure.sqlstate, failure.code, failure.message)
            return False
        self.connect_errno, self.connect_error = 0, None
        rt.extras["connect"] = (0, None)
        return True

    def usable(self, rt: Runtime, obj: PhpObject) -> MysqlLink:
        if self.closed:
            raise rt.throw("Error", "mysqli object is already closed")
        if self.link is None:
            raise rt.throw("Error", f"{obj.cls} object is not fully initialized")
        return self.link

    def query(self, rt: Runtime, obj: PhpObject, function: str, sql: str) -> Value:
        from labrunner.sandbox.php import MysqlError
        link = self.usable(rt, obj)
        try:
            result = link.query(sql)
        except MysqlError as failure:
            rt.delay += failure.delay
            self.errno, self.error, self.sqlstate = failure.code, failure.message, failure.sqlstate
            if _report(rt) & REPORT_ERROR:
                _mysqli_error(rt, function, failure.sqlstate, failure.code, failure.message)
            return False
        self.errno, self.error, self.sqlstate = 0, "", "00000"
        if result is None:
            return True
        return PhpObject("mysqli_result", internal=Result(result[0], result[1]))

    def get(self, rt: Runtime, name: str) -> Value:
        link = self.link
        values: dict[str, Value] = {
            "connect_errno": self.connect_errno, "connect_error": self.connect_error, "errno": self.errno,
            "error": self.error, "sqlstate": self.sqlstate,
            "affected_rows": link.affected_rows if link else None, "insert_id": link.insert_id if link else None,
        }
        return values.get(name, MISSING)

    def call(self, rt: Runtime, obj: PhpObject, name: str, args: list[Value]) -> Value:
        method = "mysqli_" + name.lower()
        if method == "mysqli___construct":
            return None
        fn = METHODS.get(method)
        if fn is None:
            raise rt.throw("Error", f"Call to undefined method mysqli::{name}()")
        return fn(rt, obj, *args)


class Result:
    def __init__(self, columns: list[str], rows: list[tuple[object, ...]]) -> None:
        self.columns = columns
        self.rows = rows
        self.position = 0

    def get(self, rt: Runtime, name: str) -> Value:
        return {"num_rows": len(self.rows), "field_count": len(self.columns),
                "current_field": 0}.get(name, MISSING)

    def fetch(self, mode: int) -> Value:
        if self.position >= len(self.rows):
            return None
        row = self.rows[self.position]
        self.position += 1
        array = PhpArray()
        for i, (column, value) in enumerate(zip(self.columns, row)):
            text = _as_string(value)
            if mode & NUM:
                array.set(i, text)
            if mode & ASSOC:
                array.set(column, text)
        return array

    def items(self) -> list[tuple[int | str, Value]]:
        rows: list[tuple[int | str, Value]] = []
        while (row := self.fetch(ASSOC)) is not None:
            rows.append((len(rows), row))
        return rows

    def call(self, rt: Runtime, obj: PhpObject, name: str, args: list[Value]) -> Value:
        fn = METHODS.get("mysqli_" + name.lower())
        if fn is None or name.lower() not in ("fetch_assoc", "fetch_row", "fetch_array", "fetch_all",
                                              "fetch_object", "free", "free_result", "close", "num_rows"):
            raise rt.throw("Error", f"Call to undefined method mysqli_result::{name}()")
        return fn(rt, obj, *args)


def _as_string(value: object) -> Value:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


def _link(rt: Runtime, function: str, value: Value) -> tuple[PhpObject, Link]:
    if not isinstance(value, PhpObject) or not isinstance(value.internal, Link):
        from labrunner.sandbox.php.values import type_name
        raise rt.throw("TypeError", f"{function}(): Argument #1 ($mysql) must be of type mysqli, "
                                    f"{type_name(value)} given")
    return value, value.internal


def _result(rt: Runtime, function: str, value: Value) -> Result:
    if not isinstance(value, PhpObject) or not isinstance(value.internal, Result):
        from labrunner.sandbox.php.values import type_name
        raise rt.throw("TypeError", f"{function}(): Argument #1 ($result) must be of type mysqli_result, "
                                    f"{type_name(value)} given")
    return value.internal


def _connect_args(args: tuple[Value, ...]) -> list[Value]:
    shown = list(args)
    if len(shown) > 2:
        shown[2] = SENSITIVE
    return shown


def _hide_password(rt: Runtime, args: tuple[Value, ...]) -> None:
    if rt.frames and len(args) > 2:
        rt.frames[-1].args = _connect_args(args)


@php("mysqli_connect(?string $hostname = null, ?string $username = null, ?string $password = null, "
     "?string $database = null, ?int $port = null, ?string $socket = null)", "mysqli")
def mysqli_connect(rt: Runtime, *args: Value) -> Value:
    _hide_password(rt, args)
    state = Link()
    obj = PhpObject("mysqli", internal=state)
    return obj if state.connect(rt, "mysqli_connect", list(args)) else False


@php("mysqli_init()", "mysqli")
def mysqli_init(rt: Runtime) -> Value:
    return PhpObject("mysqli", internal=Link())


@php("mysqli_options(mysqli $mysql, int $option, mixed $value)", "mysqli")
def mysqli_options(rt: Runtime, mysql: Value, option: int, value: Value) -> Value:
    _link(rt, "mysqli_options", mysql)[1].options[option] = value
    return True


@php("mysqli_real_connect(mysqli $mysql, ?string $hostname = null, ?string $username = null, "
     "?string $password = null, ?string $database = null, ?int $port = null, ?string $socket = null, "
     "int $flags = 0)", "mysqli")
def mysqli_real_connect(rt: Runtime, mysql: Value, *args: Value) -> Value:
    if rt.frames and len(args) > 2:
        rt.frames[-1].args = [mysql, *_connect_args(args)]
    return _link(rt, "mysqli_real_connect", mysql)[1].connect(rt, "mysqli_real_connect", list(args))


@php("mysqli_connect_error()", "mysqli")
def mysqli_connect_error(rt: Runtime) -> Value:
    return rt.extras.get("connect", (0, None))[1]  # type: ignore[index]


@php("mysqli_connect_errno()", "mysqli")
def mysqli_connect_errno(rt: Runtime) -> Value:
    return rt.extras.get("connect", (0, None))[0]  # type: ignore[index]


@php("mysqli_report(int $flags)", "mysqli")
def mysqli_report(rt: Runtime, flags: int) -> Value:
    rt.extras["mysqli_report"] = flags
    return True


@php("mysqli_query(mysqli $mysql, string $query, int $result_mode = 0)", "mysqli")
def mysqli_query(rt: Runtime, mysql: Value, query: str, result_mode: int = 0) -> Value:
    obj, state = _link(rt, "mysqli_query", mysql)
    return state.query(rt, obj, "mysqli_query", query)


@php("mysqli_select_db(mysqli $mysql, string $database)", "mysqli")
def mysqli_select_db(rt: Runtime, mysql: Value, database: str) -> Value:
    from labrunner.sandbox.php import MysqlError
    obj, state = _link(rt, "mysqli_select_db", mysql)
    try:
        state.usable(rt, obj).select_db(database)
    except MysqlError as failure:
        state.errno, state.error, state.sqlstate = failure.code, failure.message, failure.sqlstate
        if _report(rt) & REPORT_ERROR:
            _mysqli_error(rt, "mysqli_select_db", failure.sqlstate, failure.code, failure.message)
        return False
    return True


@php("mysqli_error(mysqli $mysql)", "mysqli")
def mysqli_error(rt: Runtime, mysql: Value) -> Value:
    return _link(rt, "mysqli_error", mysql)[1].error


@php("mysqli_errno(mysqli $mysql)", "mysqli")
def mysqli_errno(rt: Runtime, mysql: Value) -> Value:
    return _link(rt, "mysqli_errno", mysql)[1].errno


@php("mysqli_close(mysqli $mysql)", "mysqli")
def mysqli_close(rt: Runtime, mysql: Value) -> Value:
    obj, state = _link(rt, "mysqli_close", mysql)
    state.usable(rt, obj).close()
    state.closed = True
    return True


@php("mysqli_real_escape_string__mysqli_escape_string(mysqli $mysql, string $string)", "mysqli")
def mysqli_real_escape_string(rt: Runtime, mysql: Value, string: str) -> Value:
    obj, state = _link(rt, "mysqli_real_escape_string", mysql)
    state.usable(rt, obj)
    table = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\x00": "\\0", "\n": "\\n", "\r": "\\r", "\x1a": "\\Z"}
    return "".join(table.get(c, c) for c in string)


@php("mysqli_affected_rows(mysqli $mysql)", "mysqli")
def mysqli_affected_rows(rt: Runtime, mysql: Value) -> Value:
    obj, state = _link(rt, "mysqli_affected_rows", mysql)
    return state.usable(rt, obj).affected_rows


@php("mysqli_insert_id(mysqli $mysql)", "mysqli")
def mysqli_insert_id(rt: Runtime, mysql: Value) -> Value:
    obj, state = _link(rt, "mysqli_insert_id", mysql)
    return state.usable(rt, obj).insert_id


@php("mysqli_fetch_assoc(mysqli_result $result)", "mysqli")
def mysqli_fetch_assoc(rt: Runtime, result: Value) -> Value:
    return _result(rt, "mysqli_fetch_assoc", result).fetch(ASSOC)


@php("mysqli_fetch_row(mysqli_result $result)", "mysqli")
def mysqli_fetch_row(rt: Runtime, result: Value) -> Value:
    return _result(rt, "mysqli_fetch_row", result).fetch(NUM)


@php("mysqli_fetch_array(mysqli_result $result, int $mode = 3)", "mysqli")
def mysqli_fetch_array(rt: Runtime, result: Value, mode: int = BOTH) -> Value:
    return _result(rt, "mysqli_fetch_array", result).fetch(mode)


@php("mysqli_fetch_all(mysqli_result $result, int $mode = 2)", "mysqli")
def mysqli_fetch_all(rt: Runtime, result: Value, mode: int = NUM) -> Value:
    state = _result(rt, "mysqli_fetch_all", result)
    rows = []
    while (row := state.fetch(mode)) is not None:
        rows.append(row)
    return PhpArray.of(rows)


@php("mysqli_fetch_object(mysqli_result $result)", "mysqli")
def mysqli_fetch_object(rt: Runtime, result: Value) -> Value:
    row = _result(rt, "mysqli_fetch_object", result).fetch(ASSOC)
    return None if row is None else PhpObject("stdClass", {str(k): v for k, v in row.d.items()})


@php("mysqli_num_rows(mysqli_result $result)", "mysqli")
def mysqli_num_rows(rt: Runtime, result: Value) -> Value:
    return len(_result(rt, "mysqli_num_rows", result).rows)


@php("mysqli_free_result(mysqli_result $result)", "mysqli")
def mysqli_free_result(rt: Runtime, result: Value) -> Value:
    _result(rt, "mysqli_free_result", result)
    return None


def _method(function: str) -> Callable[..., Value]:
    from labrunner.sandbox.php.registry import FUNCTIONS
    return FUNCTIONS[function].impl


METHODS = {name: _method(name) for name in (
    "mysqli_query", "mysqli_select_db", "mysqli_close", "mysqli_real_escape_string", "mysqli_options",
    "mysqli_real_connect", "mysqli_fetch_assoc", "mysqli_fetch_row", "mysqli_fetch_array", "mysqli_fetch_all",
    "mysqli_fetch_object", "mysqli_free_result")}
METHODS.update({"mysqli_escape_string": METHODS["mysqli_real_escape_string"], "mysqli_free": METHODS[
    "mysqli_free_result"], "mysqli_connect": METHODS["mysqli_real_connect"]})


def construct(rt: Runtime, cls: str, args: list[Value]) -> PhpObject | None:
    """``new mysqli(...)`` and ``new PDO(...)``; None for any other class."""
    name = cls.lower().lstrip("\\")
    if name == "mysqli" and "mysqli" in rt.host.extensions:
        state = Link()
        obj = PhpObject("mysqli", internal=state)
        if args:
            rt.push("mysqli->__construct", _connect_args(tuple(args)))
            try:
                state.connect(rt, "mysqli::__construct", args)
            finally:
                rt.frames.pop()
        return obj
    if name == "pdo":
        from labrunner.sandbox.php.pdo import new_pdo
        return new_pdo(rt, args)
    return None


def class_constant(rt: Runtime, cls: str, name: str) -> Value:
    if cls.lower().lstrip("\\") == "pdo" and name in PDO_CONSTANTS:
        return PDO_CONSTANTS[name]
    return MISSING


assert re
