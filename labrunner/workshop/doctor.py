"""``workshop doctor``: is this cluster ready for the room?

- **API isolation**: each learner, asked of the cluster's own authorizers (SubjectAccessReviews
  as the learner's ServiceAccount), may work in their namespaces and write their own records,
  and may not touch the next learner's namespaces or records, nor their own namespace's quota.
- **NetworkPolicy enforcement**: the proof ``labrunner doctor --prove-policy`` runs (found in the
  registry, not named here: the network plugin, then a deny-all that must stop busybox).
- **Cluster-level policy**: isolating learners over the network needs a policy no learner can
  change (a NetworkPolicy in their namespace is theirs to delete, and policies only add up): the
  cluster's AdminNetworkPolicy (``policy.networking.k8s.io``) or Calico's GlobalNetworkPolicy,
  or none.
- **Images**: every image the lab's files name, pulled by a pod of its own in a throwaway
  namespace of the workshop's.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.workshop import names
from labrunner.workshop.reader import read_room
from labrunner.workshop.service import lab_texts, load_lab
from labrunner.workshop.sizing import images_in

PULL_SECONDS = 90.0
NOT_PULLED = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")


@dataclass(frozen=True)
class Finding:
    id: str
    title: str
    status: str
    """passed, failed, error (could not tell) or info."""
    message: str
    details: tuple[str, ...] = field(default_factory=tuple)

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "status": self.status, "message": self.message, "details": list(self.details)}


@dataclass(frozen=True)
class Probe:
    """One access question: who, what, and the answer that keeps the room apart."""

    verb: str
    resource: str
    namespace: str
    allowed: bool
    group: str = ""
    name: str | None = None
    subresource: str = ""

    def words(self) -> str:
        what = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        return f"{self.verb} {what}{' ' + self.name if self.name else ''} in {self.namespace}"


def probes(workshop: str, mine: Sequence[str], mine_id: str, theirs: Sequence[str], theirs_id: str) -> list[Probe]:
    """What learner ``mine_id`` must and must not be allowed (pure)."""
    records = names.namespace(workshop)
    wanted = []
    for namespace in mine:
        wanted += [Probe("create", "pods", namespace, True), Probe("create", "pods", namespace, True, subresource="exec"),
                   Probe("create", "rolebindings", namespace, True, group="rbac.authorization.k8s.io"),
                   Probe("update", "resourcequotas", namespace, False), Probe("delete", "namespaces", namespace, False, name=namespace)]
    wanted += [Probe("update", "configmaps", records, True, name=names.progress(mine_id)),
               Probe("update", "leases", records, True, group="coordination.k8s.io", name=names.heartbeat(mine_id)),
               Probe("watch", "configmaps", records, True, name=names.WORKSHOP_CONFIGMAP),
               Probe("update", "configmaps", records, False, name=names.WORKSHOP_CONFIGMAP),
               Probe("update", "configmaps", records, False, name=names.verified(mine_id)),
               Probe("create", "serviceaccounts", records, False, name=names.service_account(mine_id), subresource="token"),
               Probe("list", "namespaces", "", False)]
    if theirs_id:
        for namespace in theirs:
            wanted += [Probe("list", "pods", namespace, False), Probe("get", "secrets", namespace, False),
                       Probe("create", "pods", namespace, False)]
        wanted += [Probe("update", "configmaps", records, False, name=names.progress(theirs_id)),
                   Probe("get", "configmaps", records, False, name=names.progress(theirs_id))]
    return wanted


def api_isolation(cluster: ClusterPort, workshop: str) -> Finding:
    room = read_room(cluster, workshop)
    learners = list(room.learners)
    wrong: list[str] = []
    asked = 0
    for index, learner in enumerate(learners):
        other = learners[(index + 1) % len(learners)] if len(learners) > 1 else None
        for probe in probes(workshop, learner.namespaces, learner.id, other.namespaces if other else (), other.id if other else ""):
            asked += 1
            allowed, reason = cluster.access_review(names.username(workshop, learner.id), names.groups(workshop), probe.verb,
                                                    resource=probe.resource, group=probe.group, subresource=probe.subresource,
                                                    namespace=probe.namespace or None, name=probe.name)
            if allowed != probe.allowed:
                wrong.append(f"learner {learner.id} {'may' if allowed else 'may not'} {probe.words()}"
                             f" (should {'' if probe.allowed else 'not '}be allowed){': ' + reason if reason else ''}")
    if wrong:
        return Finding("api-isolation", "Learners kept apart by the API", "failed", f"{len(wrong)} of {asked} access answers are wrong",
                       tuple(wrong))
    return Finding("api-isolation", "Learners kept apart by the API", "passed",
                   f"{asked} access reviews for {len(learners)} learners: each works in their own namespaces and records only")


def policy_enforcement(cluster: ClusterPort, on_stage: Callable[[str], None] | None = None) -> Finding:
    """The registry's NetworkPolicy proof (``doctor --prove-policy``), stage by stage."""
    from labrunner.registry import registry, resolve

    proof = next((p for p in registry().proofs if p.id == "policy"), None)
    if proof is None:
        return Finding("network-policy", "NetworkPolicies enforced", "error", "no topic offers the NetworkPolicy proof")
    details = []
    status, message = "error", ""
    for stage in proof.stages:
        if on_stage is not None:
            on_stage(stage.doing)
        try:
            status, message, more = resolve(stage.run)(cluster)
        except errors.ClusterError as failure:
            status, message, more = "error", failure.message, []
        details += [f"{stage.name}: {message}", *more]
        if status != "passed":
            break
    return Finding("network-policy", proof.title, status, message, tuple(details))


POLICY_APIS = (
    ("policy.networking.k8s.io", "AdminNetworkPolicy (the Network Policy API: Calico 3.29+, Antrea, OVN-Kubernetes)"),
    ("crd.projectcalico.org", "Calico's GlobalNetworkPolicy (its CRDs)"),
    ("projectcalico.org", "Calico's API server (GlobalNetworkPolicy as projectcalico.org/v3)"),
)


def cluster_policy_api(cluster: ClusterPort) -> Finding:
    groups = cluster.api_groups()
    found = [f"{words}: {group} {', '.join(groups[group])}" for group, words in POLICY_APIS if group in groups]
    if found:
        return Finding("cluster-policy", "A cluster-level policy API", "passed",
                       "the cluster can isolate learners over the network with a policy no learner can change", tuple(found))
    return Finding("cluster-policy", "A cluster-level policy API", "info",
                   "none: this cluster has no AdminNetworkPolicy or Calico GlobalNetworkPolicy, so nothing stops one learner's pods "
                   "from reaching another's over the network (a NetworkPolicy in a learner's namespace is theirs to delete)")


def images(cluster: ClusterPort, workshop: str, lab_images: Sequence[str], on_image: Callable[[str], None] | None = None) -> Finding:
    """Each image pulled by a pod of its own (no command given: scratch images have no shell)."""
    if not lab_images:
        return Finding("images", "The lab's images pull", "passed", "the lab names no image")
    namespace = f"{names.namespace(workshop)}-doctor-{secrets.token_hex(2)}"
    labels = {names.LABEL: workshop, "app.kubernetes.io/managed-by": "labrunner"}
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}})
    failed: list[str] = []
    pulled: list[str] = []
    try:
        pods = {}
        for index, image in enumerate(lab_images):
            name = f"pull-{index}"
            pods[name] = image
            cluster.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels},
                            "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                                     "containers": [{"name": "pull", "image": image, "imagePullPolicy": "IfNotPresent"}]}}, namespace)
        deadline = time.monotonic() + PULL_SECONDS
        waiting = dict(pods)
        while waiting and time.monotonic() < deadline:
            for name, image in list(waiting.items()):
                verdict = _pulled(cluster.get("pods", name, namespace))
                if verdict is None:
                    continue
                del waiting[name]
                if on_image is not None:
                    on_image(image)
                (pulled if verdict == "" else failed).append(image if verdict == "" else f"{image}: {verdict}")
            time.sleep(0.5)
        failed += [f"{image}: not pulled within {PULL_SECONDS:.0f} s" for image in waiting.values()]
    finally:
        try:
            cluster.delete("namespaces", namespace)
        except errors.ClusterError:
            pass
    if failed:
        return Finding("images", "The lab's images pull", "failed",
                       f"{len(failed)} of {len(lab_images)} images did not pull (a troubleshooting lab may name a broken one on purpose)",
                       tuple(failed))
    return Finding("images", "The lab's images pull", "passed", f"all {len(lab_images)} images pulled", tuple(pulled))


def _pulled(pod: dict[str, object]) -> str | None:
    """'' when the image was pulled, the reason when it was not, None while it is still being decided."""
    status = pod.get("status") if isinstance(pod.get("status"), dict) else {}
    assert isinstance(status, dict)
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if "running" in state or "terminated" in state or container.get("imageID"):
            return ""
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in NOT_PULLED:
            return f"{waiting.get('reason')}: {waiting.get('message') or ''}".rstrip(": ")
        if waiting.get("reason") not in (None, "ContainerCreating", "PodInitializing"):
            return ""  # CrashLoopBackOff, CreateContainerError...: it was pulled, then something else
    return None


def doctor(cluster: ClusterPort, workshop: str, *, prove_policy: bool = True, pull_images: bool = True,
           on_stage: Callable[[str], None] | None = None) -> list[Finding]:
    """Every finding, in order; each stage's failure is its own finding, never the end."""
    found = []
    stages: list[tuple[str, str, Callable[[], Finding]]] = [
        ("api-isolation", "asking the API what each learner may do", lambda: api_isolation(cluster, workshop))]
    if prove_policy:
        stages.append(("network-policy", "proving NetworkPolicies are enforced", lambda: policy_enforcement(cluster, on_stage)))
    stages.append(("cluster-policy", "looking for a cluster-level policy API", lambda: cluster_policy_api(cluster)))
    if pull_images:
        def pull() -> Finding:
            lab = load_lab(read_room(cluster, workshop).workshop.lab)
            return images(cluster, workshop, images_in(lab_texts(lab)))
        stages.append(("images", "pulling the lab's images", pull))
    for ident, doing, stage in stages:
        if on_stage is not None:
            on_stage(doing)
        try:
            found.append(stage())
        except errors.ClusterError as failure:
            found.append(Finding(ident, doing, "error", failure.message))
    return found
