"""The sandbox's folder is its owner's alone, ``stop`` signals only our own server, one
server runs per folder however many ``start`` at once, and its log does not grow without
bound."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from labrunner.sandbox.control import running, start, stop
from labrunner.sandbox.files import SandboxFiles
from tests.sandboxes import start_sandbox, start_scaled


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_folder_and_every_file_in_it_are_the_owners_alone(tmp_path: Path) -> None:
    # An older folder, made under a permissive umask, is tightened when the sandbox starts.
    folder = tmp_path / "state" / "sandbox"
    folder.mkdir(parents=True, mode=0o755)
    os.chmod(folder, 0o755)
    (folder / "objects.db").touch()
    os.chmod(folder / "objects.db", 0o644)
    files = SandboxFiles(folder)
    start_scaled(files)
    try:
        secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: default}\nstringData: {password: hunter2}\n"
        subprocess.run(["kubectl", "apply", "-f", "-"], input=secret, text=True, capture_output=True, check=False,
                       env={**os.environ, "KUBECONFIG": str(files.kubeconfig)}, timeout=60)
        assert mode(folder) == 0o700
        loose = {path.name: oct(mode(path)) for path in folder.rglob("*") if path.is_file() and mode(path) & 0o077}
        assert loose == {}
        assert {"objects.db", "objects.db-wal", "sandbox.log", "token", "kubeconfig"} <= {p.name for p in folder.iterdir()}
        if os.geteuid() == 0 and shutil.which("setpriv"):  # another uid really cannot read the Secret
            other = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat", str(folder / "objects.db-wal")],
                                   capture_output=True, text=True, check=False)
            assert other.returncode != 0 and "Permission denied" in other.stderr
    finally:
        stop(files)


def test_stop_leaves_alone_a_process_that_took_a_crashed_servers_pid(tmp_path: Path) -> None:
    files = SandboxFiles(tmp_path / "sandbox")
    files.folder.mkdir(mode=0o700)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # What a crashed server leaves: server.json naming a pid that is now someone else's.
        files.server_info.write_text(json.dumps({"pid": bystander.pid, "port": 1, "started": time.time() - 3600}))
        assert stop(files) is False
        time.sleep(0.2)
        assert bystander.poll() is None, "stop signalled a process that is not the sandbox"
        assert not files.server_info.exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_concurrent_starts_make_one_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = SandboxFiles(tmp_path / "sandbox")
    monkeypatch.setenv("LABRUNNER_SANDBOX_TIME_SCALE", "0.05")
    answers: list[tuple[int, bool]] = []
    failures: list[BaseException] = []

    def one() -> None:
        try:
            info, started = start(files)
            answers.append((info.pid, started))
        except BaseException as failure:  # noqa: BLE001 - reported below
            failures.append(failure)

    starters = [threading.Thread(target=one) for _ in range(5)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join(60)
    try:
        assert failures == []
        assert len({pid for pid, _ in answers}) == 1 and sum(started for _, started in answers) == 1
        servers = subprocess.run(["pgrep", "-f", f"labrunner.sandbox.server --state-dir {files.folder}"],
                                 capture_output=True, text=True, check=False).stdout.split()
        assert len(servers) == 1
    finally:
        stop(files)
    assert running(files) is None


def test_a_second_server_on_the_same_folder_refuses_to_run(tmp_path: Path) -> None:
    files = start_sandbox(tmp_path)
    try:
        second = subprocess.run([sys.executable, "-m", "labrunner.sandbox.server", "--state-dir", str(files.folder)],
                                capture_output=True, text=True, timeout=30, check=False)
        assert second.returncode != 0
        assert f"another sandbox server (pid {running(files).pid}) runs on {files.folder}" in second.stderr  # type: ignore[union-attr]
        assert running(files) is not None  # the first one is untouched
    finally:
        stop(files)


def test_the_log_is_rotated(tmp_path: Path) -> None:
    from labrunner.sandbox.server import LOG_BACKUPS, LOG_BYTES, rotating_log

    files = SandboxFiles(tmp_path / "sandbox")
    files.folder.mkdir(mode=0o700)
    handler = rotating_log(files)
    import logging

    logger = logging.getLogger("test-rotation")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        line = "x" * 1000
        for _ in range((LOG_BACKUPS + 3) * LOG_BYTES // 1000):
            logger.warning(line)
    finally:
        logger.removeHandler(handler)
        handler.close()
    logs = sorted(path.name for path in files.folder.glob("sandbox.log*"))
    assert logs == ["sandbox.log", *(f"sandbox.log.{n}" for n in range(1, LOG_BACKUPS + 1))]
    assert all(path.stat().st_size <= LOG_BYTES for path in files.folder.glob("sandbox.log*"))
