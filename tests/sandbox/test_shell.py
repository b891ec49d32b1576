"""The sandbox's sh, as busybox ash answers: control flow, expansions, redirections, here-docs,
functions, builtins, and busybox's syntax errors, as input/output pairs (issue 13 item 2)."""

from __future__ import annotations

import pytest

from labrunner.sandbox.processes import Container, run
from labrunner.sandbox.sh import STEP_LIMIT, Shell
from tests.sandbox.test_processes import box, sh  # noqa: F401  the container every sh test runs in


@pytest.mark.parametrize(("script", "expected"), [
    ("for i in 1 2 3; do echo $i; done", "1\n2\n3\n"),
    ("for i in a b\ndo\n  echo \"<$i>\"\ndone", "<a>\n<b>\n"),
    ("i=0; while [ $i -lt 3 ]; do i=$((i + 1)); echo n$i; done", "n1\nn2\nn3\n"),
    ("n=3; until [ $n -eq 0 ]; do echo $n; n=$((n-1)); done", "3\n2\n1\n"),
    ("for i in 1 2 3 4; do [ $i -eq 2 ] && continue; [ $i -eq 4 ] && break; echo $i; done", "1\n3\n"),
    ("if [ -f /etc/hosts ]; then echo yes; elif true; then echo maybe; else echo no; fi", "yes\n"),
    ("if false; then echo a; elif [ x = x ]; then echo b; fi", "b\n"),
    ("case web-1 in db-*) echo db;; web-*|api-*) echo web;; *) echo other;; esac", "web\n"),
    ("case 'a*' in 'a*') echo literal;; esac", "literal\n"),
    ("greet() { echo \"hi $1 ($#)\"; return 3; }; greet you 'and me'; echo $?", "hi you (2)\n3\n"),
    ("f() { local x=in; echo $x; }; x=out; f; echo $x", "in\nout\n"),
    ("echo $(( 7 / 2 )) $(( -7 % 3 )) $(( 2 * (3 + 4) )) $(( 1 < 2 && 3 > 4 ))", "3 -1 14 0\n"),
    ("x=$(echo a   b); echo \"[$x]\" [$x]", "[a b] [a b]\n"),
    ("echo `echo back`ticks", "backticks\n"),
    ("echo ${MISSING:-default} ${GREETING:+set} ${#GREETING} ${GREETING%lo} ${GREETING#he}", "default set 5 hel llo\n"),
    ("v=; echo \"${v-unset}|${v:-empty}\"", "|empty\n"),
    ("set -- one two three; shift; echo $# $1 \"$@\"", "2 two two three\n"),
    ("echo 'single $GREETING' \"double $GREETING\" \\$GREETING", "single $GREETING double hello $GREETING\n"),
    ("echo hi > /tmp/x; echo there >> /tmp/x; cat /tmp/x; wc -l < /tmp/x", "hi\nthere\n2\n"),
    ("{ echo one; echo two; } > /tmp/g; cat /tmp/g", "one\ntwo\n"),
    ("cat <<EOF\nhello $GREETING\n  $(echo sub)\nEOF", "hello hello\n  sub\n"),
    ("cat <<'EOF'\nno $GREETING\nEOF", "no $GREETING\n"),
    ("cat <<-EOF\n\tindented\n\tEOF", "indented\n"),
    ("seq 3 | while read n; do echo $((n * n)); done", "1\n4\n9\n"),
    ("while read a b; do echo \"$b-$a\"; done <<EOF\n1 2 3\n4 5\nEOF", "2 3-1\n5-4\n"),
    ("printf '%s=%03d\\n' a 1 b 22", "a=001\nb=022\n"),
    ("echo -e 'a\\tb'; echo -n x; echo y", "a\tb\nxy\n"),
    ("a=1; (a=2; echo in $a); echo out $a", "in 2\nout 1\n"),
    ("cd /tmp; pwd; echo hi > rel; cat /tmp/rel", "/tmp\nhi\n"),
    ("! false && echo negated", "negated\n"),
    ("export X=1; env | grep '^X='", "X=1\n"),
    ("FOO=bar env | grep FOO; echo ${FOO:-unset}", "FOO=bar\nunset\n"),
    ("eval 'echo evaluated'", "evaluated\n"),
    # POSIX: assignments alone end with the last command substitution's status (if out=$(cmd); ...)
    ("x=$(false); echo $?; y=$(true); echo $?; z=1; echo $?", "1\n0\n0\n"),
    ("if out=$(exit 3); then echo ok; else echo failed $?; fi", "failed 3\n"),
    ("a=$(false) b=$(true); echo $?", "0\n"),
    ("for i in 1 2; do for j in a b; do [ $j = b ] && continue 2; [ $i = 2 ] && break 2; echo $i$j; done; done", "1a\n"),
])
def test_what_sh_prints(box: Container, script: str, expected: str) -> None:
    assert sh(box, script) == (expected, "", 0)


@pytest.mark.parametrize(("script", "stdout", "stderr", "code"), [
    ("echo err >&2; echo out", "out\n", "err\n", 0),
    ("nope 2>/dev/null; echo $?", "127\n", "", 0),
    ("nope 2>&1 | grep -c 'not found'", "1\n", "", 0),
    ("cat < /missing", "", "sh: can't open '/missing': No such file or directory\n", 1),
    ("exit 4; echo never", "", "", 4),
    ("false; exit", "", "", 1),
    ("for i in 1 2; do echo $i", "", "sh: syntax error: unexpected end of file (expecting \"done\")\n", 2),
    ("echo 'unterminated", "", "sh: syntax error: unterminated quoted string\n", 2),
    ("if true; then fi", "", "sh: syntax error: unexpected \"fi\"\n", 2),
    ("done", "", "sh: syntax error: unexpected \"done\"\n", 2),
    ("[ 1 -lt x ]", "", "sh: x: bad number\n", 2),
    ("echo $(( 1 / 0 ))", "", "sh: arithmetic syntax error: divide by zero\n", 1),
    ("echo ${NEEDED:?must be set}", "", "sh: NEEDED: must be set\n", 1),
])
def test_what_sh_says_and_its_status(box: Container, script: str, stdout: str, stderr: str, code: int) -> None:
    assert sh(box, script) == (stdout, stderr, code)


def test_sleep_is_time_the_output_waits_for(box: Container) -> None:
    result = run(["sh", "-c", "for i in 1 2; do sleep 1.5; done; echo slept"], b"", box)
    assert (result.stdout, result.delay) == (b"slept\n", 3.0)
    assert run(["sleep", "2"], b"", box).delay == 2.0
    assert run(["sleep", "soon"], b"", box).stderr == b"sleep: invalid number 'soon'\n"


def test_a_loop_that_never_ends_is_stopped_and_says_why(box: Container) -> None:
    stdout, stderr, code = sh(box, "while true; do :; done")
    assert code == 137 and f"stopped this command after {STEP_LIMIT} steps" in stderr


def test_one_shell_keeps_its_variables_and_functions_between_commands(box: Container) -> None:
    shell = Shell(box, run)
    assert shell.run("count=2; twice() { echo $(( $1 * 2 )); }")[2] == 0
    assert shell.run("twice $count")[:3] == (b"4\n", b"", 0)
    assert shell.run("exit 3")[2:] == (3, 0.0, True)


@pytest.mark.parametrize(("script", "said"), [
    ("{ " * 300 + "echo deep; " + "} " * 300, "sh: syntax error: nesting too deep (the labrunner sandbox reads 100 levels)\n"),
    ("f() { f; }; f", "sh: f: function calls nested too deep (the labrunner sandbox stops at 100)\n"),
    ("echo " + "$(" * 150 + "echo x" + ")" * 150, "sh: command substitutions nested too deep (the labrunner sandbox stops at 100)\n"),
    ("x=a; while :; do x=$x$x; done", "sh: out of memory (the labrunner sandbox keeps 16 MiB in a command's words)\n"),
])
def test_the_sandboxs_limits_are_said_not_crashed_into(box: Container, script: str, said: str) -> None:
    stdout, stderr, code = sh(box, script)
    assert stderr == said and code in (2, 137)


def test_a_megabyte_here_doc_is_read(box: Container) -> None:
    assert sh(box, "cat <<EOF | wc -c\n" + ("x" * 99 + "\n") * 10_000 + "EOF") == ("1000000\n", "", 0)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab $(){};|&<>'\"\\`\n#=*?!-0123456789ifthenfidoelsecasewhile", max_size=60))
def test_any_text_is_run_or_refused_in_the_shells_words(text: str) -> None:
    container = Container(pod="p", namespace="n", name="c", image="busybox", env={})
    stdout, stderr, code, delay, _ = Shell(container, run).run(text)
    assert 0 <= code <= 255 and isinstance(stdout, bytes) and isinstance(stderr, bytes)
