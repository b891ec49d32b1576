"""Broken lab files: each problem names the exact file, line, column and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from labrunner.lab.loader import load_lab
from labrunner.lab.problems import LabInvalid

VALID = """\
id: demo
title: Demo lab
summary: A lab for tests.
minutes: 10
level: beginner
tags: [services-networking]
parameters:
  namespace:
    default: demo
    kind: namespace
    description: where the lab works
steps:
  - id: one
    title: Create the namespace
    instructions: steps/one.md
    commands:
      - run: kubectl create namespace {{namespace}}
        explain: creates the namespace
    hints:
      - Namespaces are cluster-scoped.
    solution:
      - run: kubectl create namespace {{namespace}}
      - apply: assets/demo/policy.yaml
    checks:
      - kind: namespace-active
        says: the namespace {{namespace}} is Active
        name: "{{namespace}}"
"""

SECOND_STEP = """\
  - id: two
    title: Second
    instructions: steps/one.md
    commands: [{run: kubectl get pods, explain: lists pods}]
    hints: [Look.]
    solution: [{run: kubectl get pods}]
    checks: [{kind: cluster-reachable, says: the cluster answers}]
"""


def problems_of(lab_dir: Path) -> list[str]:
    with pytest.raises(LabInvalid) as raised:
        load_lab(lab_dir)
    return [str(problem) for problem in raised.value.problems]


def edit(old: str, new: str, text: str = VALID) -> str:
    assert old in text, f"test setup: {old!r} not in the lab text"
    return text.replace(old, new, 1)


@pytest.fixture
def broken(lab_tree: Callable[..., Path], in_tmp_cwd: Path) -> Callable[..., list[str]]:
    def run(text: str, files: dict[str, str] | None = None) -> list[str]:
        return problems_of(lab_tree(text, files))

    return run


def test_the_valid_lab_loads(lab_tree: Callable[..., Path]) -> None:
    lab = load_lab(lab_tree(VALID))
    assert lab.steps[0].checks[0].args["name"] == "demo"


def test_unknown_check_kind_suggests_the_closest(broken: Callable[..., list[str]]) -> None:
    assert broken(edit("kind: namespace-active", "kind: namespace-activ")) == [
        "labs/demo/lab.yaml:25:15: steps[0].checks[0].kind: unknown check kind 'namespace-activ' (did you mean 'namespace-active'?)"
    ]


def test_check_kind_that_resembles_nothing_lists_the_vocabulary(broken: Callable[..., list[str]]) -> None:
    [problem] = broken(edit("kind: namespace-active", "kind: frobnicate"))
    assert problem.startswith("labs/demo/lab.yaml:25:15: steps[0].checks[0].kind: unknown check kind 'frobnicate'; known kinds: ")
    assert "deployment-ready" in problem and "policy-meaning" in problem


def test_misspelt_step_field_points_at_the_key(broken: Callable[..., list[str]]) -> None:
    problems = broken(edit("    hints:\n", "    hint:\n"))
    assert "labs/demo/lab.yaml:19:5: steps[0].hint: unknown field 'hint' (did you mean 'hints'?)" in problems
    assert "labs/demo/lab.yaml:13:5: steps[0].hints: missing required field 'hints'" in problems


def test_unknown_check_argument_lists_what_is_allowed(broken: Callable[..., list[str]]) -> None:
    [problem] = broken(edit('        name: "{{namespace}}"\n', '        name: "{{namespace}}"\n        replicas: 1\n'))
    assert problem == (
        "labs/demo/lab.yaml:28:9: steps[0].checks[0].replicas: unknown field 'replicas'; "
        "allowed here: says, id, advisory, kind, name"
    )


def test_misspelt_check_argument_suggests_the_closest(broken: Callable[..., list[str]]) -> None:
    assert broken(edit('        name: "{{namespace}}"\n', '        nme: "{{namespace}}"\n')) == [
        "labs/demo/lab.yaml:25:9: steps[0].checks[0].name: missing required field 'name'",
        "labs/demo/lab.yaml:27:9: steps[0].checks[0].nme: unknown field 'nme' (did you mean 'name'?)",
    ]


def test_yaml_syntax_error_has_its_line(broken: Callable[..., list[str]]) -> None:
    [problem] = broken(edit("  - id: one\n    title:", "  - id: one\n   title:"))
    assert problem.startswith("labs/demo/lab.yaml:14:")
    assert "YAML syntax error" in problem


def test_a_tab_in_the_indentation_is_named(broken: Callable[..., list[str]]) -> None:
    [problem] = broken(edit("    title: Create the namespace", "\ttitle: Create the namespace"))
    assert problem.startswith("labs/demo/lab.yaml:14:1: YAML syntax error: ")
    assert problem.endswith(" (YAML indents with spaces only, and this line has a tab)")


def test_missing_required_field_points_at_its_parent(broken: Callable[..., list[str]]) -> None:
    assert broken(edit("    title: Create the namespace\n", "")) == [
        "labs/demo/lab.yaml:13:5: steps[0].title: missing required field 'title'"
    ]


def test_unquoted_no_is_explained_as_yaml_11(broken: Callable[..., list[str]]) -> None:
    assert broken(edit("explain: creates the namespace", "explain: no")) == [
        'labs/demo/lab.yaml:18:18: steps[0].commands[0].explain: expected a string, got the boolean false '
        '(YAML reads the unquoted word no as a boolean; write it in quotes: "no")'
    ]


def test_unquoted_on_as_a_title(broken: Callable[..., list[str]]) -> None:
    assert broken(edit("title: Demo lab", "title: on")) == [
        'labs/demo/lab.yaml:2:8: title: expected a string, got the boolean true '
        '(YAML reads the unquoted word on as a boolean; write it in quotes: "on")'
    ]


def test_sexagesimal_number_where_text_is_meant(broken: Callable[..., list[str]]) -> None:
    assert broken(edit("says: the namespace {{namespace}} is Active", "says: 1:30")) == [
        'labs/demo/lab.yaml:26:15: steps[0].checks[0].says: expected a string, got the number 90 '
        '(YAML reads the unquoted 1:30 as the number 90; write it in quotes: "1:30")'
    ]


def test_duplicate_step_ids(broken: Callable[..., list[str]]) -> None:
    text = VALID + SECOND_STEP.replace("id: two", "id: one")
    assert broken(text) == ["labs/demo/lab.yaml:28:9: steps[1].id: duplicate step id 'one' (also step 0)"]


def test_missing_markdown_file_names_the_referencing_line(broken: Callable[..., list[str]]) -> None:
    [problem] = broken(edit("instructions: steps/one.md", "instructions: steps/won.md"))
    assert problem.startswith(
        "labs/demo/lab.yaml:15:19: steps[0].instructions: instructions file steps/won.md does not exist"
    )


def test_missing_asset_in_a_solution(broken: Callable[..., list[str]]) -> None:
    [problem] = broken(edit("apply: assets/demo/policy.yaml", "apply: assets/demo/polcy.yaml"))
    assert problem.startswith(
        "labs/demo/lab.yaml:23:16: steps[0].solution[1].apply: asset file 'assets/demo/polcy.yaml' does not exist"
    )


def test_missing_asset_in_a_check_reference(broken: Callable[..., list[str]]) -> None:
    text = VALID + (
        "      - kind: policy-meaning\n"
        "        says: same meaning\n"
        '        namespace: "{{namespace}}"\n'
        "        reference: [assets/demo/policy.yaml, assets/demo/gone.yaml]\n"
    )
    [problem] = broken(text)
    assert problem.startswith(
        "labs/demo/lab.yaml:31:46: steps[0].checks[1].reference[1]: asset file 'assets/demo/gone.yaml' does not exist"
    )


def test_asset_path_may_not_leave_assets(broken: Callable[..., list[str]]) -> None:
    assert broken(edit("apply: assets/demo/policy.yaml", "apply: assets/../labs/demo/lab.yaml")) == [
        "labs/demo/lab.yaml:23:16: steps[0].solution[1].apply: 'assets/../labs/demo/lab.yaml' leaves the assets/ folder"
    ]


def test_unknown_placeholder_in_lab_yaml(broken: Callable[..., list[str]]) -> None:
    assert broken(edit("run: kubectl create namespace {{namespace}}", "run: kubectl create namespace {{namespaec}}")) == [
        "labs/demo/lab.yaml:17:14: steps[0].commands[0].run: unknown placeholder {{namespaec}}; "
        "declare it under 'parameters' or use one of: assets, namespace (did you mean 'namespace'?)"
    ]


def test_unknown_placeholder_in_markdown_names_the_markdown_line(broken: Callable[..., list[str]]) -> None:
    markdown = "# One\n\nRun this:\n\n    kubectl get pods -n {{ns}}\n"
    assert broken(VALID, {"labs/demo/steps/one.md": markdown}) == [
        "labs/demo/steps/one.md:5:25: unknown placeholder {{ns}}; this lab defines: assets, namespace"
    ]


def test_duplicate_yaml_key(broken: Callable[..., list[str]]) -> None:
    assert broken(edit("minutes: 10\n", "minutes: 10\nminutes: 20\n")) == [
        "labs/demo/lab.yaml:5:1: minutes: duplicate key 'minutes' (first at line 4); YAML would silently keep only the last"
    ]


def test_too_many_hints(broken: Callable[..., list[str]]) -> None:
    text = edit("      - Namespaces are cluster-scoped.\n", "      - a\n      - b\n      - c\n      - d\n")
    assert broken(text) == ["labs/demo/lab.yaml:20:7: steps[0].hints: allows at most 3 items, has 4"]


def test_a_step_needs_a_check(broken: Callable[..., list[str]]) -> None:
    text = VALID[: VALID.index("    checks:")] + "    checks: []\n"
    assert broken(text) == ["labs/demo/lab.yaml:24:13: steps[0].checks: needs at least 1 item, has 0"]


def test_number_given_as_text(broken: Callable[..., list[str]]) -> None:
    assert broken(edit("minutes: 10", 'minutes: "10"')) == [
        "labs/demo/lab.yaml:4:10: minutes: expected a whole number, got the text '10'"
    ]


def test_level_outside_the_vocabulary(broken: Callable[..., list[str]]) -> None:
    assert broken(edit("level: beginner", "level: beginer")) == [
        "labs/demo/lab.yaml:5:8: level: 'beginer' is not allowed; expected one of beginner, intermediate, advanced "
        "(did you mean 'beginner'?)"
    ]


def test_lab_id_must_match_its_folder(broken: Callable[..., list[str]]) -> None:
    assert broken(edit("id: demo", "id: other-lab")) == [
        "labs/demo/lab.yaml:1:5: id: the lab id 'other-lab' must match its folder name 'demo'"
    ]


def test_solution_action_without_run_or_apply(broken: Callable[..., list[str]]) -> None:
    assert broken(edit("      - apply: assets/demo/policy.yaml", "      - aply: assets/demo/policy.yaml")) == [
        "labs/demo/lab.yaml:23:9: steps[0].solution[1]: a solution action needs 'run' (a command) or 'apply' (a manifest)"
    ]


def test_namespace_parameter_must_be_a_dns_label(broken: Callable[..., list[str]]) -> None:
    problems = broken(edit("default: demo", "default: Demo_NS"))
    assert problems[0] == (
        "labs/demo/lab.yaml:9:14: parameters.namespace.default: 'Demo_NS' is not a valid namespace name "
        "(lowercase letters, digits and '-', at most 63)"
    )


def test_probe_body_expectations_need_a_reachable_page(broken: Callable[..., list[str]]) -> None:
    text = VALID + (
        "      - kind: probe-http\n"
        "        says: the page times out\n"
        '        namespace: "{{namespace}}"\n'
        "        from_labels: {run: demopod}\n"
        "        url: http://web/\n"
        "        expect: timeout\n"
        "        contains: [rows]\n"
    )
    assert broken(text) == [
        "labs/demo/lab.yaml:28:9: steps[0].checks[1]: 'contains' and 'lists_rows_of' describe a page, so they need expect: reachable"
    ]


def test_check_without_a_kind(broken: Callable[..., list[str]]) -> None:
    [problem] = broken(edit("      - kind: namespace-active\n", "      - says2: x\n"))
    assert problem.startswith("labs/demo/lab.yaml:25:9: steps[0].checks[0]: missing 'kind': every check names its kind, one of ")


def test_namespace_as_a_number_explains_both_accepted_forms(broken: Callable[..., list[str]]) -> None:
    text = VALID + (
        "      - kind: deployment-ready\n"
        "        says: web is ready\n"
        "        namespace: 5\n"
        "        name: web\n"
    )
    assert broken(text) == [
        'labs/demo/lab.yaml:30:20: steps[0].checks[1].namespace: expected a string or a list '
        '(YAML reads the unquoted 5 as the number 5; write it in quotes: "5")'
    ]


def test_every_problem_is_reported_at_once_in_file_order(broken: Callable[..., list[str]]) -> None:
    text = edit("level: beginner", "level: expert", edit("minutes: 10", "minutes: 0"))
    text = edit("kind: namespace-active", "kind: namespace-activ", text)
    problems = broken(text)
    assert [problem.split(":")[1] for problem in problems] == ["4", "5", "25"]


def test_empty_file(broken: Callable[..., list[str]]) -> None:
    assert broken("") == [
        "labs/demo/lab.yaml:1:1: expected a mapping with id, title, steps, ... (see docs/lab-format.md)"
    ]


def test_missing_lab_yaml(tmp_path: Path, in_tmp_cwd: Path) -> None:
    (tmp_path / "labs" / "ghost").mkdir(parents=True)
    assert problems_of(tmp_path / "labs" / "ghost") == ["labs/ghost/lab.yaml: no such file"]
