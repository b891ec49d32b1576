"""The instructor's commands that make, hand out, change and remove a workshop: for the CLI and
the app alike (each says what it did through a callback, and returns it).

Everything goes through the cluster port with the instructor's credentials. Objects are made
when missing and put right when changed (quotas, roles, bindings); records (progress,
verification, heartbeat) are made once and never rewritten by ``init``, so running it again in
the middle of a workshop loses nobody's progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort, plural_for
from labrunner.lab.model import Lab
from labrunner.workshop import kubeconfigs, names, objects
from labrunner.workshop.names import Learner
from labrunner.workshop.reader import read_workshop
from labrunner.workshop.records import LearnerEntry, WorkshopRecord
from labrunner.workshop.sizing import Sizing, size_for

JOBS = 4
"""Learners set up at once (each learner's objects one after another)."""
NAMESPACE_GONE_SECONDS = 90.0
DEFAULT_TOKEN_HOURS = 12.0


class WorkshopError(Exception):
    """A workshop command that cannot go on, in words, with what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass(frozen=True)
class Done:
    """One thing a command did (or found already done)."""

    action: str
    """created, updated, unchanged, deleted, kept, failed."""
    kind: str
    name: str
    namespace: str | None = None
    note: str = ""

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.action} {self.kind} {where}{self.name}" + (f" ({self.note})" if self.note else "")


Report = Callable[[Done], None]


def _quiet(_: Done) -> None:
    pass


# -- the lab -------------------------------------------------------------------------------------


def load_lab(lab_id: str, parameters: dict[str, str] | None = None) -> Lab:
    """The lab by id from labrunner's lab folders, with these parameter values.

    Raises:
        WorkshopError: no such lab.
        LabInvalid: the lab (or a value) is invalid.
    """
    from labrunner import paths
    from labrunner.lab.catalog import find
    from labrunner.lab.loader import load_lab as load

    entry = find(lab_id, paths.lab_roots())
    if entry is None:
        raise WorkshopError(f"no lab {lab_id!r}", "labrunner list shows the labs")
    return load(entry.directory, parameters)


def lab_texts(lab: Lab) -> list[str]:
    """lab.yaml and the lab's manifests (what sizing and the image list read)."""
    texts = [(lab.directory / "lab.yaml").read_text(encoding="utf-8")]
    if lab.assets_dir.is_dir():
        texts += [path.read_text(encoding="utf-8", errors="replace") for path in sorted(lab.assets_dir.rglob("*.y*ml")) if path.is_file()]
    return texts


def learner_entry(lab: Lab, workshop: str, learner: Learner) -> LearnerEntry:
    parameters = names.learner_parameters(workshop, learner.id, [(p.name, p.kind, p.default) for p in lab.parameters])
    kinds = {p.name: p.kind for p in lab.parameters}
    return LearnerEntry(learner.id, learner.name, parameters, tuple(names.namespaces_of(parameters, kinds)))


def instance_key(lab: Lab, parameters: dict[str, str]) -> str:
    """What ``Lab.instance_key`` is for the lab loaded with these values (without loading it)."""
    changed = [f"{p.name}={parameters[p.name]}" for p in lab.parameters if parameters.get(p.name, p.default) != p.default]
    return f"{lab.id}[{','.join(changed)}]" if changed else lab.id


# -- making objects ------------------------------------------------------------------------------------


def ensure(cluster: ClusterPort, obj: dict[str, Any], *, rewrite: bool = True) -> Done:
    """Make ``obj`` when missing; with ``rewrite``, put it right when it differs (``apply``; a
    RoleBinding whose roleRef changed is made again: roleRef cannot change)."""
    kind, metadata = str(obj["kind"]), obj["metadata"]
    plural, name, namespace = plural_for(kind) or kind.lower() + "s", metadata["name"], metadata.get("namespace")
    try:
        found = cluster.get(plural, name, namespace)
    except errors.NotFound:
        cluster.create(obj, namespace)
        return Done("created", kind, name, namespace)
    if not rewrite or not objects.differs(obj, found):
        return Done("unchanged", kind, name, namespace)
    try:
        cluster.apply(obj, namespace)
    except errors.Invalid:
        cluster.delete(plural, name, namespace)
        cluster.create(obj, namespace)
    return Done("updated", kind, name, namespace)


def ensure_namespace(cluster: ClusterPort, obj: dict[str, Any], workshop: str) -> Done:
    """A namespace of the workshop: made (once a previous one has finished terminating), or its
    labels put right. One that exists without the workshop's label is someone else's: refused.

    Raises:
        WorkshopError: the name belongs to a namespace that is not the workshop's.
    """
    name = obj["metadata"]["name"]
    deadline = time.monotonic() + NAMESPACE_GONE_SECONDS
    while True:
        try:
            found = cluster.get("namespaces", name)
        except errors.NotFound:
            cluster.create(obj)
            return Done("created", "Namespace", name)
        if ((found.get("metadata") or {}).get("labels") or {}).get(names.LABEL) != workshop:
            raise WorkshopError(f"namespace {name} already exists and is not workshop {workshop}'s (no label {names.LABEL}={workshop})",
                                "choose another workshop name, or delete that namespace if it is a leftover")
        if (found.get("status") or {}).get("phase") != "Terminating":
            break
        if time.monotonic() > deadline:
            raise WorkshopError(f"namespace {name} is still terminating after {NAMESPACE_GONE_SECONDS:.0f} s",
                                f"kubectl get namespace {name} -o yaml shows what it waits for")
        time.sleep(0.5)
    if objects.differs(obj, found):
        cluster.apply(obj)
        return Done("updated", "Namespace", name)
    return Done("unchanged", "Namespace", name)


def ensure_learner(cluster: ClusterPort, workshop: str, entry: LearnerEntry, lab_instance: str, sizing: Sizing,
                   report: Report = _quiet) -> list[Done]:
    """Everything one learner has: namespaces with their guards and admin binding, the account,
    its token Secret, the Role and binding over their records, and the records themselves."""
    done = []
    for namespace in entry.namespaces:
        done.append(ensure_namespace(cluster, objects.learner_namespace(workshop, entry.id, namespace), workshop))
        report(done[-1])
        for obj in objects.namespace_objects(workshop, entry.id, namespace, sizing):
            done.append(ensure(cluster, obj))
            report(done[-1])
    for obj in objects.learner_objects(workshop, entry.id):
        done.append(ensure(cluster, obj, rewrite=obj["kind"] != "Secret"))
        report(done[-1])
    for obj in (objects.progress_record(workshop, entry.id, lab_instance), objects.verification_record(workshop, entry.id),
                objects.heartbeat(workshop, entry.id)):
        done.append(ensure(cluster, obj, rewrite=False))
        report(done[-1])
    return done


@dataclass(frozen=True)
class Initialised:
    record: WorkshopRecord
    done: tuple[Done, ...]
    sizing: Sizing

    def count(self, action: str) -> int:
        return sum(d.action == action for d in self.done)


def init(cluster: ClusterPort, workshop: str, lab: Lab, learners: Sequence[Learner], *, ends: float | None = None,
         report: Report = _quiet, jobs: int = JOBS) -> Initialised:
    """Make (or complete) workshop ``workshop`` for ``learners`` on ``lab``.

    Raises:
        WorkshopError: the workshop exists for another lab, or a name is taken.
        LabInvalid: the lab refuses a learner's parameter values.
        errors.ClusterError: the cluster refused (the instructor needs rights to make namespaces,
            roles and bindings to ``admin``).
    """
    from labrunner.lab.loader import load_lab as load

    names.check_workshop(workshop)
    entries = {learner.id: learner_entry(lab, workshop, learner) for learner in learners}
    if entries:
        load(lab.directory, dict(next(iter(entries.values())).parameters))  # the values are valid for the lab
    sizing = size_for(lab_texts(lab))
    done = [ensure_namespace(cluster, objects.workshop_namespace(workshop), workshop)]
    report(done[-1])
    record = WorkshopRecord(workshop=workshop, lab=lab.id, learners=entries, ends=ends)
    record, action = _merge_workshop(cluster, record)
    done.append(Done(action, "ConfigMap", names.WORKSHOP_CONFIGMAP, names.namespace(workshop),
                     f"{len(record.learners)} learners" if action != "unchanged" else ""))
    report(done[-1])
    for ident, entry in record.learners.items():
        if ident not in entries:
            done.append(Done("kept", "learner", ident, note="not named this time; teardown removes every learner"))
            report(done[-1])

    def one(entry: LearnerEntry) -> list[Done]:
        return ensure_learner(cluster, workshop, entry, instance_key(lab, dict(entry.parameters)), sizing, report)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for learner_done in pool.map(one, record.learners.values()):
            done.extend(learner_done)
    return Initialised(record, tuple(done), sizing)


def _merge_workshop(cluster: ClusterPort, wanted: WorkshopRecord) -> tuple[WorkshopRecord, str]:
    """The workshop record made, or completed with new learners and a new end time."""
    namespace = names.namespace(wanted.workshop)
    for _ in range(8):
        try:
            found = cluster.get("configmaps", names.WORKSHOP_CONFIGMAP, namespace)
        except errors.NotFound:
            try:
                cluster.create(objects.workshop_record(wanted), namespace)
            except errors.Conflict:
                continue
            return wanted, "created"
        have = WorkshopRecord.decode(found.get("data"))
        if have.lab and have.lab != wanted.lab:
            raise WorkshopError(f"workshop {wanted.workshop} runs lab {have.lab}, not {wanted.lab}",
                                f"labrunner workshop teardown {wanted.workshop} first, or choose another workshop name")
        merged = replace(have, workshop=wanted.workshop, lab=wanted.lab, learners={**wanted.learners, **have.learners},
                         ends=wanted.ends if wanted.ends is not None else have.ends)
        if merged == have:
            return have, "unchanged"
        try:
            cluster.update({**found, "data": merged.encode(), "metadata": {**found["metadata"], "labels": objects.labels(wanted.workshop)}},
                           namespace)
        except errors.Conflict:
            continue
        return merged, "updated"
    raise WorkshopError("the workshop record kept changing while init wrote it; run init again")


def change_workshop(cluster: ClusterPort, workshop: str, change: Callable[[WorkshopRecord], WorkshopRecord]) -> WorkshopRecord:
    """Read, change and write the workshop record, again on a 409 Conflict (timer, announcements).

    Raises:
        NoWorkshop: no such workshop.
    """
    namespace = names.namespace(workshop)
    for _ in range(8):
        read_workshop(cluster, workshop)  # NoWorkshop, said in words
        found = cluster.get("configmaps", names.WORKSHOP_CONFIGMAP, namespace)
        changed = change(WorkshopRecord.decode(found.get("data")))
        try:
            cluster.update({**found, "data": changed.encode()}, namespace)
        except errors.Conflict:
            continue
        return changed
    raise WorkshopError("the workshop record kept changing; try again")


# -- kubeconfigs -------------------------------------------------------------------------------------


def token_seconds(record: WorkshopRecord, hours: float | None, now: float) -> int:
    """How long the learners' tokens are asked for: ``hours``, else until an hour after the
    workshop ends, else 12 hours; never under the API's 10 minutes."""
    if hours is not None:
        seconds = hours * 3600
    elif record.ends is not None:
        seconds = record.ends - now + 3600
    else:
        seconds = DEFAULT_TOKEN_HOURS * 3600
    return max(600, int(seconds))


def write_kubeconfigs(cluster: ClusterPort, workshop: str, folder: Path, *, hours: float | None = None,
                      only: Sequence[str] = (), report: Report = _quiet) -> list[kubeconfigs.Handout]:
    """One kubeconfig per learner in ``folder`` (0600 files, a 0700 folder when made here) and
    the sheet ``learners.md``; tokens from the TokenRequest API bound to each learner's Secret.

    Raises:
        NoWorkshop: no such workshop.
        kubeconfigs.NoClusterEntry: the instructor's kubeconfig names no cluster to copy.
    """
    record = read_workshop(cluster, workshop)
    entry = kubeconfigs.cluster_entry(cluster.info.kubeconfig, cluster.info.context)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    seconds = token_seconds(record, hours, time.time())
    handouts = []
    for ident, learner in record.learners.items():
        if only and ident not in only:
            continue
        report(ensure(cluster, objects.token_secret(workshop, ident), rewrite=False))
        token, expires = cluster.create_token(names.service_account(ident), names.namespace(workshop), seconds=seconds,
                                              bound_secret=names.token_secret(ident))
        namespace = learner.namespaces[0] if learner.namespaces else names.namespace(workshop)
        document = kubeconfigs.kubeconfig(workshop, ident, entry, token, namespace, record.lab, learner.parameters)
        path = folder / f"learner-{ident}.yaml"
        kubeconfigs.write_private(path, kubeconfigs.text(document))
        handouts.append(kubeconfigs.Handout(ident, learner.name, path, namespace, kubeconfigs.context_name(workshop, ident), expires))
        report(Done("created", "kubeconfig", str(path), note=f"token expires {expires}"))
    if not only:
        (folder / "learners.md").write_text(kubeconfigs.sheet(workshop, record.lab, str(entry.get("server", "")), handouts), encoding="utf-8")
    return handouts


# -- teardown ------------------------------------------------------------------------------------------


RECORD_KINDS = {"configmaps": "ConfigMap", "leases": "Lease", "rolebindings": "RoleBinding", "roles": "Role",
                "serviceaccounts": "ServiceAccount", "secrets": "Secret", "pods": "Pod", "namespaces": "Namespace"}


def teardown(cluster: ClusterPort, workshop: str, *, wait: float = NAMESPACE_GONE_SECONDS, report: Report = _quiet) -> list[Done]:
    """Remove everything labelled for the workshop: first the Secrets its tokens are bound to
    (every learner's token stops working at once), then its objects, the learners' namespaces
    and its own; waits up to ``wait`` seconds for the namespaces to be gone."""
    selector = f"{names.LABEL}={workshop}"
    namespace = names.namespace(workshop)
    done: list[Done] = []

    def delete(kind: str, name: str, where: str | None, note: str = "") -> None:
        try:
            cluster.delete(kind, name, where)
            done.append(Done("deleted", RECORD_KINDS[kind], name, where, note))
        except errors.NotFound:
            return
        report(done[-1])

    try:
        cluster.get("namespaces", namespace)
        present = True
    except errors.NotFound:
        present = False
    if present:
        for secret in cluster.list("secrets", namespace, labels=selector):
            delete("secrets", secret["metadata"]["name"], namespace, "its learner's tokens are revoked")
        for kind in RECORD_KINDS:
            if kind == "namespaces":
                continue
            for obj in cluster.list(kind, namespace, labels=selector):
                delete(kind, obj["metadata"]["name"], namespace)
    spaces = [ns["metadata"]["name"] for ns in cluster.list("namespaces", labels=selector)]
    for name in spaces:
        if name != namespace:
            delete("namespaces", name, None)
    if present or namespace in spaces:
        delete("namespaces", namespace, None)
    deadline = time.monotonic() + wait
    while wait > 0 and time.monotonic() < deadline and cluster.list("namespaces", labels=selector):
        time.sleep(0.5)
    return done
