"""An exam task is a one-step lab with an ``exam:`` section; its mistakes are said with file,
line and field like any lab's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from labrunner.exam.bank import load_task
from labrunner.lab.problems import LabInvalid

TASK = """\
id: demo
title: Demo task
summary: A task for tests.
minutes: 5
level: beginner
tags: [services-networking]
parameters:
  namespace: {default: demo, kind: namespace, description: the task's namespace}
  port: {default: "8080", kind: number, description: the port}
exam:
  runtime: sandbox
  draw:
    namespace: {pattern: "{word}-{hex4}"}
    port: {choices: ["8080", "9090"]}
  subtasks:
    - id: exposed
      title: the Service listens on {{port}}
      points: 4
      why: clients use that port
      checks: [svc]
steps:
  - id: task
    title: Expose it
    instructions: steps/one.md
    commands: [{run: kubectl get svc, explain: lists them}]
    hints: [Use kubectl expose.]
    solution: [{run: kubectl expose deployment web --port 8080}]
    checks:
      - id: svc
        kind: service-exposes
        says: the Service web listens on {{port}}
        namespace: "{{namespace}}"
        name: web
        port: "{{port}}"
"""


def problems(lab_tree: Callable[..., Path], text: str) -> list[str]:
    with pytest.raises(LabInvalid) as invalid:
        load_task(lab_tree(text))
    return [f"{p.line}: {p.field}: {p.message}" for p in invalid.value.problems]


def test_a_task_loads_with_its_sub_tasks_and_a_number_parameter_reaches_a_check_as_a_number(lab_tree: Callable[..., Path]) -> None:
    task = load_task(lab_tree(TASK), {"namespace": "amber-12ab", "port": "9090"})
    assert task.exam is not None and task.exam.points == 4 and task.exam.subtasks[0].title == "the Service listens on 9090"
    assert task.steps[0].checks[0].args["port"] == 9090 and task.steps[0].checks[0].args["namespace"] == "amber-12ab"


def test_a_task_of_two_steps_is_refused(lab_tree: Callable[..., Path]) -> None:
    step = TASK[TASK.index("  - id: task"):]
    said = problems(lab_tree, TASK + step.replace("id: task", "id: again").replace("id: svc", "id: svc2"))
    assert any("steps: an exam task has exactly one step (its sub-tasks score its checks); this one has 2" in p for p in said)


def test_every_check_is_scored_once_and_sub_tasks_name_real_checks(lab_tree: Callable[..., Path]) -> None:
    said = problems(lab_tree, TASK.replace("checks: [svc]", "checks: [svcc]"))
    assert "20: exam.subtasks[0].checks[0]: the step has no check 'svcc'; its checks are: svc (did you mean 'svc'?)" in said
    assert any("no sub-task scores the step's check 'svc'" in p for p in said)


def test_draws_must_name_parameters_and_draw_valid_names(lab_tree: Callable[..., Path]) -> None:
    said = problems(lab_tree, TASK.replace('namespace: {pattern: "{word}-{hex4}"}', 'namespace: {pattern: "{word}_{hex4}"}')
                    .replace('port: {choices: ["8080", "9090"]}', 'prot: {choices: ["8080", "9090"]}'))
    assert any(p.startswith("13: exam.draw.namespace: draws ") and "not a valid namespace name" in p for p in said)
    assert any(p.startswith("14: exam.draw.prot: there is no parameter 'prot' to draw (did you mean 'port'?)") for p in said)


def test_a_number_parameter_must_be_digits(lab_tree: Callable[..., Path]) -> None:
    said = problems(lab_tree, TASK.replace('port: {default: "8080"', 'port: {default: "http"'))
    assert "9: parameters.port.default: 'http' is not a number (digits only, quoted: \"8080\")" in said


def test_a_lab_without_an_exam_section_is_not_a_task(lab_tree: Callable[..., Path]) -> None:
    text = TASK[: TASK.index("exam:")] + TASK[TASK.index("steps:"):]
    said = problems(lab_tree, text.replace('"{{port}}"', "8080").replace("{{port}}", "8080"))
    assert said == ["1: exam: an exam task needs an 'exam:' section (runtime, sub-tasks with points); this is a lab"]


def test_placeholders_in_mapping_keys_are_filled_and_an_unknown_one_is_said(lab_tree: Callable[..., Path]) -> None:
    keyed = TASK.replace('  port: {default: "8080", kind: number, description: the port}',
                         '  port: {default: "8080", kind: number, description: the port}\n  label: {default: team, description: a label key}')
    keyed = keyed.replace("        port: \"{{port}}\"\n", "        port: \"{{port}}\"\n      - id: labelled\n        kind: namespace-labels\n"
                          "        says: the namespace is labelled\n        name: \"{{namespace}}\"\n        present: {\"{{label}}\": \"yes\"}\n")
    keyed = keyed.replace("checks: [svc]", "checks: [svc, labelled]")
    task = load_task(lab_tree(keyed), {"label": "tier"})
    assert task.steps[0].checks[1].args["present"] == {"tier": "yes"}
    said = problems(lab_tree, keyed.replace('{"{{label}}": "yes"}', '{"{{lable}}": "yes"}'))
    assert any("unknown placeholder {{lable}}" in p and "(did you mean 'label'?)" in p for p in said)
