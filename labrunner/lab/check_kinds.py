"""The closed vocabulary of check kinds a lab file may declare.

Each kind is a strict pydantic model: its ``kind`` tag, the sentence the learner
reads (``says``) and the kind's own arguments. Unknown keys are refused, so a
typo in a lab file is an error with a line number, not a check that silently
tests nothing. The implementations live in ``labrunner.checks`` (a later layer);
this module only says what may be asked for. ``docs/lab-format.md`` documents
every kind; ``tests/test_lab_format_doc.py`` keeps the two in step.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from labrunner.lab.fields import (
    AssetPath,
    DnsName,
    KubeName,
    LabelKey,
    Labels,
    NonEmptyStr,
    Port,
)


class _CheckBase(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, use_attribute_docstrings=True)

    says: NonEmptyStr
    """The sentence the learner reads, phrased as the state that should hold:
    "mysql has 1 ready replica"."""

    id: KubeName | None = None
    """A stable name for the check (exam scoring, JSON output). Defaults to
    ``<step-id>.<kind>`` plus a number when a step has several of one kind."""

    advisory: bool = False
    """An advisory check informs (a warning) but never blocks the step."""


class ClusterReachable(_CheckBase):
    """The API server answers with the current credentials."""

    kind: Literal["cluster-reachable"]


class NodesReady(_CheckBase):
    """At least ``min`` nodes exist and every node is Ready."""

    kind: Literal["nodes-ready"]
    min: int = Field(default=1, ge=1)


class CommandAvailable(_CheckBase):
    """A program the learner needs is on their PATH (e.g. kubectl)."""

    kind: Literal["command-available"]
    command: NonEmptyStr


class CniEnforcesPolicy(_CheckBase):
    """The cluster runs a CNI that enforces NetworkPolicy; names the CNI found."""

    kind: Literal["cni-enforces-policy"]


class NamespaceActive(_CheckBase):
    """The namespace exists and is Active (not Terminating)."""

    kind: Literal["namespace-active"]
    name: KubeName


class NamespaceAbsent(_CheckBase):
    """The namespace no longer exists (deleted, not merely Terminating)."""

    kind: Literal["namespace-absent"]
    name: KubeName


class NamespaceLabels(_CheckBase):
    """The namespace carries ``present`` labels and lacks the ``absent`` keys."""

    kind: Literal["namespace-labels"]
    name: KubeName
    present: Labels = Field(default_factory=dict)
    absent: list[LabelKey] = Field(default_factory=list)

    @model_validator(mode="after")
    def _asks_something(self) -> NamespaceLabels:
        if not self.present and not self.absent:
            raise ValueError("give 'present' labels, 'absent' keys, or both")
        return self


class DeploymentReady(_CheckBase):
    """The Deployment has ``replicas`` ready and available replicas; on failure the
    check says why (image pull error, crash loop with log lines, pending reason).
    ``namespace`` may list candidates when installers differ (kube-system or
    calico-system)."""

    kind: Literal["deployment-ready"]
    namespace: KubeName | list[KubeName]
    name: KubeName
    replicas: int | None = Field(default=None, ge=0)
    """Ready replicas required; omitted means "as many as the spec asks"."""


class DaemonSetReady(_CheckBase):
    """The DaemonSet runs a ready pod on every node it schedules to."""

    kind: Literal["daemonset-ready"]
    namespace: KubeName | list[KubeName]
    name: KubeName


class ServiceExposes(_CheckBase):
    """The Service has this type and port, its selector matches running pods, and
    (unless ``ready_endpoints`` is 0) it has that many ready endpoints."""

    kind: Literal["service-exposes"]
    namespace: KubeName
    name: KubeName
    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    port: Port
    target_port: Port | KubeName | None = None
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    ready_endpoints: int = Field(default=1, ge=0)
    """Minimum number of ready endpoint addresses."""


class ResourceAbsent(_CheckBase):
    """No object of ``resource`` (optionally named ``name``) is left in the namespace."""

    kind: Literal["resource-absent"]
    namespace: KubeName
    resource: Literal[
        "networkpolicies", "pods", "deployments", "services", "configmaps", "secrets"
    ]
    name: KubeName | None = None


class SqlRows(_CheckBase):
    """Queried through ``kubectl exec``-style exec in the workload's pod, the table
    holds exactly the rows the SQL file ``rows_from`` inserts into it."""

    kind: Literal["sql-rows"]
    namespace: KubeName
    workload: NonEmptyStr = Field(pattern=r"^(deployment|statefulset|pod)/[a-z0-9.-]+$")
    """What to exec into, kubectl style: ``deployment/mysql``."""
    database: KubeName
    table: NonEmptyStr
    rows_from: AssetPath


class ProbeHttp(_CheckBase):
    """A short-lived busybox pod with ``from_labels`` fetches ``url`` with wget and
    the outcome is as expected; a reachable page may be required to contain text
    or to list every row that ``lists_rows_of`` (a SQL file) inserts."""

    kind: Literal["probe-http"]
    namespace: KubeName
    from_labels: Labels
    url: NonEmptyStr = Field(pattern=r"^https?://")
    expect: Literal["reachable", "timeout", "refused"]
    contains: list[NonEmptyStr] = Field(default_factory=list)
    lists_rows_of: AssetPath | None = None
    timeout_seconds: int = Field(default=5, ge=1, le=60)

    @model_validator(mode="after")
    def _body_only_when_reachable(self) -> ProbeHttp:
        if self.expect != "reachable" and (self.contains or self.lists_rows_of):
            raise ValueError(
                "'contains' and 'lists_rows_of' describe a page, so they need expect: reachable"
            )
        return self


class ProbeDns(_CheckBase):
    """A short-lived busybox pod with ``from_labels`` looks ``name`` up with nslookup."""

    kind: Literal["probe-dns"]
    namespace: KubeName
    from_labels: Labels
    name: DnsName
    expect: Literal["resolves", "fails"]


class PolicyMeaning(_CheckBase):
    """The NetworkPolicies in ``namespace`` mean the same as the reference set: the
    same connections allowed and denied over every pod the cluster has plus
    synthetic pods for every label either set mentions. ``also_accept`` lists
    other policy sets that count as correct (e.g. the classic DNS policy)."""

    kind: Literal["policy-meaning"]
    namespace: KubeName
    policies: list[KubeName] = Field(default_factory=list)
    """Compare only these policies of the namespace (by name); empty: all of them."""
    reference: list[AssetPath] = Field(min_length=1)
    also_accept: list[list[AssetPath]] = Field(default_factory=list)


class PolicyLint(_CheckBase):
    """The learner's own NetworkPolicy file has none of the mistakes labrunner's
    linter knows (mis-indented rules, selectors matching nothing, egress without
    DNS, ...). ``file`` is where the lab tells the learner to write it, relative to
    the directory they run labrunner from. Pending while the file does not exist."""

    kind: Literal["policy-lint"]
    file: NonEmptyStr


class Shell(_CheckBase):
    """An escape hatch: a POSIX sh script run on the learner's machine (with
    ``KUBECONFIG`` and the lab's parameters in its environment) must exit with
    ``exit_code``. Prefer a typed kind: this one cannot explain a failure beyond
    the script's own output."""

    kind: Literal["shell"]
    script: NonEmptyStr
    exit_code: int = 0
    timeout_seconds: int = Field(default=30, ge=1, le=600)


CHECK_MODELS: tuple[type[_CheckBase], ...] = (
    ClusterReachable,
    NodesReady,
    CommandAvailable,
    CniEnforcesPolicy,
    NamespaceActive,
    NamespaceAbsent,
    NamespaceLabels,
    DeploymentReady,
    DaemonSetReady,
    ServiceExposes,
    ResourceAbsent,
    SqlRows,
    ProbeHttp,
    ProbeDns,
    PolicyMeaning,
    PolicyLint,
    Shell,
)

CHECK_KINDS: tuple[str, ...] = tuple(
    model.model_fields["kind"].annotation.__args__[0]  # type: ignore[union-attr]
    for model in CHECK_MODELS
)

CheckDeclaration = Annotated[
    Union[CHECK_MODELS],  # type: ignore[valid-type]  # one list of kinds, above
    Field(discriminator="kind"),
]
