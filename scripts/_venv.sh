# Shared by scripts/run and scripts/test: make sure .venv exists at the repository
# root and holds labrunner (editable) with the requested extras. Idempotent: it
# reinstalls only when pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

say() { printf 'labrunner: %s\n' "$*" >&2; }

ensure_venv() {
    local extras="$1"   # "" or "test"
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating virtual environment in .venv ($("$PY" --version 2>&1))"
        "$PY" -m venv "$VENV"
    fi
    local stamp="$VENV/.labrunner-installed${extras:+-$extras}"
    local spec="$ROOT"
    [ -n "$extras" ] && spec="$ROOT[$extras]"
    # An install with the test extras includes everything the plain one needs.
    if [ -z "$extras" ] && [ -f "$VENV/.labrunner-installed-test" ] && ! [ "$ROOT/pyproject.toml" -nt "$VENV/.labrunner-installed-test" ]; then
        stamp="$VENV/.labrunner-installed-test"
    fi
    if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
        say "installing labrunner${extras:+ with $extras dependencies} into .venv"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"
        touch "$stamp"
    else
        say "labrunner${extras:+ and $extras dependencies} already installed in .venv"
    fi
}
