"""The simulated ``mysql`` image: a MySQL dialect over SQLite, and its ``mysql`` client.

Enough SQL for the lab and for what learners type: CREATE/DROP DATABASE, USE,
SHOW DATABASES, SHOW [FULL] TABLES [FROM db] [LIKE 'p'], DESCRIBE [db.]table, SHOW COLUMNS, CREATE/DROP TABLE, INSERT (IGNORE), REPLACE,
SELECT, UPDATE, DELETE, SELECT VERSION()/DATABASE(). Each database is one SQLite
file in the pod's data folder, so data lives as long as the pod does (the lab's
manifest has no volume). The client speaks as mysql 8.4 does: batch output
(tab-separated, a header unless ``-N``) when not on a terminal, ``-t`` tables,
and the server's error texts and codes (``ERROR 1049 (42000): Unknown database
'db2'``, ``ERROR 1045 (28000): Access denied ...``); it stops at the first error.

Known leniency: other databases are attached to the session by name (so
``db1.users`` works from anywhere), and SQLite then also finds an unqualified
table in them when no database is in use, where MySQL would say "No database
selected".
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

VERSION = "8.4.3"
SYSTEM_DATABASES = ("information_schema", "mysql", "performance_schema", "sys")


class MySQLError(Exception):
    def __init__(self, code: int, state: str, message: str) -> None:
        super().__init__(message)
        self.code, self.state, self.message = code, state, message

    def text(self, line: int | None = None) -> str:
        where = f" at line {line}" if line is not None else ""
        return f"ERROR {self.code} ({self.state}){where}: {self.message}"


@dataclass
class Options:
    user: str = "root"
    password: str | None = None
    database: str | None = None
    execute: str | None = None
    skip_column_names: bool = False
    table: bool = False
    host: str = "localhost"


def parse_arguments(argv: list[str]) -> Options:
    options = Options()
    arguments = iter(argv)
    for argument in arguments:
        if argument in ("-u", "--user"):
            options.user = next(arguments, "")
        elif argument.startswith("--user="):
            options.user = argument.split("=", 1)[1]
        elif argument.startswith("-u"):
            options.user = argument[2:]
        elif argument in ("-p", "--password"):
            options.password = ""  # would prompt on a terminal; there is none in a plain exec
        elif argument.startswith("--password="):
            options.password = argument.split("=", 1)[1]
        elif argument.startswith("-p"):
            options.password = argument[2:]
        elif argument in ("-e", "--execute"):
            options.execute = next(arguments, "")
        elif argument.startswith("--execute="):
            options.execute = argument.split("=", 1)[1]
        elif argument.startswith("-e") and len(argument) > 2:
            options.execute = argument[2:]
        elif argument in ("-D", "--database"):
            options.database = next(arguments, None)
        elif argument.startswith("--database="):
            options.database = argument.split("=", 1)[1]
        elif argument in ("-h", "--host"):
            options.host = next(arguments, "localhost")
        elif argument.startswith("-h") and len(argument) > 2:
            options.host = argument[2:]
        elif argument in ("-N", "--skip-column-names"):
            options.skip_column_names = True
        elif argument in ("-t", "--table"):
            options.table = True
        elif argument in ("-B", "--batch", "-s", "--silent", "-v", "--verbose"):
            continue
        elif argument.startswith("-"):
            continue
        else:
            options.database = argument
    return options


def split_statements(sql: str) -> list[tuple[int, str]]:
    """Statements with the line each starts on; ``;`` inside quotes and comments ignored."""
    statements: list[tuple[int, str]] = []
    current, line, start_line, quote = "", 1, 1, ""
    index = 0
    while index < len(sql):
        char = sql[index]
        if quote:
            current += char
            if char == quote and sql[index - 1] != "\\":
                quote = ""
        elif char in ("'", '"', "`"):
            quote = char
            current += char
        elif sql.startswith("--", index) or char == "#":
            end = sql.find("\n", index)
            index = len(sql) if end < 0 else end
            continue
        elif sql.startswith("/*", index):
            end = sql.find("*/", index + 2)
            skipped = sql[index:len(sql) if end < 0 else end + 2]
            line += skipped.count("\n")
            index += len(skipped)
            continue
        elif char == ";":
            if current.strip():
                statements.append((start_line, current.strip()))
            current = ""
        else:
            if not current.strip() and not char.isspace():
                start_line = line
            current += char
        if char == "\n":
            line += 1
        index += 1
    if current.strip():
        statements.append((start_line, current.strip()))
    return statements


class Server:
    """One pod's MySQL server: its databases and its root password."""

    def __init__(self, data_dir: Path, root_password: str) -> None:
        self.data_dir = data_dir
        self.root_password = root_password

    def databases(self) -> list[str]:
        if not self.data_dir.is_dir():
            return []
        return sorted(path.stem for path in self.data_dir.glob("*.sqlite"))

    def _path(self, database: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_$]+", database):
            raise MySQLError(1102, "42000", f"Incorrect database name '{database}'")
        return self.data_dir / f"{database}.sqlite"

    def connect(self, database: str) -> sqlite3.Connection:
        path = self._path(database)
        if not path.exists():
            raise MySQLError(1049, "42000", f"Unknown database '{database}'")
        return sqlite3.connect(path)


class Session:
    def __init__(self, server: Server, database: str | None) -> None:
        self.server = server
        self.database: str | None = None
        self.connection: sqlite3.Connection | None = None
        server.data_dir.mkdir(parents=True, exist_ok=True)
        if database:
            self.use(database)

    def use(self, database: str) -> None:
        if database in SYSTEM_DATABASES:
            raise MySQLError(1044, "42000", f"the labrunner sandbox's mysql keeps no {database} tables")
        self.server.connect(database).close()  # raises Unknown database
        self.database = database
        self._reopen()

    def _reopen(self) -> None:
        """The used database as SQLite's main schema, every other one attached by its
        name, so ``db1.users`` works whatever is in use."""
        if self.connection is not None:
            self.connection.commit()
            self.connection.close()
        main = str(self.server._path(self.database)) if self.database else ":memory:"
        self.connection = sqlite3.connect(main)
        for name in self.server.databases():
            if name != self.database:
                self.connection.execute("ATTACH DATABASE ? AS ?", (str(self.server._path(name)), name))

    def close(self) -> None:
        if self.connection is not None:
            self.connection.commit()
            self.connection.close()

    def execute(self, statement: str) -> tuple[list[str], list[tuple[object, ...]]] | None:
        """Run one statement; a result set as (columns, rows), or None."""
        words = statement.split()
        keyword = words[0].upper() if words else ""
        upper = " ".join(w.upper() for w in words)
        if keyword == "USE":
            self.use(words[1].strip("`;"))
            return None
        if upper.startswith("CREATE DATABASE") or upper.startswith("CREATE SCHEMA"):
            match = re.match(r"(?is)create\s+(?:database|schema)\s+(if\s+not\s+exists\s+)?`?(\w+)`?", statement)
            if not match:
                raise _syntax(statement)
            path = self.server._path(match.group(2))
            if path.exists():
                if match.group(1):
                    return None
                raise MySQLError(1007, "HY000", f"Can't create database '{match.group(2)}'; database exists")
            path.parent.mkdir(parents=True, exist_ok=True)
            sqlite3.connect(path).close()
            self._reopen()
            return None
        if upper.startswith("DROP DATABASE") or upper.startswith("DROP SCHEMA"):
            match = re.match(r"(?is)drop\s+(?:database|schema)\s+(if\s+exists\s+)?`?(\w+)`?", statement)
            if not match:
                raise _syntax(statement)
            path = self.server._path(match.group(2))
            if not path.exists():
                if match.group(1):
                    return None
                raise MySQLError(1008, "HY000", f"Can't drop database '{match.group(2)}'; database doesn't exist")
            if self.database == match.group(2):
                self.database = None
            if self.connection is not None:
                self.connection.close()
                self.connection = None
            path.unlink()
            self._reopen()
            return None
        if upper in ("SHOW DATABASES", "SHOW SCHEMAS"):
            return ["Database"], [(name,) for name in (*SYSTEM_DATABASES, *self.server.databases())]
        if re.fullmatch(r"(?i)select\s+version\(\)", statement.strip()):
            return ["VERSION()"], [(VERSION,)]
        if re.fullmatch(r"(?i)select\s+database\(\)", statement.strip()):
            return ["DATABASE()"], [(self.database,)]
        connection = self._connection()
        match = re.fullmatch(r"(?is)show\s+(full\s+)?tables(?:\s+(?:from|in)\s+`?(\w+)`?)?(?:\s+like\s+'([^']*)')?", statement.strip())
        if match:
            return self._tables(connection, match.group(2), match.group(3), full=bool(match.group(1)))
        match = (re.fullmatch(r"(?is)(?:describe|desc|explain)\s+(?:`?(\w+)`?\.)?`?(\w+)`?", statement.strip())
                 or re.fullmatch(r"(?is)show\s+(?:full\s+)?(?:columns|fields)\s+(?:from|in)\s+(?:`?(\w+)`?\.)?`?(\w+)`?"
                                 r"(?:\s+(?:from|in)\s+`?(\w+)`?)?", statement.strip()))
        if match:
            database = (match.group(3) if match.lastindex == 3 else None) or match.group(1)
            return self._describe(connection, match.group(2), database)
        try:
            cursor = connection.execute(_translate(statement))
        except sqlite3.IntegrityError as error:
            raise _integrity(error, statement) from None
        except sqlite3.OperationalError as error:
            raise self._operational(error, statement) from None
        # MySQL autocommits each statement; one SQLite transaction per session gives the same
        # result (the session commits when it ends, errors included) at a fraction of the fsyncs.
        if cursor.description:
            return [column[0] for column in cursor.description], cursor.fetchall()
        return None

    def _connection(self) -> sqlite3.Connection:
        if self.connection is None:
            self._reopen()
        assert self.connection is not None
        return self.connection

    def _schema(self, database: str | None) -> tuple[str, str]:
        """The SQLite schema holding ``database`` (the used one when None), and its MySQL name."""
        name = database or self.database
        if name is None:
            raise MySQLError(1046, "3D000", "No database selected")
        if name != self.database and name not in self.server.databases():
            raise MySQLError(1049, "42000", f"Unknown database '{name}'")
        return ("main" if name == self.database else name), name

    def _tables(self, connection: sqlite3.Connection, database: str | None, like: str | None, *,
                full: bool) -> tuple[list[str], list[tuple[object, ...]]]:
        """``SHOW [FULL] TABLES [FROM db] [LIKE 'pattern']``, MySQL's columns and order."""
        schema, name = self._schema(database)
        query = f"SELECT name FROM \"{schema}\".sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        rows = connection.execute(query + (" AND name LIKE ?" if like is not None else "") + " ORDER BY name",
                                  (like,) if like is not None else ()).fetchall()
        columns = [f"Tables_in_{name}" + (f" ({like})" if like is not None else "")]
        if full:
            return [*columns, "Table_type"], [(row[0], "BASE TABLE") for row in rows]
        return columns, rows

    def _describe(self, connection: sqlite3.Connection, table: str, database: str | None = None) -> tuple[list[str], list[tuple[object, ...]]]:
        schema, name = self._schema(database)
        rows = connection.execute(f"PRAGMA \"{schema}\".table_info('{table}')").fetchall()
        if not rows:
            raise MySQLError(1146, "42S02", f"Table '{name}.{table}' doesn't exist")
        described: list[tuple[object, ...]] = []
        for _, name, kind, not_null, default, primary in rows:
            counter = kind.upper() == "INTEGER" and bool(primary)  # only an AUTO_INCREMENT column is translated so
            described.append((name, "int" if counter else kind.lower() or "text", "NO" if not_null or primary else "YES",
                              "PRI" if primary else "", "NULL" if default is None else default, "auto_increment" if counter else ""))
        return ["Field", "Type", "Null", "Key", "Default", "Extra"], described

    def _operational(self, error: sqlite3.OperationalError, statement: str) -> MySQLError:
        text = str(error)
        if text.startswith("no such table"):
            table = text.split(":", 1)[1].strip()
            if "." not in table and self.database is None:
                return MySQLError(1046, "3D000", "No database selected")
            qualified = table if "." in table else f"{self.database}.{table}"
            return MySQLError(1146, "42S02", f"Table '{qualified}' doesn't exist")
        if text.startswith("table") and "already exists" in text:
            table = text.split()[1]
            return MySQLError(1050, "42S01", f"Table '{table}' already exists")
        if text.startswith("no such column"):
            column = text.split(":", 1)[1].strip()
            return MySQLError(1054, "42S22", f"Unknown column '{column}' in 'field list'")
        return _syntax(statement)


def _syntax(statement: str) -> MySQLError:
    near = statement[:80]
    return MySQLError(1064, "42000", "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server "
                      f"version for the right syntax to use near '{near}' at line 1")


def _integrity(error: sqlite3.IntegrityError, statement: str) -> MySQLError:
    text = str(error)
    if "UNIQUE" in text:
        table_column = text.split(":", 1)[1].strip().split(",")[0]
        table = table_column.split(".")[0]
        match = re.search(r"(?is)values\s*\(\s*('?[^,')]*'?)", statement)
        value = match.group(1).strip("'") if match else "?"
        return MySQLError(1062, "23000", f"Duplicate entry '{value}' for key '{table}.PRIMARY'")
    if "NOT NULL" in text:
        column = text.split(":", 1)[1].strip().split(".")[-1]
        return MySQLError(1048, "23000", f"Column '{column}' cannot be null")
    return MySQLError(1452, "23000", text)


def _translate(statement: str) -> str:
    """The MySQL-only spellings SQLite does not take."""
    translated = re.sub(r"(?i)\bINSERT\s+IGNORE\b", "INSERT OR IGNORE", statement)
    translated = _auto_increment(translated)
    translated = re.sub(r"(?i)\)\s*(ENGINE|DEFAULT\s+CHARSET|CHARSET|COLLATE)\s*=?.*$", ")", translated, flags=re.S)
    translated = re.sub(r"(?i)\bUNSIGNED\b", "", translated)
    return translated


def _auto_increment(statement: str) -> str:
    """An AUTO_INCREMENT column as SQLite's counterpart, ``INTEGER PRIMARY KEY`` (the row id, so an
    insert without it numbers the row); a table-level ``PRIMARY KEY (col)`` moves onto it."""
    column = re.search(r"(?i)(`?\w+`?)\s+(?:TINY|SMALL|MEDIUM|BIG)?INT(?:EGER)?(?:\s*\(\d+\))?((?:\s+(?!AUTO_INCREMENT)\w+)*?)"
                       r"\s+AUTO_INCREMENT\b([^,)]*)", statement)
    if column is None:
        return re.sub(r"(?i)\bAUTO_INCREMENT\b(\s*=\s*\d+)?", "", statement)
    name = column.group(1).strip("`")
    modifiers = re.sub(r"(?i)\b(PRIMARY\s+KEY|UNSIGNED|NOT\s+NULL)\b", "", column.group(2) + column.group(3)).split()
    replaced = f"{column.group(1)} INTEGER PRIMARY KEY {' '.join(modifiers)}".rstrip()
    statement = statement[:column.start()] + replaced + statement[column.end():]
    statement = re.sub(r"(?i),\s*PRIMARY\s+KEY\s*\(\s*`?" + re.escape(name) + r"`?\s*\)", "", statement)
    return re.sub(r"(?i)\bAUTO_INCREMENT\b(\s*=\s*\d+)?", "", statement)


def format_batch(columns: list[str], rows: list[tuple[object, ...]], *, header: bool) -> str:
    def cell(value: object) -> str:
        if value is None:
            return "NULL"
        return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")

    lines = ["\t".join(columns)] if header else []
    lines += ["\t".join(cell(v) for v in row) for row in rows]
    return "".join(line + "\n" for line in lines)


def format_table(columns: list[str], rows: list[tuple[object, ...]], *, header: bool) -> str:
    texts = [["NULL" if v is None else str(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in texts]) for i, c in enumerate(columns)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(values: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"

    out = [rule] + ([line(columns), rule] if header else []) + [line(r) for r in texts] + [rule]
    return "\n".join(out) + "\n"


def run_client(argv: list[str], stdin: bytes, environment: Mapping[str, str], data_dir: Path) -> tuple[bytes, bytes, int]:
    """The ``mysql`` command inside the container: (stdout, stderr, exit code)."""
    options = parse_arguments(argv)
    errors = ""
    if options.password:
        errors += "mysql: [Warning] Using a password on the command line interface can be insecure.\n"
    if options.host not in ("localhost", "127.0.0.1", "::1"):
        return b"", (errors + f"ERROR 2005 (HY000): Unknown MySQL server host '{options.host}' (-2)\n"
                     "(the labrunner sandbox's mysql client connects to its own server only, so far)\n").encode(), 1
    server = Server(data_dir, environment.get("MYSQL_ROOT_PASSWORD", ""))
    if options.user != "root" or (options.password or "") != server.root_password:
        using = "YES" if options.password else "NO"
        return b"", (errors + f"ERROR 1045 (28000): Access denied for user '{options.user}'@'localhost' (using password: {using})\n").encode(), 1
    try:
        session = Session(server, options.database)
    except MySQLError as error:
        return b"", (errors + error.text() + "\n").encode(), 1
    script = options.execute if options.execute is not None else stdin.decode(errors="replace")
    output = ""
    try:
        for line, statement in split_statements(script):
            try:
                result = session.execute(statement)
            except MySQLError as error:
                return output.encode(), (errors + error.text(line) + "\n").encode(), 1
            if result is not None:
                columns, rows = result
                if rows or options.table:
                    formatter = format_table if options.table else format_batch
                    output += formatter(columns, rows, header=not options.skip_column_names)
    finally:
        session.close()
    return output.encode(), errors.encode(), 0
