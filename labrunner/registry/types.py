"""What a topic registers: check kinds, the resources they read, requirements,
views, explainers of connections, CLI commands and cluster proofs.

Plain frozen values; nothing here imports a topic, the cluster client or a UI. A
check kind carries everything the rest of labrunner needs to know about it, so the
session's watch lists, selftest's rule, the TUI's keys and the lab format's
vocabulary are queries of the registry, never lists kept beside the kind.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

if TYPE_CHECKING:
    from labrunner.checks.nearmiss import NearMiss
    from labrunner.cluster.port import ClusterPort
    from labrunner.lab.check_args import CheckArgs

Status = Literal["passed", "failed", "error", "pending"]
Outcome = tuple[Status, str, list[str]]
"""(status, the sentence of what was found, details below it)."""
Expected = tuple[str, str, str | None]
"""An object a check needs to exist: (plural, name, namespace; None for a cluster-scoped one)."""

ArgsT = TypeVar("ArgsT", bound="CheckArgs")


@dataclass(frozen=True)
class CheckContext:
    """What a check may use besides its arguments."""

    cluster: ClusterPort
    parameters: Mapping[str, str] = field(default_factory=dict)
    """The lab's ``{{placeholders}}`` and their values (``namespace``, ``assets``, ...)."""
    near_misses: dict[Expected, NearMiss | None] = field(default_factory=dict, repr=False, compare=False)
    """What :meth:`near_object` found, by the object asked for: the runner does not search again."""

    def near_object(self, plural: str, name: str, namespace: str | None) -> str | None:
        """What exists instead of the absent ``plural`` ``name`` in ``namespace``: the same name in
        another namespace, a similar name here or elsewhere, in one sentence ("service mysql does
        not exist in networkdemo; there is a Service mysql-svc there (...)"); None when it exists
        or nothing near does. Never raises for a refused request."""
        from labrunner.checks.nearmiss import near_object

        near = near_object(self.cluster, plural, name, namespace)
        self.near_misses[(plural, name, namespace)] = near
        return near.sentence if near else None

    def near_labels(self, namespace: str, selector: Mapping[str, str]) -> str | None:
        """When ``selector`` (matchLabels) picks no pod in ``namespace``: the pods whose labels
        nearly match, or those with its labels in another namespace, in one sentence ("no pod in
        networkdemo carries app=mysql; 1 pod carries app=mysqldb (mysql-7d9f4-abcde)"); None when
        a pod matches or none is near."""
        from labrunner.checks.nearmiss import pods_near_selector

        return pods_near_selector(self.cluster, namespace, selector)


@dataclass(frozen=True, kw_only=True)
class CheckKind(Generic[ArgsT]):
    """One check kind: its arguments, its function and what the session, selftest and
    the faces need to know of it."""

    model: type[ArgsT]
    """The strict pydantic model of its arguments in lab.yaml (a :class:`CheckArgs`)."""
    run: Callable[[ArgsT, CheckContext], Outcome]
    watches: tuple[str, ...] | Callable[[ArgsT], tuple[str, ...]] = ()
    """Resources (plurals) whose changes can change the verdict: the session watches
    them, in the namespaces the lab's checks name (cluster-wide for cluster-scoped ones)."""
    polled: bool = False
    """It reads what no watch reports (rows inside a database, a file on the learner's
    disk, a script's view): the session re-runs it every few seconds while the step waits."""
    prerequisite: bool = False
    """Later steps build on what it checks (a namespace, a workload): re-checked on the
    steps before one the learner jumps to. Policies, probes and absences are not: a later
    step may rightly change them."""
    observes: bool = False
    """It only observes (a probe, a reachable cluster): selftest lets a step made only of
    such checks pass before its solution."""
    views: tuple[str, ...] = ()
    """Ids of :class:`View` s the TUI offers on a step with this check."""
    expects: Callable[[ArgsT], tuple[Expected, ...]] | None = None
    """The objects it needs to exist, (plural, name, namespace): when it fails and one is absent,
    the runner leads with what exists instead (:mod:`labrunner.checks.nearmiss`). None: derived
    from the arguments (:meth:`labrunner.registry.Registry.expected`); ``lambda args: ()`` for a
    kind that needs none (one checking an absence)."""

    @property
    def name(self) -> str:
        return kind_name(self.model)

    @property
    def asset_fields(self) -> frozenset[str]:
        """Argument names holding paths under ``assets/`` (the loader resolves and checks them)."""
        return asset_fields(self.model)


@dataclass(frozen=True, kw_only=True)
class Resource:
    """A Kubernetes resource labrunner reads or writes, as the API serves it."""

    plural: str
    kind: str
    group: str = ""
    version: str = "v1"
    namespaced: bool = True


@dataclass(frozen=True, kw_only=True)
class Requirement:
    """Something a lab may need from the learner's cluster or machine, named by id in
    lab.yaml's ``requirements:``; the picker runs its check on the chosen cluster."""

    id: str
    text: str
    """The sentence the picker shows."""
    check: Mapping[str, Any] | None = None
    """A check declaration (``kind`` plus arguments) proving it; None: it cannot be
    checked from here (the picker says so)."""
    lab_provides: bool = False
    """A lab needing it may set it up itself (a lab that installs Calico): unmet is
    "not yet", not a refusal."""


@dataclass(frozen=True, kw_only=True)
class View:
    """A screen of the TUI a topic offers on steps whose checks name it."""

    id: str
    key: str
    """The key that opens it in the workspace."""
    label: str
    """Short, for the footer."""
    description: str
    """For help and the command palette."""
    screen: str
    """``module:function`` building the Textual screen from ``(session, check)``;
    imported only by the TUI."""
    also_with: frozenset[str] = frozenset()
    """Other check kinds on whose steps the view is offered too, in labs that use it."""


@dataclass(frozen=True, kw_only=True)
class Connection:
    """A connection a probe made from a pod, to explain why it went as it did."""

    namespace: str
    labels: Mapping[str, str]
    url: str


@dataclass(frozen=True, kw_only=True)
class ProofStage:
    """One stage of a proof: what it looks at, said while it runs, and how."""

    name: str
    """Its key in the report (``plugin``, ``proof``)."""
    doing: str
    """Said on stderr while it runs ("looking for the network plugin")."""
    run: str
    """``module:function`` taking the cluster port and returning an :data:`Outcome`."""


@dataclass(frozen=True, kw_only=True)
class Proof:
    """A demonstration ``labrunner doctor`` runs on request (``--prove-<id>``): its stages
    in order; the proof holds when its last stage passed."""

    id: str
    help: str
    title: str
    """The heading of its part of the report ("NetworkPolicy enforcement")."""
    report_key: str
    """Its key in ``doctor --json``."""
    stages: tuple[ProofStage, ...]


@dataclass(frozen=True, kw_only=True)
class Topic:
    """A subject labs teach (NetworkPolicy, RBAC, storage, ...): one package under
    ``labrunner/topics`` (or an installed distribution's ``labrunner.topics`` entry
    point) whose module exposes ``TOPIC``."""

    name: str
    kinds: tuple[CheckKind[Any], ...] | str = ()
    """The kinds, or ``module:name`` of them: a topic's module stays cheap to import (the
    CLI's parser reads every topic's ``commands``; the kinds' models need pydantic)."""
    resources: tuple[Resource, ...] = ()
    requirements: tuple[Requirement, ...] = ()
    views: tuple[View, ...] = ()
    explainers: tuple[Callable[[ClusterPort, Connection], list[str]], ...] = ()
    """Why a probe's connection got the answer it did (the policy responsible, ...):
    asked when a probe's outcome is not the expected one."""
    commands: str | None = None
    """``module:function`` adding the topic's subcommands to the CLI's parser
    (``function(subparsers, lazy)``); imported only when the parser is built."""
    proofs: tuple[Proof, ...] = ()
    dataplane: str | None = None
    """``module:name`` of the topic's hook into the sandbox's data plane."""
    connection_resources: tuple[str, ...] = ()
    """Resources whose changes can change whether a connection is allowed (probes watch them)."""


def kind_name(model: type[CheckArgs]) -> str:
    annotation = model.model_fields["kind"].annotation
    (name,) = typing.get_args(annotation)
    return str(name)


def asset_fields(model: type[CheckArgs]) -> frozenset[str]:
    from labrunner.lab.fields import AssetPath

    asset_type = typing.get_args(AssetPath)[1]

    def mentions_asset(annotation: Any) -> bool:
        if any(meta is asset_type for meta in getattr(annotation, "__metadata__", ())):
            return True
        return any(mentions_asset(arg) for arg in typing.get_args(annotation))

    return frozenset(name for name, info in model.model_fields.items()
                     if any(meta is asset_type for meta in info.metadata) or mentions_asset(info.annotation))
