"""The sandbox's PHP: what a learner's page prints, byte for byte, and what Apache's error log gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import pytest
import yaml

from labrunner.sandbox.php import MysqlError, Page, Request, run_page

ROOT = Path(__file__).resolve().parents[2]


class FakeLink:
    def __init__(self, tables: dict[str, tuple[list[str], list[tuple[object, ...]]]]) -> None:
        self.tables = tables
        self.affected_rows = 0
        self.insert_id = 0
        self.queries: list[str] = []
        self.closed = False

    def query(self, sql: str) -> tuple[list[str], list[tuple[object, ...]]] | None:
        self.queries.append(sql)
        for table, result in self.tables.items():
            if f"FROM {table}" in sql:
                return result
        if sql.startswith("INSERT"):
            self.affected_rows, self.insert_id = 1, 7
            return None
        raise MysqlError(1146, "42S02", "Table 'db1.users' doesn't exist")

    def select_db(self, database: str) -> None:
        raise MysqlError(1049, "42000", f"Unknown database '{database}'")

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeHost:
    hostname: str = "interpoddemo-7d9f8-abcde"
    extensions: frozenset[str] = frozenset({"mysqli", "pdo_mysql"})
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    failure: MysqlError | None = None
    link: FakeLink = field(default_factory=lambda: FakeLink({}))
    connects: list[tuple[str, str, str, str | None, int, float]] = field(default_factory=list)

    def getenv(self, name: str) -> str | None:
        return self.env.get(name)

    def environment(self) -> Mapping[str, str]:
        return self.env

    def read_file(self, path: str) -> bytes | None:
        return self.files.get(path)

    def mysql_connect(self, host: str, user: str, password: str, database: str | None, port: int,
                      timeout: float) -> FakeLink:
        self.connects.append((host, user, password, database, port, timeout))
        if self.failure is not None:
            raise self.failure
        return self.link


def run(source: str, host: FakeHost | None = None, **request: object) -> Page:
    return run_page(source, Request(**request), host or FakeHost())  # type: ignore[arg-type]


def text(page: Page) -> str:
    return page.body.decode()


# The networkpolicies lab's page

def lab_page() -> str:
    documents = yaml.safe_load_all((ROOT / "assets/networkpolicies/app.yaml").read_text())
    config_map = next(d for d in documents if d and d["kind"] == "ConfigMap")
    return str(config_map["data"]["index.php"])


HEAD = ('<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8"><title>interpoddemo</title></head>\n<body>\n'
        "<h1>Users in db1</h1>\n<p>Served by pod interpoddemo-7d9f8-abcde</p>\n")
TAIL = "</body>\n</html>\n"
LAB_ENV = {"MYSQL_HOST": "mysql", "MYSQL_ROOT_PASSWORD": "s3cret"}


def test_lab_page_lists_the_rows() -> None:
    rows: list[tuple[object, ...]] = [(1, "Ann", "ann@example.com", "Oslo"), (2, "O'Brien", "ob@example.com", None)]
    link = FakeLink({"users": (["id", "name", "email", "city"], rows)})
    host = FakeHost(env=LAB_ENV, link=link)
    page = run(lab_page(), host, script_filename="/app/index.php", document_root="/app")
    assert text(page) == HEAD + (
        '<table border="1">\n'
        "<thead><tr><th>id</th><th>name</th><th>email</th><th>city</th></tr></thead>\n<tbody>\n"
        "<tr><td>1</td><td>Ann</td><td>ann@example.com</td><td>Oslo</td></tr>\n"
        "<tr><td>2</td><td>O&#039;Brien</td><td>ob@example.com</td><td></td></tr>\n"
        "</tbody>\n</table>\n") + TAIL
    assert page.status == 200 and page.log == [] and page.delay == 0
    assert ("Content-Type", "text/html; charset=UTF-8") in page.headers
    assert host.connects == [("mysql", "root", "s3cret", "db1", 3306, 3.0)]
    assert link.queries == ["SELECT id, name, email, city FROM users ORDER BY id"] and link.closed


@pytest.mark.parametrize(("failure", "shown"), [
    (MysqlError(2002, "HY000", "php_network_getaddresses: getaddrinfo for mysql failed: Name or service not known"),
     "php_network_getaddresses: getaddrinfo for mysql failed: Name or service not known"),
    (MysqlError(2002, "HY000", "php_network_getaddresses: getaddrinfo for mysql failed: Temporary failure in name "
                               "resolution", delay=3.0),
     "php_network_getaddresses: getaddrinfo for mysql failed: Temporary failure in name resolution"),
    (MysqlError(2002, "HY000", "Connection timed out", delay=3.0), "Connection timed out"),
    (MysqlError(2002, "HY000", "Connection refused"), "Connection refused"),
    (MysqlError(1045, "28000", "Access denied for user 'root'@'10.244.0.7' (using password: YES)"),
     "Access denied for user &#039;root&#039;@&#039;10.244.0.7&#039; (using password: YES)"),
    (MysqlError(1049, "42000", "Unknown database 'db1'"), "Unknown database &#039;db1&#039;"),
])
def test_lab_page_says_why_mysql_failed(failure: MysqlError, shown: str) -> None:
    page = run(lab_page(), FakeHost(env=LAB_ENV, failure=failure))
    assert text(page) == HEAD + f"<p>MySQL connection failed: {shown}</p>\n" + TAIL
    assert page.log == []  # the page silences mysqli's warnings with @
    assert page.delay == failure.delay


def test_lab_page_query_failure() -> None:
    page = run(lab_page(), FakeHost(env=LAB_ENV))
    assert text(page) == HEAD + "<p>MySQL query failed: Table &#039;db1.users&#039; doesn&#039;t exist</p>\n" + TAIL


# mysqli's defaults and a missing extension

def test_mysqli_missing_is_an_undefined_function() -> None:
    page = run("<?php\n\n$db = mysqli_connect('mysql', 'root', 'x');\n", FakeHost(extensions=frozenset()))
    assert text(page) == (
        "<br />\n<b>Fatal error</b>:  Uncaught Error: Call to undefined function mysqli_connect() in "
        "/var/www/html/index.php:3\nStack trace:\n#0 {main}\n  thrown in <b>/var/www/html/index.php</b> on line "
        "<b>3</b><br />\n")
    assert page.log == ["PHP Fatal error:  Uncaught Error: Call to undefined function mysqli_connect() in "
                        "/var/www/html/index.php:3\\nStack trace:\\n#0 {main}\\n  thrown in "
                        "/var/www/html/index.php on line 3"]
    assert page.status == 200  # display_errors is on: php_error_cb leaves the status alone


def test_default_mysqli_report_throws() -> None:
    source = "<p>before</p>\n<?php\n$db = new mysqli('mysql', 'root', 'pw', 'db1');\necho 'after';\n"
    page = run(source, FakeHost(failure=MysqlError(2002, "HY000", "Connection refused")))
    assert text(page) == (
        "<p>before</p>\n<br />\n<b>Fatal error</b>:  Uncaught mysqli_sql_exception: Connection refused in "
        "/var/www/html/index.php:3\nStack trace:\n#0 /var/www/html/index.php(3): mysqli-&gt;__construct('mysql', "
        "'root', Object(SensitiveParameterValue), 'db1')\n#1 {main}\n  thrown in <b>/var/www/html/index.php</b> on "
        "line <b>3</b><br />\n")
    assert page.log[0].startswith("PHP Fatal error:  Uncaught mysqli_sql_exception: Connection refused in ")


def test_report_off_warns_and_connect_error_is_readable() -> None:
    source = ("<?php\nmysqli_report(MYSQLI_REPORT_OFF);\n$db = new mysqli('mysql', 'root', 'pw');\n"
              "if ($db->connect_error) { echo 'failed: ', $db->connect_error, ' ', mysqli_connect_errno(); }\n")
    page = run(source, FakeHost(failure=MysqlError(2002, "HY000", "Connection refused")))
    assert text(page) == (
        "<br />\n<b>Warning</b>:  mysqli::__construct(): (HY000/2002): Connection refused in "
        "<b>/var/www/html/index.php</b> on line <b>3</b><br />\nfailed: Connection refused 2002")
    assert page.log == ["PHP Warning:  mysqli::__construct(): (HY000/2002): Connection refused in "
                        "/var/www/html/index.php on line 3"]


def test_caught_exception_and_object_form() -> None:
    source = """<?php
try {
    $db = new mysqli('mysql', 'root', 'pw', 'db1');
    $result = $db->query('SELECT name FROM users');
    echo $result->num_rows, ':';
    while ($row = $result->fetch_assoc()) { echo $row['name'], ','; }
    $db->query('SELECT * FROM nothing');
} catch (mysqli_sql_exception $e) {
    echo 'caught: ', $e->getMessage(), ' (', $e->getCode(), ')';
}
"""
    link = FakeLink({"users": (["name"], [("Ann",), ("Bo",)])})
    assert text(run(source, FakeHost(link=link))) == "2:Ann,Bo,caught: Table 'db1.users' doesn't exist (1146)"


def test_connect_timeout_defaults_to_60_seconds() -> None:
    host = FakeHost(failure=MysqlError(2002, "HY000", "Connection timed out", delay=60.0))
    page = run("<?php\n$l = @mysqli_connect('mysql', 'root', '');\nvar_dump($l);\n", host)
    assert host.connects[0][5] == 60.0 and page.delay == 60.0
    assert text(page).startswith("<br />\n<b>Fatal error</b>:  Uncaught mysqli_sql_exception: Connection timed out")


def test_pdo() -> None:
    source = """<?php
$pdo = new PDO('mysql:host=mysql;dbname=db1', 'root', 'pw');
$st = $pdo->prepare('SELECT id, name FROM users WHERE name = :name');
$st->execute(['name' => "O'Brien"]);
print_r($st->fetchAll(PDO::FETCH_ASSOC));
"""
    link = FakeLink({"users": (["id", "name"], [(2, "O'Brien")])})
    assert text(run(source, FakeHost(link=link))) == (
        "Array\n(\n    [0] => Array\n        (\n            [id] => 2\n            [name] => O'Brien\n        )\n\n)\n")
    assert link.queries == ["SELECT id, name FROM users WHERE name = 'O\\'Brien'"]
    page = run("<?php new PDO('mysql:host=mysql', 'root', 'pw');", FakeHost(extensions=frozenset({"mysqli"})))
    assert "Uncaught PDOException: could not find driver in /var/www/html/index.php:1" in text(page)


# The language

def test_template_with_alternative_syntax() -> None:
    source = """<ul>
<?php foreach (['a' => 1, 'b' => 2] as $k => $v): ?>
  <li><?= $k ?>=<?= $v ?></li>
<?php endforeach; ?>
</ul>
<?php if (count([]) > 0): ?>yes<?php elseif (true): ?>maybe<?php else: ?>no<?php endif ?>
"""
    assert text(run(source)) == "<ul>\n  <li>a=1</li>\n  <li>b=2</li>\n</ul>\nmaybe"


def test_var_dump_print_r_json_encode() -> None:
    source = """<?php
var_dump([1, 'k' => 'é', 'f' => 1.0, 'n' => null, 'b' => false, 'x' => 0.1 + 0.2]);
print_r(['a' => [1], 'b' => true]);
echo json_encode(['url' => 'http://h/p', 'u' => 'é', 'l' => [1, 2], 'f' => 10.0, 'o' => new stdClass]);
"""
    assert text(run(source)) == (
        'array(6) {\n  [0]=>\n  int(1)\n  ["k"]=>\n  string(2) "é"\n  ["f"]=>\n  float(1)\n  ["n"]=>\n  NULL\n'
        '  ["b"]=>\n  bool(false)\n  ["x"]=>\n  float(0.30000000000000004)\n}\n'
        "Array\n(\n    [a] => Array\n        (\n            [0] => 1\n        )\n\n    [b] => 1\n)\n"
        '{"url":"http:\\/\\/h\\/p","u":"\\u00e9","l":[1,2],"f":10,"o":{}}')


def test_arrays_are_values_and_keys_normalise() -> None:
    source = """<?php
$a = ['1' => 'one', '01' => 'zero-one', true => 'bool', 1.7 => 'float'];
$b = $a; $b[] = 'next';
$c = [$a]; $a[5] = 'five';
echo count($a), count($b), count($c[0]), ' ', implode(',', array_keys($b)), ' ', $a[1];
"""
    page = run(source)
    assert text(page).endswith("332 1,01,2 float")
    assert "Implicit conversion from float 1.7 to int loses precision" in text(page)


def test_warnings_for_undefined_variables_and_keys() -> None:
    page = run("<?php\necho $x;\n$a = [];\necho $a['k'], $a[3];\necho @$a['silenced'];\necho 'done';\n")
    assert text(page) == (
        "<br />\n<b>Warning</b>:  Undefined variable $x in <b>/var/www/html/index.php</b> on line <b>2</b><br />\n"
        '<br />\n<b>Warning</b>:  Undefined array key "k" in <b>/var/www/html/index.php</b> on line <b>4</b><br />\n'
        "<br />\n<b>Warning</b>:  Undefined array key 3 in <b>/var/www/html/index.php</b> on line <b>4</b><br />\n"
        "done")
    assert page.log == ["PHP Warning:  Undefined variable $x in /var/www/html/index.php on line 2",
                        'PHP Warning:  Undefined array key "k" in /var/www/html/index.php on line 4',
                        "PHP Warning:  Undefined array key 3 in /var/www/html/index.php on line 4"]


def test_parse_error_runs_nothing() -> None:
    page = run('<p>hi</p>\n<?php\necho "a"\necho "b";\n')
    assert text(page) == ('<br />\n<b>Parse error</b>:  syntax error, unexpected token &quot;echo&quot;, expecting '
                          '&quot;,&quot; or &quot;;&quot; in <b>/var/www/html/index.php</b> on line <b>4</b><br />\n')
    assert page.log == ['PHP Parse error:  syntax error, unexpected token "echo", expecting "," or ";" in '
                        '/var/www/html/index.php on line 4']


def test_unimplemented_real_function_says_so() -> None:
    page = run("<?php\necho 'x';\narray_walk($a, 'f');\n")
    assert text(page) == ("x<br />\n<b>Fatal error</b>:  labrunner sandbox: the simulated PHP does not implement "
                          "array_walk() in <b>/var/www/html/index.php</b> on line <b>3</b><br />\n")
    assert "Call to undefined function no_such_thing()" in text(run("<?php no_such_thing();"))


def test_step_limit_ends_an_endless_loop() -> None:
    page = run("<?php\nwhile (true) {\n}\n")
    assert text(page) == ("<br />\n<b>Fatal error</b>:  Maximum execution time of 30 seconds exceeded in "
                          "<b>/var/www/html/index.php</b> on line <b>2</b><br />\n")
    assert page.delay == 30.0


def test_sleep_adds_to_the_delay() -> None:
    page = run("<?php sleep(2); usleep(500000); echo 'ok';")
    assert text(page) == "ok" and page.delay == 2.5


def test_include_a_second_file() -> None:
    host = FakeHost(files={"/var/www/html/lib.php": b"<?php\nfunction greet($n) { return \"Hello, $n!\"; }\n"
                                                    b"$title = 'Lib';\n"})
    page = run("<?php\nrequire_once 'lib.php';\nrequire_once __DIR__ . '/lib.php';\necho greet($title);\n"
               "include 'missing.php';\n", host)
    assert text(page) == (
        "Hello, Lib!<br />\n<b>Warning</b>:  include(missing.php): Failed to open stream: No such file or directory in "
        "<b>/var/www/html/index.php</b> on line <b>5</b><br />\n<br />\n<b>Warning</b>:  include(): Failed opening "
        "'missing.php' for inclusion (include_path='.:/usr/local/lib/php') in <b>/var/www/html/index.php</b> on "
        "line <b>5</b><br />\n")


def test_get_post_server_and_env() -> None:
    source = ("<?php echo htmlspecialchars($_GET['q']), '|', $_GET['tags'][1], '|', $_POST['name'], '|', "
              "$_SERVER['REQUEST_URI'], '|', $_SERVER['HTTP_HOST'], '|', getenv('APP_ENV'), '|', "
              "$_ENV['APP_ENV'], '|', gethostname();")
    page = run(source, FakeHost(env={"APP_ENV": "lab"}), method="POST", path="/index.php",
               query="q=<b>&tags[]=a&tags[]=b", headers={"Host": "web", "Content-Type":
                                                         "application/x-www-form-urlencoded"}, body=b"name=Ann")
    assert text(page) == "&lt;b&gt;|b|Ann|/index.php?q=<b>&tags[]=a&tags[]=b|web|lab|lab|interpoddemo-7d9f8-abcde"


def test_headers_and_status() -> None:
    page = run("<?php header('Location: /next'); header('X-Lab: 1');")
    assert page.status == 302 and ("Location", "/next") in page.headers and ("X-Lab", "1") in page.headers
    late = run("<?php echo 'x';\nheader('X-Late: 1');\n")
    assert "Cannot modify header information - headers already sent by (output started at " \
           "/var/www/html/index.php:1)" in text(late)
    assert run("<?php http_response_code(404); echo 'gone';").status == 404


def test_functions_exceptions_and_traces() -> None:
    source = """<?php
function check($n = 5, ...$rest) {
    static $calls = 0;
    $calls++;
    if ($n > 3) { throw new InvalidArgumentException("too big: $n"); }
    return $calls + count($rest);
}
echo check(1, 'a', 'b'), ' ';
try { check(); } catch (LogicException $e) { echo $e->getMessage(); } finally { echo ' f '; }
"""
    page = run(source)
    assert text(page) == "3 too big: 5 f "
    uncaught = run("<?php\nfunction f($x) {\n    throw new RuntimeException('bad');\n}\nf('a long argument here');\n")
    assert "Uncaught RuntimeException: bad in /var/www/html/index.php:3\nStack trace:\n" \
           "#0 /var/www/html/index.php(5): f('a long argument...')\n#1 {main}\n  thrown" in text(uncaught)


def test_loose_comparison_php8() -> None:
    source = "<?php var_dump(0 == 'a', '1' == '01', '10' == '1e1', 100 == '1e2', null == false, 'abc' <=> 'abd');"
    assert text(run(source)) == "bool(false)\nbool(true)\nbool(true)\nbool(true)\nbool(true)\nint(-1)\n"


def test_exit_and_die() -> None:
    assert text(run("<?php echo 'a'; die('stopped'); echo 'b';")) == "astopped"
