"""Lab files made to hurt: alias bombs, huge files, symlink loops, pipes, binary and
non-UTF-8 text. Each is refused quickly as ``file:line:column: message``, through the
loader and through validate, list and show; none is an internal error or a hang."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labrunner.cli import main
from labrunner.lab.loader import load_lab
from labrunner.lab.problems import LabInvalid
from labrunner.lab.textfile import MAX_BYTES
from labrunner.yamlsource import ALIAS_LIMIT, MAX_DEPTH
from tests.test_lab_file_errors import VALID

LabTree = Callable[..., Path]

# Nine aliases of the line above on each line: 10**k values by line k, 10**10 in all.
BILLION_LAUGHS = "id: demo\n" + 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 9)}]\n" for k in range(1, 10)
)
# By a4 (line 6), the aliases have stood for 90 + 819 + 7,380 values; its first *a3
# (column 10) adds 7,381 more and crosses the 10,000 bound.
BOMB_AT = "labs/demo/lab.yaml:6:10: too many aliases expanded (more than 10,000 values): a YAML alias bomb?"

# Each merge of the mapping above twice doubles its entries: 2**40 at the end, built
# while the data is constructed, before anything walks it.
MERGE_BOMB = "id: demo\nm0: &m0 {k: v}\n" + "".join(f"m{k}: &m{k} {{<<: [*m{k - 1}, *m{k - 1}]}}\n" for k in range(1, 41))

# The step's Markdown bytes, lab.yaml's field naming it (steps[0].instructions) is here.
INSTRUCTIONS_AT = "labs/demo/lab.yaml:15:19: steps[0].instructions: "


def problems(lab_dir: Path) -> list[str]:
    with pytest.raises(LabInvalid) as raised:
        load_lab(lab_dir)
    return [str(problem) for problem in raised.value.problems]


def labrunner(cwd: Path, *argv: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own, so that a hang fails the test instead of the suite."""
    environment = {**os.environ, "LABRUNNER_LABS_PATH": str(cwd / "labs")}
    return subprocess.run(
        [sys.executable, "-m", "labrunner", *argv],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout, check=False,
    )


@pytest.fixture
def demo(lab_tree: LabTree, in_tmp_cwd: Path) -> Path:
    """A valid lab ``demo``, the working directory its content root."""
    return lab_tree(VALID)


# -- aliases ----------------------------------------------------------------------


def test_the_bomb_text_is_what_it_says() -> None:
    assert BILLION_LAUGHS.count("\n") == 11
    assert BILLION_LAUGHS.splitlines()[5].index("*a3") + 1 == 10
    assert ALIAS_LIMIT == 10_000


@pytest.mark.parametrize("command", [("validate", "labs/demo"), ("show", "demo")])
def test_an_alias_bomb_is_refused_at_the_alias_crossing_the_bound(lab_tree: LabTree, tmp_path: Path, command: tuple[str, ...]) -> None:
    lab_tree(BILLION_LAUGHS)
    result = labrunner(tmp_path, *command, timeout=10)
    assert BOMB_AT in result.stdout + result.stderr
    assert result.returncode == 1
    assert "internal error" not in result.stderr


def test_an_alias_bomb_in_validate_json_has_its_line_and_column(lab_tree: LabTree, tmp_path: Path) -> None:
    lab_tree(BILLION_LAUGHS)
    result = labrunner(tmp_path, "validate", "--json", "labs/demo", timeout=10)
    [report] = json.loads(result.stdout)
    assert report["valid"] is False
    assert [(p["line"], p["column"]) for p in report["problems"]] == [(6, 10)]
    assert "alias bomb" in report["problems"][0]["message"]


def test_list_reports_an_alias_bomb_and_goes_on_with_the_other_labs(lab_tree: LabTree, tmp_path: Path) -> None:
    lab_tree(VALID)
    lab_tree(BILLION_LAUGHS.replace("id: demo", "id: bomb"), lab_id="bomb")
    result = labrunner(tmp_path, "list", "--json", timeout=10)
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert rows["demo"]["valid"] is True
    assert rows["bomb"]["valid"] is False
    assert rows["bomb"]["problems"][0]["line"] == 6
    assert "lab 'bomb' is invalid" in result.stderr


def test_a_merge_key_bomb_is_refused_before_the_data_is_built(lab_tree: LabTree, tmp_path: Path) -> None:
    lab_tree(MERGE_BOMB)
    result = labrunner(tmp_path, "validate", "labs/demo", timeout=10)
    # m_k holds 3 + 2 * |m_k-1| values: by the second *m9 of m10 (line 12), 12,216.
    assert result.stdout.startswith("labs/demo/lab.yaml:12:22: too many aliases expanded")


def test_an_alias_inside_its_own_anchor_is_named(lab_tree: LabTree, in_tmp_cwd: Path) -> None:
    assert problems(lab_tree("id: demo\nloop: &me {again: *me}\n")) == [
        "labs/demo/lab.yaml:2:19: the alias *me is inside the value it refers to (&me): it would never end"
    ]


def test_a_few_aliases_are_fine(lab_tree: LabTree) -> None:
    text = VALID.replace("    hints:\n      - Namespaces are cluster-scoped.\n", "    hints: &hints\n      - Namespaces are cluster-scoped.\n")
    text += "  - id: two\n    title: Two\n    instructions: steps/one.md\n    commands: [{run: kubectl get ns, explain: lists}]\n"
    text += "    hints: *hints\n    solution: [{run: kubectl get ns}]\n    checks: [{kind: cluster-reachable, says: it answers}]\n"
    lab = load_lab(lab_tree(text))
    assert lab.steps[1].hints == lab.steps[0].hints


def test_a_merge_key_overridden_is_no_duplicate_key(lab_tree: LabTree) -> None:
    text = VALID.replace(
        "      - run: kubectl create namespace {{namespace}}\n        explain: creates the namespace\n",
        "      - &create\n        run: kubectl create namespace {{namespace}}\n        explain: creates the namespace\n"
        "      - <<: *create\n        explain: creates it again\n",
    )
    lab = load_lab(lab_tree(text))
    assert [command.explain for command in lab.steps[0].commands] == ["creates the namespace", "creates it again"]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 990])
def test_deep_nesting_is_refused_at_the_first_collection_too_deep(lab_tree: LabTree, in_tmp_cwd: Path, depth: int) -> None:
    assert problems(lab_tree("id: demo\nparameters: " + "{a: " * depth + "1" + "}" * depth + "\n")) == [
        f"labs/demo/lab.yaml:2:{13 + 4 * (MAX_DEPTH - 1)}: nested more than {MAX_DEPTH} levels deep (a lab needs about ten)"
    ]


def test_nesting_up_to_the_bound_loads_as_far_as_the_schema_goes(lab_tree: LabTree) -> None:
    deep = "{a: " * (MAX_DEPTH - 1) + "1" + "}" * (MAX_DEPTH - 1)
    with pytest.raises(LabInvalid) as raised:  # not a RecursionError, even a hundred frames down
        _called_from_depth(100, lambda: load_lab(lab_tree(VALID.replace("level: beginner", f"level: {deep}"))))
    assert "steps" not in str(raised.value) and "level" in str(raised.value)


def _called_from_depth(frames: int, call: Callable[[], object]) -> object:
    return call() if frames == 0 else _called_from_depth(frames - 1, call)


def test_the_shipped_labs_load_within_the_bounds() -> None:
    labs = Path(__file__).resolve().parent.parent / "labs"
    for lab_file in labs.glob("*/lab.yaml"):
        assert load_lab(lab_file.parent).steps


# -- sizes --------------------------------------------------------------------------


def padded(text: str, size: int) -> str:
    """``text`` with a comment line making it ``size`` bytes long."""
    return text + "#" * (size - len(text.encode()) - 1) + "\n"


def test_a_lab_yaml_of_exactly_the_limit_loads(lab_tree: LabTree) -> None:
    lab_dir = lab_tree(padded(VALID, MAX_BYTES))
    assert (lab_dir / "lab.yaml").stat().st_size == MAX_BYTES
    assert load_lab(lab_dir).id == "demo"


def test_a_lab_yaml_over_the_limit_is_refused_with_its_size(lab_tree: LabTree, in_tmp_cwd: Path) -> None:
    assert problems(lab_tree(padded(VALID, MAX_BYTES + 1))) == [
        "labs/demo/lab.yaml: too large: 1,048,577 bytes, and a lab file may have at most 1,048,576 (1 MiB)"
    ]


def test_a_huge_lab_yaml_is_refused_without_being_read(demo: Path) -> None:
    os.truncate(demo / "lab.yaml", 64 << 30)  # sparse: reading it would take minutes and 64 GiB
    assert problems(demo) == [
        "labs/demo/lab.yaml: too large: 68,719,476,736 bytes, and a lab file may have at most 1,048,576 (1 MiB)"
    ]


def test_a_step_markdown_over_the_limit_is_named_where_lab_yaml_names_it(demo: Path) -> None:
    os.truncate(demo / "steps" / "one.md", MAX_BYTES + 1)
    assert problems(demo) == [
        INSTRUCTIONS_AT + "instructions file steps/one.md: too large: 1,048,577 bytes, and a lab file may have at most 1,048,576 (1 MiB)"
    ]


# -- files that are not files -------------------------------------------------------


def test_a_step_file_symlinked_to_itself(demo: Path) -> None:
    (demo / "steps" / "one.md").unlink()
    (demo / "steps" / "one.md").symlink_to("one.md")
    assert problems(demo) == [
        INSTRUCTIONS_AT + "instructions file steps/one.md: a symlink loop (it links back to itself, directly or through other links)"
    ]


def test_a_steps_folder_symlinked_to_itself(demo: Path) -> None:
    (demo / "steps" / "one.md").unlink()
    (demo / "steps").rmdir()
    (demo / "steps").symlink_to("steps")
    assert problems(demo) == [
        INSTRUCTIONS_AT + "instructions file steps/one.md: a symlink loop (it links back to itself, directly or through other links)"
    ]


def test_a_steps_folder_linked_to_the_lab_folder(demo: Path) -> None:
    (demo / "steps" / "one.md").rename(demo / "one.md")
    (demo / "steps").rmdir()
    (demo / "steps").symlink_to(".")
    assert load_lab(demo).steps[0].instructions_path.name == "one.md"
    code = main(["list"])
    assert code == 0


def test_an_asset_symlinked_to_itself(demo: Path, in_tmp_cwd: Path) -> None:
    policy = in_tmp_cwd / "assets" / "demo" / "policy.yaml"
    policy.unlink()
    policy.symlink_to("policy.yaml")
    assert problems(demo) == [
        "labs/demo/lab.yaml:23:16: steps[0].solution[1].apply: asset file 'assets/demo/policy.yaml': "
        "a symlink loop (it links back to itself, directly or through other links)"
    ]


def test_a_folder_where_the_step_file_should_be(demo: Path) -> None:
    (demo / "steps" / "one.md").unlink()
    (demo / "steps" / "one.md").mkdir()
    assert problems(demo) == [INSTRUCTIONS_AT + "instructions file steps/one.md: a folder, not a file"]


def test_a_named_pipe_as_step_file_does_not_hang(demo: Path, in_tmp_cwd: Path) -> None:
    (demo / "steps" / "one.md").unlink()
    os.mkfifo(demo / "steps" / "one.md")
    result = labrunner(in_tmp_cwd, "validate", "labs/demo", timeout=10)
    assert result.stdout == INSTRUCTIONS_AT + "instructions file steps/one.md: not a regular file (a device, a pipe or a socket)\n"


def test_an_unreadable_step_file(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Permissions cannot be tested with chmod when the suite runs as root, so the
    # refusal is simulated where the file is opened.
    real_open = os.open
    denied = str(demo / "steps" / "one.md")

    def open_denied(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if os.fspath(path) == denied:
            raise PermissionError(13, "Permission denied", denied)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", open_denied)
    assert problems(demo) == [INSTRUCTIONS_AT + "instructions file steps/one.md: permission denied"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_step_file_by_its_mode(demo: Path) -> None:
    (demo / "steps" / "one.md").chmod(0)
    assert problems(demo) == [INSTRUCTIONS_AT + "instructions file steps/one.md: permission denied"]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda lab_file: (lab_file.unlink(), lab_file.symlink_to("lab.yaml")),
         "a symlink loop (it links back to itself, directly or through other links)"),
        (lambda lab_file: (lab_file.unlink(), lab_file.mkdir()), "a folder, not a file"),
    ],
    ids=["symlink-loop", "folder"],
)
def test_a_lab_yaml_that_is_not_a_file_is_reported_by_validate_list_and_show(
    demo: Path, lab_tree: LabTree, in_tmp_cwd: Path, make: Callable[[Path], object], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lab_tree(VALID.replace("id: demo", "id: other"), lab_id="other")
    make(demo / "lab.yaml")
    os.environ["LABRUNNER_LABS_PATH"] = str(in_tmp_cwd / "labs")  # the autouse fixture restores it

    assert main(["validate", "labs/demo"]) == 1
    assert capsys.readouterr().out == f"labs/demo/lab.yaml: {reason}\n"
    assert main(["list", "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["other"]["valid"] and not rows["demo"]["valid"]
    assert main(["show", "demo"]) == 1
    assert f"labs/demo/lab.yaml: {reason}\n" in capsys.readouterr().err


# -- binary and non-UTF-8 text -------------------------------------------------------


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (PNG, "labs/demo/lab.yaml:1:1: not UTF-8 text: byte 0x89 (invalid start byte); save it as UTF-8 (is it a binary file?)"),
        (VALID.replace("A lab for tests.", "Caf\u00e9 lab.").encode("latin-1"),
         "labs/demo/lab.yaml:3:13: not UTF-8 text: byte 0xe9 (invalid continuation byte); save it as UTF-8 (is it a binary file?)"),
        (VALID.encode("utf-16"), "labs/demo/lab.yaml:1:1: not UTF-8 text: it starts with a UTF-16 byte-order mark; save it as UTF-8"),
        (VALID.encode("utf-16-le"), "labs/demo/lab.yaml:1:2: not UTF-8 text: byte 0x00 (a NUL: UTF-16 or a binary file?); save it as UTF-8"),
        (VALID.replace("title: Demo lab", "title: Demo\x01lab").encode(),
         "labs/demo/lab.yaml:2:12: control character U+0001 is not allowed in YAML (is this a binary file?)"),
        (VALID.replace("minutes: 10", "minutes: 10\x7f").encode(),
         "labs/demo/lab.yaml:4:12: control character U+007F is not allowed in YAML (is this a binary file?)"),
    ],
    ids=["png", "latin-1", "utf-16-bom", "utf-16-no-bom", "control-character", "delete"],
)
def test_a_lab_yaml_that_is_not_utf8_text_names_the_first_bad_byte(demo: Path, content: bytes, expected: str) -> None:
    (demo / "lab.yaml").write_bytes(content)
    assert problems(demo) == [expected]


def test_a_step_markdown_that_is_not_utf8_names_its_own_line_and_column(demo: Path) -> None:
    (demo / "steps" / "one.md").write_bytes(b"# One\n\nCaf\xe9 {{namespace}}.\n")
    assert problems(demo) == [
        "labs/demo/steps/one.md:3:4: not UTF-8 text: byte 0xe9 (invalid continuation byte); save it as UTF-8 (is it a binary file?)"
    ]


def test_validate_text_and_json_and_show_report_a_binary_lab_yaml(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (demo / "lab.yaml").write_bytes(PNG)
    os.environ["LABRUNNER_LABS_PATH"] = str(demo.parent)
    assert main(["validate", "labs/demo"]) == 1
    assert capsys.readouterr().out.startswith("labs/demo/lab.yaml:1:1: not UTF-8 text: byte 0x89")
    assert main(["validate", "--json", "labs/demo"]) == 1
    [problem] = json.loads(capsys.readouterr().out)[0]["problems"]
    assert (problem["line"], problem["column"]) == (1, 1)
    assert main(["show", "demo"]) == 1
    assert "labs/demo/lab.yaml:1:1: not UTF-8 text" in capsys.readouterr().err


def test_show_a_step_whose_markdown_broke_after_loading(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from labrunner.cli.render import step_markdown

    lab = load_lab(demo)
    (demo / "steps" / "one.md").write_bytes(b"\xff")
    with pytest.raises(LabInvalid) as raised:
        step_markdown(lab, lab.steps[0], with_solution=False)
    assert str(raised.value).startswith("labs/demo/lab.yaml:13:5: steps[0].instructions: one.md: not UTF-8 text: byte 0xff")


@pytest.mark.parametrize(("tagged", "expected"), [("!!int ten", "'ten' is not a valid !!int"), ("!!timestamp soon", "'soon' is not a valid !!timestamp"), ("!!bool maybe", "'maybe' is not a valid !!bool"), ("!!int", "'' is not a valid !!int")])
def test_an_explicit_tag_that_does_not_fit_its_value(lab_tree: LabTree, in_tmp_cwd: Path, tagged: str, expected: str) -> None:
    assert problems(lab_tree(VALID.replace("minutes: 10", f"minutes: {tagged}"))) == [f"labs/demo/lab.yaml:4:10: YAML syntax error: {expected}"]


# -- anything at all ------------------------------------------------------------------


YAML_PIECES = st.sampled_from(
    ["id: demo\n", "steps:\n", "  - ", "&a ", "*a", "<<: ", "[", "]", "{", "}", ": ", ", ", "- ", "\n", "  ",
     "!!binary ", "!!int ", "!!timestamp ", "!!python/object ", "? ", "'", '"', "#", "---\n", "{{namespace}}", "\t", "\x00", "\ufeff", "\u2028"]
)
LAB_TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(YAML_PIECES, max_size=40).map("".join),
    st.builds(lambda at, insert: VALID[:at] + insert + VALID[at:], st.integers(0, len(VALID)), st.text(max_size=8)),
    st.builds(lambda at, cut: VALID[:at] + VALID[at + cut:], st.integers(0, len(VALID)), st.integers(1, 40)),
)


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(content=st.one_of(LAB_TEXT.map(lambda text: text.encode("utf-8", "surrogatepass")), st.binary(max_size=200)))
def test_any_lab_yaml_is_a_lab_or_lab_invalid(lab_tree: LabTree, content: bytes) -> None:
    lab_dir = lab_tree(VALID)
    (lab_dir / "lab.yaml").write_bytes(content)
    try:
        load_lab(lab_dir)
    except LabInvalid as invalid:
        assert invalid.problems
        assert all(problem.line >= 0 and problem.column >= 0 for problem in invalid.problems)
