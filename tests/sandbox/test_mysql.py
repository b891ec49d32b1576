"""The simulated mysql image: SQL on SQLite, spoken as mysql 8.4 speaks it."""

from __future__ import annotations

from pathlib import Path

import pytest

from labrunner.sandbox.mysql import run_client, split_statements
from tests.conftest import REPO

SEED = (REPO / "assets" / "networkpolicies" / "db.txt").read_bytes()
ENV = {"MYSQL_ROOT_PASSWORD": "s3cret"}


def mysql(data: Path, *argv: str, stdin: bytes = b"") -> tuple[str, str, int]:
    out, err, code = run_client(list(argv), stdin, ENV, data)
    return out.decode(), err.decode(), code


def test_seeding_the_lab_and_reading_the_rows(tmp_path: Path) -> None:
    assert mysql(tmp_path, "-uroot", "-ps3cret", stdin=SEED)[2] == 0
    assert mysql(tmp_path, "-uroot", "-ps3cret", stdin=SEED)[2] == 0  # db.txt can be replayed
    out, err, code = mysql(tmp_path, "-uroot", "-ps3cret", "db1", "-e", "SELECT id, name FROM users ORDER BY id LIMIT 2")
    assert (out, code) == ("id\tname\n1\tMara Quill\n2\tTobias Fenwick\n", 0)
    assert err == "mysql: [Warning] Using a password on the command line interface can be insecure.\n"
    assert mysql(tmp_path, "-uroot", "-ps3cret", "-N", "-B", "-e", "SELECT COUNT(*) FROM db1.users")[0] == "10\n"
    assert mysql(tmp_path, "-uroot", "-ps3cret", "-N", "-e", "SHOW DATABASES")[0].splitlines()[-1] == "db1"


@pytest.mark.parametrize(
    ("argv", "stdin", "expected"),
    [
        (["-uroot", "-pwrong", "-e", "SELECT 1"], b"", "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)"),
        (["-uroot", "-e", "SELECT 1"], b"", "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: NO)"),
        (["-uroot", "-ps3cret", "db2"], b"", "ERROR 1049 (42000): Unknown database 'db2'"),
        (["-uroot", "-ps3cret"], b"USE db1;\nSELECT 1;\nUSE db2;\n", "ERROR 1049 (42000) at line 3: Unknown database 'db2'"),
        (["-uroot", "-ps3cret", "-e", "SHOW TABLES"], b"", "ERROR 1046 (3D000) at line 1: No database selected"),
        (["-uroot", "-ps3cret", "db1", "-e", "SELECT * FROM orders"], b"", "ERROR 1146 (42S02) at line 1: Table 'db1.orders' doesn't exist"),
        (["-uroot", "-ps3cret", "db1", "-e", "INSERT INTO users VALUES (1, 'a', 'b', 'c')"], b"", "ERROR 1062 (23000) at line 1: Duplicate entry '1' for key 'users.PRIMARY'"),
        (["-uroot", "-ps3cret", "-e", "CREATE DATABASE db1"], b"", "ERROR 1007 (HY000) at line 1: Can't create database 'db1'; database exists"),
        (["-uroot", "-ps3cret", "db1", "-e", "SELEKT 1"], b"", "ERROR 1064 (42000) at line 1: You have an error in your SQL syntax"),
    ],
)
def test_errors_read_as_mysql_prints_them(tmp_path: Path, argv: list[str], stdin: bytes, expected: str) -> None:
    mysql(tmp_path, "-uroot", "-ps3cret", stdin=SEED)
    out, err, code = mysql(tmp_path, *argv, stdin=stdin)
    assert code == 1
    assert expected in err


def test_table_output_and_describe(tmp_path: Path) -> None:
    mysql(tmp_path, "-uroot", "-ps3cret", stdin=SEED)
    out = mysql(tmp_path, "-uroot", "-ps3cret", "-t", "db1", "-e", "DESCRIBE users")[0]
    assert out.splitlines()[1] == "| Field | Type         | Null | Key | Default | Extra |"
    assert "| id    | int          | NO   | PRI | NULL    |       |" in out


def test_statements_split_outside_quotes_and_comments() -> None:
    sql = "-- seed\nINSERT INTO t VALUES ('a;b');\n/* two\nlines */ SELECT 1; # done\nSELECT 2"
    assert split_statements(sql) == [(2, "INSERT INTO t VALUES ('a;b')"), (4, "SELECT 1"), (5, "SELECT 2")]


def test_what_learners_type_to_look_around(tmp_path: Path) -> None:
    """MySQL 8's forms of SHOW and DESCRIBE, from any database or none (issue 13 item 8)."""
    mysql(tmp_path, "-uroot", "-ps3cret", stdin=SEED)
    def batch(*argv: str) -> str:
        out, err, code = mysql(tmp_path, "-uroot", "-ps3cret", *argv)
        assert code == 0, err
        return out

    assert batch("-e", "SHOW TABLES FROM db1") == "Tables_in_db1\nusers\n"
    assert batch("-e", "show tables in `db1`") == "Tables_in_db1\nusers\n"
    assert batch("-e", "SHOW FULL TABLES FROM db1") == "Tables_in_db1\tTable_type\nusers\tBASE TABLE\n"
    assert batch("-e", "SHOW TABLES FROM db1 LIKE 'us%'") == "Tables_in_db1 (us%)\nusers\n"
    assert batch("-e", "SHOW TABLES FROM db1 LIKE 'x%'") == ""
    assert batch("-e", "DESCRIBE db1.users").splitlines()[1].startswith("id\tint\tNO\tPRI")
    assert batch("-e", "SHOW COLUMNS FROM users FROM db1") == batch("db1", "-e", "DESC users")
    batch("-e", "CREATE DATABASE archive")
    batch("archive", "-e", "CREATE TABLE old_users AS SELECT id, name FROM db1.users WHERE id <= 3")
    assert batch("archive", "-N", "-e", "SELECT COUNT(*) FROM old_users") == "3\n"
    assert batch("db1", "-e", "SHOW TABLES FROM archive") == "Tables_in_archive\nold_users\n"
    batch("-e", "DROP DATABASE archive")
    out, err, code = mysql(tmp_path, "-uroot", "-ps3cret", "-e", "SHOW TABLES FROM archive")
    assert code == 1 and "ERROR 1049 (42000) at line 1: Unknown database 'archive'" in err
    out, err, code = mysql(tmp_path, "-uroot", "-ps3cret", "-e", "DESCRIBE db1.orders")
    assert code == 1 and "ERROR 1146 (42S02) at line 1: Table 'db1.orders' doesn't exist" in err


def test_auto_increment_numbers_rows_and_create_table_as_select_copies_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from labrunner.sandbox.mysql import run_client

    script = (b"CREATE DATABASE shop; USE shop;"
              b"CREATE TABLE t (id INT NOT NULL AUTO_INCREMENT, name VARCHAR(20), PRIMARY KEY (id)) ENGINE=InnoDB;"
              b"INSERT INTO t (name) VALUES ('a'),('b'); CREATE TABLE t2 AS SELECT * FROM t WHERE id > 1;"
              b"SELECT * FROM t2; DESCRIBE t;")
    out, err, code = run_client(["-uroot"], script, {}, tmp_path)
    assert (err, code) == (b"", 0)
    assert out.decode() == ("id\tname\n2\tb\n"
                            "Field\tType\tNull\tKey\tDefault\tExtra\nid\tint\tNO\tPRI\tNULL\tauto_increment\nname\tvarchar(20)\tYES\t\tNULL\t\n")
