"""The app's remembered choices, in ``config_dir()/tui.yaml``: the theme the learner
picked, and a keymap that moves any binding (by its id) off keys a terminal or
multiplexer takes (``workspace.shell: "ctrl+o"``)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from labrunner.paths import config_dir


@dataclass
class Settings:
    theme: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    problem: str | None = None
    """Why the file could not be used (said once on screen; the defaults apply)."""


def settings_file() -> Path:
    return config_dir() / "tui.yaml"


def load(path: Path | None = None) -> Settings:
    path = path or settings_file()
    if not path.is_file():
        return Settings()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        return Settings(problem=f"{path}: {str(error).splitlines()[0]}; using the defaults")
    if not isinstance(data, dict):
        return Settings(problem=f"{path}: expected a mapping with theme and keymap; using the defaults")
    keymap = data.get("keymap") or {}
    if not isinstance(keymap, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in keymap.items()):
        return Settings(theme=data.get("theme"), problem=f"{path}: keymap must map binding ids to keys, like workspace.shell: ctrl+o")
    theme = data.get("theme")
    return Settings(theme=theme if isinstance(theme, str) else None, keymap=dict(keymap))


def save_theme(theme: str, path: Path | None = None) -> None:
    """Remember the theme, keeping the rest of the file; written atomically."""
    path = path or settings_file()
    current = load(path)
    data: dict[str, object] = {"theme": theme}
    if current.keymap:
        data["keymap"] = current.keymap
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tui-", suffix=".yaml")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        yaml.safe_dump(data, file, sort_keys=False)
    os.replace(temporary, path)
