"""The progress store: the current step, results per context, and durability."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from labrunner.session.progress import FanOut, Progress
from labrunner.session.progress import ProgressKey as K

STEPS = ["preflight", "create-namespace", "deploy-mysql", "expose-mysql"]


def test_the_current_step_is_the_first_that_has_not_passed(tmp_path: Path) -> None:
    progress = Progress(tmp_path / "p.sqlite3")
    assert progress.current_step(K("lab", "kind-a"), STEPS) == "preflight"
    progress.record(K("lab", "kind-a"), "preflight", "passed", [])
    progress.record(K("lab", "kind-a"), "create-namespace", "failed", [{"id": "ns", "status": "failed"}])
    assert progress.current_step(K("lab", "kind-a"), STEPS) == "create-namespace"
    progress.record(K("lab", "kind-a"), "create-namespace", "passed", [])
    assert progress.current_step(K("lab", "kind-a"), STEPS) == "deploy-mysql"
    for step in STEPS:
        progress.record(K("lab", "kind-a"), step, "passed", [])
    assert progress.current_step(K("lab", "kind-a"), STEPS) == "expose-mysql"


def test_a_jump_holds_even_to_a_step_that_passed_until_the_learner_moves(tmp_path: Path) -> None:
    progress = Progress(tmp_path / "p.sqlite3")
    progress.move_to(K("lab", "ctx"), "expose-mysql")
    assert progress.current_step(K("lab", "ctx"), STEPS) == "expose-mysql"
    progress.record(K("lab", "ctx"), "preflight", "passed", [])
    progress.move_to(K("lab", "ctx"), "preflight")  # back, to redo a step that passed
    assert progress.current_step(K("lab", "ctx"), STEPS) == "preflight"
    progress.forget(K("lab", "ctx"))
    assert progress.current_step(K("lab", "ctx"), STEPS) == "preflight"
    progress.record(K("lab", "ctx"), "preflight", "passed", [])
    assert progress.current_step(K("lab", "ctx"), STEPS) == "create-namespace"


def test_progress_is_kept_apart_per_lab_and_context_and_can_be_forgotten(tmp_path: Path) -> None:
    progress = Progress(tmp_path / "p.sqlite3")
    progress.record(K("lab", "kind-a"), "preflight", "passed", [{"id": "x", "status": "passed", "message": "ok"}])
    assert progress.results(K("lab", "kind-b")) == {}
    assert progress.results(K("other", "kind-a")) == {}
    again = Progress(tmp_path / "p.sqlite3")
    assert again.results(K("lab", "kind-a"))["preflight"].checks[0]["message"] == "ok"
    progress.forget(K("lab", "kind-a"), ["preflight"])
    assert again.results(K("lab", "kind-a")) == {}


def test_a_writer_killed_mid_stream_loses_nothing_it_committed(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import itertools, sys
        from pathlib import Path
        from labrunner.session.progress import Progress, ProgressKey as K
        progress = Progress(Path({str(path)!r}))
        for n in itertools.count():
            progress.record(K("lab", "ctx"), f"step-{{n}}", "passed", [{{"id": "c", "status": "passed", "message": "x" * 2000}}])
            print(n, flush=True)
        """)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    reported = [int(writer.stdout.readline()) for _ in range(200)]
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    results = Progress(path).results(K("lab", "ctx"))
    assert {f"step-{n}" for n in reported} <= set(results)
    assert all(record.checks[0]["message"] == "x" * 2000 for record in results.values())


def test_writers_opening_a_fresh_store_at_once_keep_every_result(tmp_path: Path) -> None:
    # Opening a new file races on the switch to WAL; all six must still write.
    path = tmp_path / "p.sqlite3"
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from labrunner.session.progress import Progress, ProgressKey as K
        progress = Progress(Path(sys.argv[1]))
        for n in range(60):
            progress.record(K("lab", sys.argv[2]), f"step-{n}", "passed", [])
        """)
    contexts = ("tui", "cli", "grader", "ci", "exam", "workshop")
    writers = [subprocess.Popen([sys.executable, "-c", script, str(path), context], stderr=subprocess.PIPE, text=True)
               for context in contexts]
    failures = [writer.communicate(timeout=120)[1] for writer in writers]
    assert [writer.returncode for writer in writers] == [0] * len(contexts), failures
    progress = Progress(path)
    assert [len(progress.results(K("lab", context))) for context in contexts] == [60] * len(contexts)


def test_learners_and_attempts_keep_progress_of_their_own(tmp_path: Path) -> None:
    progress = Progress(tmp_path / "p.sqlite3")
    alice, bob, exam = K("lab", "ctx", learner="alice"), K("lab", "ctx", learner="bob"), K("lab", "ctx", attempt="exam-1")
    progress.record(alice, "preflight", "passed", [])
    progress.move_to(bob, "deploy-mysql")
    progress.show_hints(exam, "preflight", 2)
    assert set(progress.results(alice)) == {"preflight"} and progress.results(bob) == {} == progress.results(K("lab", "ctx"))
    assert progress.current_step(alice, STEPS) == "create-namespace" and progress.current_step(bob, STEPS) == "deploy-mysql"
    assert progress.hints_shown(exam, "preflight") == 2 and progress.hints_shown(alice, "preflight") == 0
    progress.forget(alice)
    assert progress.results(alice) == {} and progress.current_step(bob, STEPS) == "deploy-mysql"


def test_the_version_moves_when_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    progress = Progress(path)
    before = progress.version()
    assert progress.version() == before  # reading changes nothing
    subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                    "from labrunner.session.progress import Progress, ProgressKey; "
                    "Progress(Path(sys.argv[1])).record(ProgressKey('lab', 'ctx'), 'preflight', 'passed', [])", str(path)],
                   check=True)
    after = progress.version()
    assert after != before and set(progress.results(K("lab", "ctx"))) == {"preflight"}
    progress.move_to(K("lab", "ctx"), "deploy-mysql")  # our own writes do not: a face re-reads only what came from elsewhere
    assert progress.version() == after


def test_a_store_from_before_learners_existed_is_kept_as_the_local_practice(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "p.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE results (lab TEXT NOT NULL, context TEXT NOT NULL, step TEXT NOT NULL, status TEXT NOT NULL,
                              checked_at REAL NOT NULL, checks TEXT NOT NULL, PRIMARY KEY (lab, context, step));
        CREATE TABLE position (lab TEXT NOT NULL, context TEXT NOT NULL, step TEXT NOT NULL, PRIMARY KEY (lab, context));
        CREATE TABLE hints (lab TEXT NOT NULL, context TEXT NOT NULL, step TEXT NOT NULL, shown INTEGER NOT NULL,
                            PRIMARY KEY (lab, context, step));
        INSERT INTO results VALUES ('lab', 'ctx', 'preflight', 'passed', 1.0, '[]');
        INSERT INTO position VALUES ('lab', 'ctx', 'deploy-mysql');
        INSERT INTO hints VALUES ('lab', 'ctx', 'preflight', 3);
        """)
    old.commit()
    old.close()
    progress = Progress(path)
    assert progress.results(K("lab", "ctx"))["preflight"].status == "passed"
    assert progress.current_step(K("lab", "ctx"), STEPS) == "deploy-mysql"
    assert progress.hints_shown(K("lab", "ctx"), "preflight") == 3
    progress.record(K("lab", "ctx", learner="alice"), "preflight", "failed", [])  # the new columns work
    assert progress.results(K("lab", "ctx"))["preflight"].status == "passed"


def test_fan_out_writes_everywhere_and_reads_the_first(tmp_path: Path) -> None:
    local, room = Progress(tmp_path / "local.sqlite3"), Progress(tmp_path / "room.sqlite3")
    both = FanOut(local, room)
    key = K("lab", "ctx", learner="alice")
    both.record(key, "preflight", "passed", [{"id": "c", "status": "passed"}])
    both.move_to(key, "deploy-mysql")
    both.show_hints(key, "deploy-mysql", 1)
    for store in (local, room):
        assert store.results(key)["preflight"].checks == ({"id": "c", "status": "passed"},)
        assert store.position(key) == "deploy-mysql" and store.hints_shown(key, "deploy-mysql") == 1
    room.record(key, "create-namespace", "passed", [])  # only the room has it: reads come from the local store
    assert set(both.results(key)) == {"preflight"}
    both.forget(key, ["preflight"])
    assert local.results(key) == {} and set(room.results(key)) == {"create-namespace"}


def test_the_store_is_its_owners_alone(tmp_path: Path) -> None:
    import stat

    older = tmp_path / "older.sqlite3"
    older.touch()
    older.chmod(0o644)
    for path in (tmp_path / "state" / "progress.sqlite3", older):
        progress = Progress(path)
        progress.record(K("lab", "ctx"), "preflight", "passed", [])
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.glob(path.name + "*")}
        assert modes and all(mode == 0o600 for mode in modes.values()), modes
        progress.close()
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700


def test_a_damaged_store_is_kept_aside_and_a_fresh_one_started(tmp_path: Path) -> None:
    path = tmp_path / "progress.sqlite3"
    path.write_bytes(b"these are not the bytes of a database\n" * 20)
    progress = Progress(path)
    assert progress.problem is not None and "was damaged (file is not a database)" in progress.problem
    [aside] = tmp_path.glob("progress.sqlite3.damaged-*")
    assert aside.read_bytes().startswith(b"these are not") and aside.name in progress.problem  # kept, and named
    progress.record(K("lab", "ctx"), "preflight", "passed", [])
    progress.close()
    assert Progress(path).results(K("lab", "ctx"))["preflight"].status == "passed" and Progress(path).problem is None


def test_a_store_that_cannot_be_written_still_answers_and_says_why(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    progress = Progress(blocked / "state" / "progress.sqlite3")  # its folder cannot be made
    assert progress.problem is not None and progress.problem.startswith("your progress is not being saved: ")
    assert "Not a directory" in progress.problem and "LABRUNNER_STATE_DIR" in progress.problem
    progress.record(K("lab", "ctx"), "preflight", "passed", [])  # kept for this run
    assert progress.current_step(K("lab", "ctx"), STEPS) == "create-namespace"


def test_check_answers_on_a_state_folder_it_cannot_write(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    completed = subprocess.run([sys.executable, "-m", "labrunner", "status", "networkpolicies"], capture_output=True, text=True,
                               env={**os.environ, "LABRUNNER_STATE_DIR": str(blocked / "state")}, timeout=60)
    assert completed.returncode == 0 and "0 of 20 steps passed" in completed.stdout
    assert "labrunner: warning: your progress is not being saved" in completed.stderr and "internal error" not in completed.stderr
