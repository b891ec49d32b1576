"""What a container takes when it starts and keeps until it restarts, as on a real node: its
environment variables (a ConfigMap or Secret edited later does not reach them) and the files of
a ``subPath`` mount (a bind mount of one file, never updated). Everything else a process reads is
read when it reads it (volumes follow their ConfigMap at once, where a kubelet takes up to a
minute).

One memory per sandbox process, keyed by the container's run (pod uid, container name, restart
count): the first look at a run keeps what it saw. A sandbox restart restarts every container,
so it starts empty, as their environment would be taken again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

LIMIT = 20_000
"""Runs remembered (oldest forgotten first): far beyond what a sandbox holds at once."""

Value = TypeVar("Value")
_kept: OrderedDict[tuple[str, ...], Any] = OrderedDict()


def run_of(pod: Mapping[str, Any], container: Mapping[str, Any]) -> tuple[str, str, int]:
    """The container's current run: (pod uid, container name, restart count)."""
    name = str(container.get("name"))
    status = pod.get("status") or {}
    restarts = next((int(s.get("restartCount") or 0) for s in [*(status.get("containerStatuses") or []),
                                                                *(status.get("initContainerStatuses") or [])]
                     if s.get("name") == name), 0)
    return str((pod.get("metadata") or {}).get("uid", "")), name, restarts


def kept(pod: Mapping[str, Any], container: Mapping[str, Any], what: str, take: Callable[[], Value]) -> Value:
    """``take()`` the first time this run of the container is asked for ``what``; the same
    answer after that."""
    uid, name, restarts = run_of(pod, container)
    if not uid:
        return take()  # not a stored pod (a unit test's): nothing to keep it by
    key = (uid, name, str(restarts), what)
    if key in _kept:
        _kept.move_to_end(key)
        return _kept[key]
    value = take()
    _kept[key] = value
    while len(_kept) > LIMIT:
        _kept.popitem(last=False)
    return value
