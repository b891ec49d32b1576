"""Every place labrunner reads or writes, in one module.

Per-OS defaults come from platformdirs (whose XDG_* variables win on macOS too);
each has a ``LABRUNNER_*`` override, and ``labrunner doctor`` prints them all.
platformdirs is imported inside the functions: most commands never need it.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "labrunner"
_PACKAGE_DIR = Path(__file__).resolve().parent


def _override(variable: str) -> Path | None:
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """User settings (``LABRUNNER_CONFIG_DIR``)."""
    if (path := _override("LABRUNNER_CONFIG_DIR")) is not None:
        return path
    import platformdirs

    return platformdirs.user_config_path(APP_NAME)


def state_dir() -> Path:
    """Progress, the sandbox's kubeconfig and database, logs (``LABRUNNER_STATE_DIR``)."""
    if (path := _override("LABRUNNER_STATE_DIR")) is not None:
        return path
    import platformdirs

    return platformdirs.user_state_path(APP_NAME)


def cache_dir() -> Path:
    """Disposable data (``LABRUNNER_CACHE_DIR``)."""
    if (path := _override("LABRUNNER_CACHE_DIR")) is not None:
        return path
    import platformdirs

    return platformdirs.user_cache_path(APP_NAME)


def data_dir() -> Path:
    """User-installed labs and themes (``LABRUNNER_DATA_DIR``)."""
    if (path := _override("LABRUNNER_DATA_DIR")) is not None:
        return path
    import platformdirs

    return platformdirs.user_data_path(APP_NAME)


def bundled_content_root() -> Path:
    """The folder holding the labs/ and assets/ that ship with labrunner: inside
    the package when installed from a wheel, the repository root in a checkout."""
    packaged = _PACKAGE_DIR / "_bundled"
    return packaged if packaged.is_dir() else _PACKAGE_DIR.parent


def lab_roots() -> list[Path]:
    """Folders holding lab folders, searched in order; the first lab of an id wins.

    ``LABRUNNER_LABS_PATH`` (``os.pathsep``-separated, each a ``labs/`` folder)
    comes first, then the user's data folder, then the labs labrunner ships.
    """
    roots = [Path(entry).expanduser() for entry in os.environ.get("LABRUNNER_LABS_PATH", "").split(os.pathsep) if entry]
    roots.append(data_dir() / "labs")
    roots.append(bundled_content_root() / "labs")
    return roots


def exam_roots() -> list[Path]:
    """Folders holding exam tasks (each a folder with a ``lab.yaml`` whose ``exam:`` section
    scores it), searched in order like :func:`lab_roots`: ``LABRUNNER_EXAMS_PATH``, the user's
    data folder, then the tasks labrunner ships."""
    roots = [Path(entry).expanduser() for entry in os.environ.get("LABRUNNER_EXAMS_PATH", "").split(os.pathsep) if entry]
    roots.append(data_dir() / "exams")
    roots.append(bundled_content_root() / "exams")
    return roots
