"""The review of a submitted attempt, as Markdown for both faces: the score and the domains,
then every task with its sub-tasks (what was found, and why a missed one matters), the time
spent on it and its reference solution with the attempt's names."""

from __future__ import annotations

from collections.abc import Callable

from labrunner.exam.attempts import Attempt, TaskEntry
from labrunner.lab.domains import BY_ID


def _minutes(seconds: float) -> str:
    return f"{round(seconds / 60)} min" if seconds >= 60 else f"{round(seconds)} s"


def review_markdown(attempt: Attempt, solution_of: Callable[[TaskEntry], list[str]]) -> str:
    document = attempt.result
    assert document is not None
    verdict = "passed" if document["passed"] else "not passed"
    lines = [f"# Review of attempt {attempt.attempt}", "",
             f"**{document['score']} of {document['max']} points, {document['percent']} %: {verdict}** (66 % passes)"
             + (" · practice: a solution was revealed" if attempt.revealed else ""), ""]
    if document.get("deadline_passed"):
        lines += ["Submitted after the deadline: the exam would have graded the cluster as it was at the deadline.", ""]
    lines += [f"- {BY_ID[d].title}: {f['score']}/{f['max']} ({f['percent']} %)" for d, f in document["domains"].items()]
    spent = sum(entry.seconds for entry in attempt.tasks)
    if spent:
        lines += ["", "Time per task (with the task open in the app): "
                  + ", ".join(f"{entry.number}: {_minutes(entry.seconds)}" for entry in attempt.tasks)]
    lines.append("")
    entries = {entry.number: entry for entry in attempt.tasks}
    for task in document["tasks"]:
        entry = entries[task["number"]]
        spent_here = f" · {_minutes(entry.seconds)} spent" if entry.seconds else ""
        revealed = " · solution revealed" if task["revealed"] else ""
        lines += [f"## Task {task['number']}: {task['id']} · {task['points']}/{task['max']} points{spent_here}{revealed}", ""]
        for subtask in task["subtasks"]:
            mark = "✓" if subtask["passed"] else "✗"
            lines.append(f"- {mark} **{subtask['title']}** ({subtask['points']} points)")
            lines.append(f"  - found: {subtask['found']}")
            if not subtask["passed"]:
                lines.append(f"  - why it matters: {subtask['why']}")
        if entry.notes.strip():
            lines += ["", f"Your notes: {entry.notes.strip()}"]
        lines += ["", "Reference solution:", "", "```sh", *solution_of(entry), "```", ""]
    return "\n".join(lines)
