"""`labrunner list` answers from its cache while no lab file changed, and never
trusts a cache a change has made stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from labrunner.cli import main
from tests.test_lab_file_errors import VALID


def listed(capsys: pytest.CaptureFixture[str]) -> dict[str, dict]:
    assert main(["list", "--json"]) == 0
    return {row["id"]: row for row in json.loads(capsys.readouterr().out)}


@pytest.fixture
def demo(lab_tree: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    lab_dir = lab_tree(VALID)
    monkeypatch.setenv("LABRUNNER_LABS_PATH", str(lab_dir.parent))
    return lab_dir


def test_a_changed_lab_file_is_revalidated(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert listed(capsys)["demo"]["valid"] is True
    lab_file = demo / "lab.yaml"
    lab_file.write_text(VALID.replace("level: beginner", "level: expert"))
    os.utime(lab_file, ns=(1, 1))  # even a file whose mtime went backwards
    row = listed(capsys)["demo"]
    assert row["valid"] is False and row["problems"][0]["field"] == "level"


def test_a_deleted_asset_is_noticed(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert listed(capsys)["demo"]["valid"] is True
    (demo.parent.parent / "assets" / "demo" / "policy.yaml").unlink()
    assert listed(capsys)["demo"]["valid"] is False


def test_a_corrupt_cache_is_ignored(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed(capsys)
    cache = Path(os.environ["LABRUNNER_CACHE_DIR"]) / "lab-index.json"
    cache.write_text("{not json")
    assert listed(capsys)["demo"]["title"] == "Demo lab"
    assert json.loads(cache.read_text())["entries"]  # and rewritten whole


def test_a_cache_hit_does_not_import_the_validator(demo: Path) -> None:
    probe = (
        "import sys; from labrunner.cli import main; main(['list']); "
        "print('pydantic' in sys.modules, file=sys.stderr)"
    )
    first = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert first.stderr.strip().endswith("True")  # the first run validated
    assert second.stderr.strip().endswith("False")  # the second answered from the cache
    assert first.stdout == second.stdout


def test_a_remembered_lab_is_read_again_once_a_file_changed(demo: Path) -> None:
    """What a warm server keeps (load_lab(remember=True)) is never served stale to its commands."""
    from labrunner.lab.loader import LabInvalid, load_lab

    first = load_lab(demo, remember=True)
    assert load_lab(demo) is first  # unchanged: the remembered lab
    assert load_lab(demo, {"namespace": "other-ns"}) is not first  # other parameters: another lab
    lab_file = demo / "lab.yaml"
    lab_file.write_text(VALID.replace("title: Demo lab", "title: Renamed lab"))
    assert load_lab(demo, remember=True).title == "Renamed lab"
    lab_file.write_text(VALID.replace("level: beginner", "level: expert"))
    with pytest.raises(LabInvalid):
        load_lab(demo)  # a broken file is reported, not hidden behind what was remembered
