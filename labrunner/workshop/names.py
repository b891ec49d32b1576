"""How a workshop names things: its namespace, its learners, their objects and their lab's namespaces.

Every name is a function of the workshop's name and the learner's id alone, so running ``init``
again finds what it made, and a learner's kubeconfig, records and namespaces always agree.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

LABEL = "labrunner.dev/workshop"
"""On everything a workshop makes: ``labrunner.dev/workshop=WS`` (teardown is one selector)."""
LEARNER_LABEL = "labrunner.dev/learner"
"""On what belongs to one learner: their namespaces and objects."""
EXTENSION = "labrunner.dev/workshop"
"""The kubeconfig context extension that marks a learner's context."""
WORKSHOP_CONFIGMAP = "workshop"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_WORKSHOP = 20
"""A workshop name's longest: ``labrunner-ws-`` + 20 is far under 63, and leaves room in learners' namespaces."""
MAX_LEARNER = 20


class BadName(ValueError):
    """A workshop name, learner id or roster that cannot name Kubernetes objects, in words."""


def check_workshop(name: str) -> str:
    """The workshop's name, if it can name namespaces (a DNS label of at most 20 characters).

    Raises:
        BadName: it cannot.
    """
    if not _DNS_LABEL.match(name) or len(name) > MAX_WORKSHOP:
        raise BadName(f"workshop name {name!r} must be lowercase letters, digits and '-', start and end with a letter or digit, "
                      f"and have at most {MAX_WORKSHOP} characters (e.g. kcd-paris)")
    return name


def namespace(workshop: str) -> str:
    """The workshop's own namespace, the instructor's: records, accounts and roles."""
    return f"labrunner-ws-{workshop}"


def service_account(learner: str) -> str:
    return f"learner-{learner}"


def progress(learner: str) -> str:
    return f"progress-{learner}"


def heartbeat(learner: str) -> str:
    return f"heartbeat-{learner}"


def verified(learner: str) -> str:
    return f"verified-{learner}"


def token_secret(learner: str) -> str:
    """The Secret the learner's tokens are bound to: deleting it revokes them."""
    return f"learner-{learner}-token"


def role(learner: str) -> str:
    return f"learner-{learner}"


LEARNER_BINDING = "labrunner-workshop-learner"
"""The RoleBinding to ``admin`` in each of a learner's namespaces."""
GUARDS = "labrunner-workshop"
"""The ResourceQuota and LimitRange in each of a learner's namespaces."""


def username(workshop: str, learner: str) -> str:
    """Who the learner is to the API server."""
    return f"system:serviceaccount:{namespace(workshop)}:{service_account(learner)}"


def groups(workshop: str) -> tuple[str, ...]:
    """The groups a ServiceAccount token authenticates with."""
    return ("system:serviceaccounts", f"system:serviceaccounts:{namespace(workshop)}", "system:authenticated")


def numbered(count: int) -> list[str]:
    """Learner ids ``01`` .. ``NN`` (three digits from 100 learners on)."""
    width = max(2, len(str(count)))
    return [str(number).zfill(width) for number in range(1, count + 1)]


@dataclass(frozen=True)
class Learner:
    id: str
    """What names the learner's objects: ``07``, or a roster name made a DNS label (``ada-lovelace``)."""
    name: str
    """As the instructor wrote it (the roster's line), or the id."""


def slug(name: str) -> str:
    """A roster name as a DNS label of at most 20 characters: ``Ada Lovelace`` -> ``ada-lovelace``."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:MAX_LEARNER].strip("-")
    return text


def roster(text: str) -> list[Learner]:
    """The learners a roster file names: one per line, or the first column of a CSV (a header
    ``name`` is skipped); blank lines and ``#`` comments are skipped. Ids are the names made
    DNS labels, made unique with ``-2``, ``-3``...

    Raises:
        BadName: a name gives no usable id, or the roster names nobody.
    """
    import csv
    import io

    learners: list[Learner] = []
    taken: set[str] = set()
    for row in csv.reader(io.StringIO(text)):
        name = (row[0] if row else "").strip()
        if not name or name.startswith("#") or (not learners and name.lower() in ("name", "names", "learner")):
            continue
        base = slug(name)
        if not base:
            raise BadName(f"roster name {name!r} has no letter or digit to name its objects by")
        ident, suffix = base, 2
        while ident in taken:
            ident = f"{base[:MAX_LEARNER - 1 - len(str(suffix))]}-{suffix}"
            suffix += 1
        taken.add(ident)
        learners.append(Learner(ident, name))
    if not learners:
        raise BadName("the roster names nobody (one name per line, or a CSV whose first column is the name)")
    return learners


def lab_namespace(workshop: str, learner: str, default: str) -> str:
    """A lab namespace parameter renamed for one learner: ``WS-ID-<default>`` (``kcd-07-networkdemo``),
    cut to 63 characters with a hash of the whole when longer, so it stays unique and stable."""
    name = f"{workshop}-{learner}-{default}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[:56].rstrip('-')}-{digest}"


def learner_parameters(workshop: str, learner: str, parameters: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """The lab's parameters for one learner, from (name, kind, default): namespaces renamed
    (:func:`lab_namespace`), the others as the lab sets them."""
    return {name: lab_namespace(workshop, learner, default) if kind == "namespace" else default
            for name, kind, default in parameters}


def namespaces_of(parameters: Mapping[str, str], kinds: Mapping[str, str]) -> list[str]:
    """The values of the namespace parameters, in the lab's order."""
    return [value for name, value in parameters.items() if kinds.get(name) == "namespace"]


def learner_of(ids: Sequence[str], wanted: str) -> str:
    """The learner id the instructor meant: exact, or ``7`` for ``07``.

    Raises:
        BadName: no such learner (the known ones named).
    """
    if wanted in ids:
        return wanted
    if wanted.isdigit():
        for ident in ids:
            if ident.isdigit() and int(ident) == int(wanted):
                return ident
    shown = ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")
    raise BadName(f"the workshop has no learner {wanted!r} (learners: {shown})")
