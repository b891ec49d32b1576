"""The progress store: the current step, results per context, and durability."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from labrunner.session.progress import Progress

STEPS = ["preflight", "create-namespace", "deploy-mysql", "expose-mysql"]


def test_the_current_step_is_the_first_that_has_not_passed(tmp_path: Path) -> None:
    progress = Progress(tmp_path / "p.sqlite3")
    assert progress.current_step("lab", "kind-a", STEPS) == "preflight"
    progress.record("lab", "kind-a", "preflight", "passed", [])
    progress.record("lab", "kind-a", "create-namespace", "failed", [{"id": "ns", "status": "failed"}])
    assert progress.current_step("lab", "kind-a", STEPS) == "create-namespace"
    progress.record("lab", "kind-a", "create-namespace", "passed", [])
    assert progress.current_step("lab", "kind-a", STEPS) == "deploy-mysql"
    for step in STEPS:
        progress.record("lab", "kind-a", step, "passed", [])
    assert progress.current_step("lab", "kind-a", STEPS) == "expose-mysql"


def test_a_jump_holds_even_to_a_step_that_passed_until_the_learner_moves(tmp_path: Path) -> None:
    progress = Progress(tmp_path / "p.sqlite3")
    progress.move_to("lab", "ctx", "expose-mysql")
    assert progress.current_step("lab", "ctx", STEPS) == "expose-mysql"
    progress.record("lab", "ctx", "preflight", "passed", [])
    progress.move_to("lab", "ctx", "preflight")  # back, to redo a step that passed
    assert progress.current_step("lab", "ctx", STEPS) == "preflight"
    progress.forget("lab", "ctx")
    assert progress.current_step("lab", "ctx", STEPS) == "preflight"
    progress.record("lab", "ctx", "preflight", "passed", [])
    assert progress.current_step("lab", "ctx", STEPS) == "create-namespace"


def test_progress_is_kept_apart_per_lab_and_context_and_can_be_forgotten(tmp_path: Path) -> None:
    progress = Progress(tmp_path / "p.sqlite3")
    progress.record("lab", "kind-a", "preflight", "passed", [{"id": "x", "status": "passed", "message": "ok"}])
    assert progress.results("lab", "kind-b") == {}
    assert progress.results("other", "kind-a") == {}
    again = Progress(tmp_path / "p.sqlite3")
    assert again.results("lab", "kind-a")["preflight"].checks[0]["message"] == "ok"
    progress.forget("lab", "kind-a", ["preflight"])
    assert again.results("lab", "kind-a") == {}


def test_a_writer_killed_mid_stream_loses_nothing_it_committed(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import itertools, sys
        from pathlib import Path
        from labrunner.session.progress import Progress
        progress = Progress(Path({str(path)!r}))
        for n in itertools.count():
            progress.record("lab", "ctx", f"step-{{n}}", "passed", [{{"id": "c", "status": "passed", "message": "x" * 2000}}])
            print(n, flush=True)
        """)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    reported = [int(writer.stdout.readline()) for _ in range(200)]
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    results = Progress(path).results("lab", "ctx")
    assert {f"step-{n}" for n in reported} <= set(results)
    assert all(record.checks[0]["message"] == "x" * 2000 for record in results.values())


def test_writers_opening_a_fresh_store_at_once_keep_every_result(tmp_path: Path) -> None:
    # Opening a new file races on the switch to WAL; all six must still write.
    path = tmp_path / "p.sqlite3"
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from labrunner.session.progress import Progress
        progress = Progress(Path(sys.argv[1]))
        for n in range(60):
            progress.record("lab", sys.argv[2], f"step-{n}", "passed", [])
        """)
    contexts = ("tui", "cli", "grader", "ci", "exam", "workshop")
    writers = [subprocess.Popen([sys.executable, "-c", script, str(path), context], stderr=subprocess.PIPE, text=True)
               for context in contexts]
    failures = [writer.communicate(timeout=120)[1] for writer in writers]
    assert [writer.returncode for writer in writers] == [0] * len(contexts), failures
    progress = Progress(path)
    assert [len(progress.results("lab", context)) for context in contexts] == [60] * len(contexts)
