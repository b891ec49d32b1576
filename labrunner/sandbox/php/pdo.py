"""PDO for the mysql DSN: query, exec, prepare/execute with emulated prepares (pdo_mysql's
default, so placeholders become quoted literals in the SQL the server sees), fetch and fetchAll.
PHP 8's default error mode is ERRMODE_EXCEPTION."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from labrunner.sandbox.php.evaluate import MISSING
from labrunner.sandbox.php.runtime import SENSITIVE, Runtime
from labrunner.sandbox.php.values import PhpArray, PhpObject, Value, to_int

if TYPE_CHECKING:
    from labrunner.sandbox.php import MysqlError, MysqlLink

FETCH_ASSOC, FETCH_NUM, FETCH_BOTH, FETCH_OBJ, FETCH_COLUMN = 2, 3, 4, 5, 7
ATTR_ERRMODE, ATTR_DEFAULT_FETCH_MODE, ERRMODE_EXCEPTION, ERRMODE_WARNING = 3, 19, 2, 1


def new_pdo(rt: Runtime, args: list[Value]) -> PhpObject:
    from labrunner.sandbox.php import MysqlError
    dsn = rt.to_string(args[0]) if args else ""
    driver, _, rest = dsn.partition(":")
    rt.push("PDO->__construct", [dsn, *args[1:2], *([SENSITIVE] if len(args) > 2 else [])])
    try:
        if driver != "mysql" or "pdo_mysql" not in rt.host.extensions:
            raise rt.throw("PDOException", "could not find driver")
        params = dict(p.split("=", 1) for p in rest.split(";") if "=" in p)
        user = rt.to_string(args[1]) if len(args) > 1 and args[1] is not None else ""
        password = rt.to_string(args[2]) if len(args) > 2 and args[2] is not None else ""
        options = args[3] if len(args) > 3 and isinstance(args[3], PhpArray) else PhpArray()
        timeout = float(to_int(options.d.get(2, 30)))
        try:
            link = rt.host.mysql_connect(params.get("host", "localhost"), user, password, params.get("dbname"),
                                         int(params.get("port", "3306")), timeout)
        except MysqlError as failure:
            rt.delay += failure.delay
            if failure.message.startswith("php_network_getaddresses"):
                rt.warn(f"PDO::__construct(): {failure.message}")
            raise rt.throw("PDOException", f"SQLSTATE[{failure.sqlstate}] [{failure.code}] {failure.message}",
                           failure.code) from None
        state = Pdo(link)
        for key, value in options.d.items():
            state.attributes[to_int(key)] = value
        return PhpObject("PDO", internal=state)
    finally:
        rt.frames.pop()


class Pdo:
    def __init__(self, link: MysqlLink) -> None:
        self.link = link
        self.attributes: dict[int, Value] = {ATTR_ERRMODE: ERRMODE_EXCEPTION, ATTR_DEFAULT_FETCH_MODE: FETCH_BOTH}

    def fail(self, rt: Runtime, failure: MysqlError) -> Value:
        from labrunner.sandbox.php.mysqli import SQLSTATE_TEXT
        text = f"SQLSTATE[{failure.sqlstate}]: {SQLSTATE_TEXT.get(failure.sqlstate, 'General error')}: " \
               f"{failure.code} {failure.message}"
        mode = self.attributes.get(ATTR_ERRMODE)
        if mode == ERRMODE_EXCEPTION:
            raise rt.throw("PDOException", text, failure.sqlstate)
        if mode == ERRMODE_WARNING:
            rt.warn(f"PDO::query(): {text}")
        return False

    def run(self, rt: Runtime, sql: str) -> Value:
        from labrunner.sandbox.php import MysqlError
        try:
            result = self.link.query(sql)
        except MysqlError as failure:
            return self.fail(rt, failure)
        columns, rows = result if result is not None else ([], [])
        return PhpObject("PDOStatement", {"queryString": sql},
                         Statement(self, sql, columns, rows, self.link.affected_rows))

    def get(self, rt: Runtime, name: str) -> Value:
        return MISSING

    def call(self, rt: Runtime, obj: PhpObject, name: str, args: list[Value]) -> Value:
        method = name.lower()
        if method == "query":
            return self.run(rt, rt.to_string(args[0]))
        if method == "exec":
            stmt = self.run(rt, rt.to_string(args[0]))
            return stmt.internal.affected if isinstance(stmt, PhpObject) else stmt
        if method == "prepare":
            sql = rt.to_string(args[0])
            return PhpObject("PDOStatement", {"queryString": sql}, Statement(self, sql, [], [], 0, prepared=True))
        if method == "setattribute":
            self.attributes[to_int(args[0])] = args[1]
            return True
        if method == "getattribute":
            return self.attributes.get(to_int(args[0]))
        if method == "lastinsertid":
            return str(self.link.insert_id)
        if method == "quote":
            return quote(rt.to_string(args[0]))
        raise rt.unsupported(f"PDO::{name}()")


def quote(text: str) -> str:
    table = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\x00": "\\0", "\n": "\\n", "\r": "\\r", "\x1a": "\\Z"}
    return "'" + "".join(table.get(c, c) for c in text) + "'"


def _literal(rt: Runtime, value: Value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return quote(rt.to_string(value))


class Statement:
    def __init__(self, pdo: Pdo, sql: str, columns: list[str], rows: list[tuple[object, ...]], affected: int,
                 prepared: bool = False) -> None:
        self.pdo, self.sql, self.columns, self.rows, self.affected = pdo, sql, columns, rows, affected
        self.position = 0
        self.bound: dict[int | str, Value] = {}

    def get(self, rt: Runtime, name: str) -> Value:
        return MISSING

    def row(self, mode: int) -> Value:
        if self.position >= len(self.rows):
            return False
        values = self.rows[self.position]
        self.position += 1
        native = [v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else v for v in values]
        if mode == FETCH_COLUMN:
            return native[0] if native else False
        array = PhpArray()
        for i, (column, value) in enumerate(zip(self.columns, native)):
            if mode in (FETCH_ASSOC, FETCH_BOTH, FETCH_OBJ):
                array.set(column, value)
            if mode in (FETCH_NUM, FETCH_BOTH):
                array.set(i, value)
        if mode == FETCH_OBJ:
            return PhpObject("stdClass", {str(k): v for k, v in array.d.items()})
        return array

    def execute(self, rt: Runtime, params: Value) -> Value:
        from labrunner.sandbox.php import MysqlError
        bound = dict(self.bound)
        if isinstance(params, PhpArray):
            for k, v in params.d.items():
                bound[k + 1 if isinstance(k, int) else k.lstrip(":")] = rt.to_string(v) if v is not None else None
        counter = iter(range(1, 10**6))

        def substitute(m: re.Match[str]) -> str:
            if m.group(1):
                return m.group(1)
            key: int | str = next(counter) if m.group() == "?" else m.group()[1:]
            if key not in bound:
                raise rt.throw("PDOException", "SQLSTATE[HY093]: Invalid parameter number: parameter was not defined",
                               "HY093")
            return _literal(rt, bound[key])

        sql = re.sub(r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|\?|:[a-zA-Z_][a-zA-Z0-9_]*", substitute, self.sql)
        try:
            result = self.pdo.link.query(sql)
        except MysqlError as failure:
            return self.pdo.fail(rt, failure)
        self.columns, self.rows = result if result is not None else ([], [])
        self.affected, self.position = self.pdo.link.affected_rows, 0
        return True

    def call(self, rt: Runtime, obj: PhpObject, name: str, args: list[Value]) -> Value:
        method = name.lower()
        default = to_int(self.pdo.attributes.get(ATTR_DEFAULT_FETCH_MODE, FETCH_BOTH))
        mode = to_int(args[0]) if args and args[0] is not None else default
        if method == "execute":
            return self.execute(rt, args[0] if args else None)
        if method in ("bindvalue", "bindparam"):
            key = args[0]
            self.bound[key if isinstance(key, int) else rt.to_string(key).lstrip(":")] = args[1]
            return True
        if method == "fetch":
            return self.row(mode)
        if method == "fetchall":
            rows = []
            while (row := self.row(mode)) is not False:
                rows.append(row)
            return PhpArray.of(rows)
        if method == "fetchcolumn":
            return self.row(FETCH_COLUMN)
        if method == "rowcount":
            return self.affected if not self.columns else len(self.rows)
        if method == "closecursor":
            return True
        raise rt.unsupported(f"PDOStatement::{name}()")
