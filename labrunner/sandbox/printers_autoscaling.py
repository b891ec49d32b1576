"""`kubectl get` columns for the autoscaling kinds, as kube-apiserver's printers (pkg/printers/internalversion) give them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labrunner.sandbox.tables import Column, Row

PRINTERS: dict[str, tuple[list[Column], Callable[[dict[str, Any]], Row]]] = {}
