"""`kubectl get csr` columns, as kube-apiserver's printCertificateSigningRequest gives them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labrunner.sandbox.tables import Column, Row, age, human_duration

NAME: Column = ("Name", "string", 0)
AGE: Column = ("Age", "string", 0)


def condition(status: dict[str, Any]) -> str:
    """extractCSRStatus: Denied outranks Approved, else Pending; then Failed and Issued if so."""
    types = {c.get("type") for c in status.get("conditions") or []}
    shown = "Denied" if "Denied" in types else "Approved" if "Approved" in types else "Pending"
    if "Failed" in types:
        shown += ",Failed"
    if status.get("certificate"):
        shown += ",Issued"
    return shown


def _csrs(obj: dict[str, Any]) -> Row:
    spec = obj.get("spec") or {}
    seconds = spec.get("expirationSeconds")
    return [obj["metadata"]["name"], age(obj), spec.get("signerName") or "<none>", spec.get("username", ""),
            human_duration(seconds) if isinstance(seconds, int) else "<none>", condition(obj.get("status") or {})]


PRINTERS: dict[str, tuple[list[Column], Callable[[dict[str, Any]], Row]]] = {
    "certificatesigningrequests": ([NAME, AGE, ("SignerName", "string", 0), ("Requestor", "string", 0), ("RequestedDuration", "string", 0),
                                    ("Condition", "string", 0)], _csrs),
}
