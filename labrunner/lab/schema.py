"""The shape of ``lab.yaml``, as strict pydantic models: the file boundary.

Strict mode refuses type coercion, so YAML 1.1's unquoted ``no``/``on`` (read as
booleans) and ``1:30`` (read as 5400) fail where a string is meant instead of
slipping through. ``extra="forbid"`` turns every misspelt key into an error.
The loader turns validated models into the frozen dataclasses of
``labrunner.lab.model``; nothing past the loader sees these classes.
``labs/lab.schema.json`` is generated from :class:`LabFile`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag

from labrunner.lab.check_kinds import declaration_type
from labrunner.lab.domains import DOMAINS
from labrunner.lab.fields import AssetPath, ImageLike, ImageRepository, MarkdownPath, NonEmptyStr, Port, Slug

CKA_DOMAINS = tuple(domain.id for domain in DOMAINS)
"""The five domains of the CKA curriculum, used as lab tags (labrunner.lab.domains)."""

def requirement_ids() -> tuple[str, ...]:
    """What a lab may need from the learner's cluster: the requirements topics register."""
    from labrunner.registry import registry

    return tuple(requirement.id for requirement in registry().requirements)


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, use_attribute_docstrings=True)


class CommandFile(_Strict):
    """A command the learner types, with the one line that says what it does."""

    run: NonEmptyStr
    explain: NonEmptyStr
    inside: NonEmptyStr | None = None
    """Where to type it when not in the learner's own shell ("the busybox shell");
    such a command is shown and copied, never run on the learner's machine."""
    output: str | None = None
    """What the command prints on a healthy cluster (shown, never compared)."""


ClusterKind = Literal["sandbox", "kind", "minikube", "k3d", "other"]
"""Kinds of cluster a solution action may be limited to."""


class _Action(_Strict):
    explain: str | None = None
    only_on: list[ClusterKind] = Field(default_factory=list)
    """Run this action only on these kinds of cluster (empty: on every cluster)."""


class RunAction(_Action):
    """A solution step that runs a shell command (non-interactive)."""

    run: NonEmptyStr


class ApplyAction(_Action):
    """A solution step that applies a manifest from ``assets/`` to the lab's namespace."""

    apply: AssetPath


def _action_kind(value: object) -> str | None:
    if isinstance(value, dict):
        return "run" if "run" in value else "apply" if "apply" in value else None
    return None


SolutionActionFile = Annotated[
    Annotated[RunAction, Tag("run")] | Annotated[ApplyAction, Tag("apply")],
    Discriminator(
        _action_kind,
        custom_error_type="solution_action",
        custom_error_message="a solution action needs 'run' (a command) or 'apply' (a manifest)",
    ),
]


class ParameterFile(_Strict):
    """A value a lab can be run with, substituted for ``{{name}}`` everywhere."""

    default: NonEmptyStr
    kind: Literal["namespace", "name", "number"] = "name"
    """``namespace`` values must be DNS labels; workshop and exam modes replace them. A
    ``number`` (a port, a replica count) is written ``"{{port}}"`` where an argument wants an integer."""
    description: NonEmptyStr


class ImagePortFile(_Strict):
    """A port a declared image's server listens on, with its protocol."""

    port: Port
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"


def _port_kind(value: object) -> str:
    return "mapping" if isinstance(value, dict) else "number"


ImagePort = Annotated[
    Annotated[Port, Tag("number")] | Annotated[ImagePortFile, Tag("mapping")],
    Discriminator(_port_kind),
]
"""``8080``, or ``{port: 53, protocol: UDP}``: only the form written is checked, so a mistake
in one is not also reported as not being the other."""


def _absolute(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not an absolute path in the image, e.g. '/usr/share/nginx/html'")
    return value


class ImageFile(_Strict):
    """An image the sandbox's table lacks, declared by the lab: the sandbox then pulls it and
    runs it as the ``like`` image runs (real clusters pull it from its registry)."""

    name: ImageRepository
    """The image's repository, without a tag: ``ghcr.io/acme/shop`` (every plausible tag of it pulls)."""
    like: ImageLike = "busybox"
    """An image of the sandbox's table whose behaviour it borrows: ``nginx`` (a static web
    server), ``php`` (Apache with PHP), ``traefik/whoami``, ``busybox`` (a shell image)..."""
    ports: list[ImagePort] = Field(default_factory=list)
    """The ports its server listens on (replacing the ``like`` image's): ``8080`` or ``{port: 53, protocol: UDP}``."""
    docroot: Annotated[NonEmptyStr, AfterValidator(_absolute)] | None = None
    """Where a web server's files are (replacing the ``like`` image's)."""
    command: list[NonEmptyStr] | None = Field(default=None, min_length=1)
    """What it runs when a pod gives no command (its ENTRYPOINT and CMD, replacing the ``like`` image's)."""


class StepFile(_Strict):
    id: Slug
    title: NonEmptyStr
    instructions: MarkdownPath
    commands: list[CommandFile] = Field(min_length=1)
    hints: list[NonEmptyStr] = Field(min_length=1, max_length=3)
    solution: list[SolutionActionFile] = Field(min_length=1)
    checks: list[declaration_type()] = Field(min_length=1)  # type: ignore[valid-type]  # the registry's kinds
    scope: Literal["namespace", "cluster"] = "namespace"
    """``cluster``: the step needs cluster-wide rights (creating namespaces, installing a CNI,
    labelling kube-system, cluster-scoped objects, objects in ``default``); in a workshop the
    instructor does it once for every learner, whose own rights end at their namespaces."""
    setup: list[SolutionActionFile] = Field(default_factory=list)
    """What labrunner runs when the step begins (the TUI opens it, ``labrunner setup LAB STEP``,
    or a solve): the state the learner starts from, often a broken one to repair. Undone by
    the step's reset."""
    reset: list[SolutionActionFile] | None = None
    """How to undo the step (``labrunner reset LAB STEP``); by default, delete what its
    ``apply:`` actions (its setup's and its solution's) created. ``[]`` when there is nothing to undo."""


class DrawFile(_Strict):
    """How an exam draws a parameter's value for each attempt: one of ``choices``, or a
    ``pattern`` whose ``{word}``, ``{hex4}`` and ``{hex6}`` are drawn (``{word}-{hex4}``)."""

    choices: list[NonEmptyStr] | None = Field(default=None, min_length=2)
    pattern: NonEmptyStr | None = None


class SubtaskFile(_Strict):
    """A scored part of an exam task: it passes when every check it names passes."""

    id: Slug
    title: NonEmptyStr
    """What the candidate had to do, as the review lists it."""
    points: int = Field(ge=1, le=20)
    why: NonEmptyStr
    """Why it matters, for the review: what a cluster or its users lose when it is not done."""
    checks: list[NonEmptyStr] = Field(min_length=1)
    """Ids of the step's checks (give the checks explicit ids)."""


class ExamFile(_Strict):
    """What makes a one-step lab an exam task: how it is scored and drawn."""

    runtime: Literal["sandbox", "cluster", "node"]
    """Where it can run: ``sandbox`` (the built-in sandbox and any cluster), ``cluster`` (a real
    cluster), ``node`` (a real cluster whose nodes the candidate can reach, e.g. kind's)."""
    legacy: bool = False
    """A topic the 2025 curriculum dropped (etcd backup, kubeadm upgrade): drawn only when asked for."""
    draw: dict[Slug, DrawFile] = Field(default_factory=dict)
    """Parameters drawn afresh for each attempt (the same seed draws the same values)."""
    subtasks: list[SubtaskFile] = Field(min_length=1)


class LabFile(_Strict):
    """One lab: ``labs/<id>/lab.yaml``."""

    id: Slug
    title: NonEmptyStr
    summary: NonEmptyStr
    minutes: int = Field(ge=1, le=600)
    """Estimated time for a first attempt, in minutes."""
    level: Literal["beginner", "intermediate", "advanced"]
    tags: list[Literal[CKA_DOMAINS]] = Field(min_length=1)  # type: ignore[valid-type]
    requirements: list[Literal[requirement_ids()]] = Field(default=[])  # type: ignore[valid-type]  # the registry's ids; pydantic copies the default
    parameters: dict[Slug, ParameterFile] = Field(default_factory=dict)
    steps: list[StepFile] = Field(min_length=1)
    reset: list[SolutionActionFile] | None = None
    """How to put the cluster back as it was before the lab (``labrunner reset LAB``);
    by default, delete the namespaces the lab's parameters name."""
    images: list[ImageFile] = Field(default_factory=list)
    """Images the lab uses that the sandbox does not simulate, declared for it (a real
    cluster pulls them from their registry)."""
    exam: ExamFile | None = None
    """An exam task: a lab of one step, scored by sub-tasks (``exams/<id>/lab.yaml``)."""

