"""Helping one learner in place: re-checking their claims with the instructor's credentials, and
resetting their lab (or back to a step) without touching anyone else's.

A learner's record is a claim (they can write it). ``verify`` loads the lab with the learner's
parameters and runs the steps' checks through :mod:`labrunner.checks.runner` as the instructor:
the current step (or the one asked for) with every check; earlier steps the learner claims with
their *prerequisite* checks only (what later steps build on: a later step may rightly undo a
policy or a probe's verdict, as ``Session.jump`` knows). Each result goes into the learner's
``verified-ID`` ConfigMap, which only the instructor can write, so an export marks every result
self-reported, verified or disputed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from labrunner.checks.result import step_status
from labrunner.checks.runner import run_check, run_step
from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.lab.model import Lab, Step
from labrunner.registry import registry
from labrunner.session.actions import ActionResult, cluster_kind, reset_commands, run_commands
from labrunner.workshop import names, objects
from labrunner.workshop.reader import LearnerState, read_room
from labrunner.workshop.records import ProgressRecord, Verification, Verified, first_unmet
from labrunner.workshop.service import Done, Report, WorkshopError, ensure, ensure_namespace, lab_texts, load_lab
from labrunner.workshop.sizing import size_for


@dataclass(frozen=True)
class StepVerdict:
    step: Step
    claimed: str | None
    verified: Verified

    @property
    def agrees(self) -> bool:
        return self.verified.agrees


def learner_lab(cluster: ClusterPort, workshop: str, learner: str) -> tuple[Lab, LearnerState]:
    """The workshop's lab loaded with ``learner``'s parameters, and the learner as the room has them.

    Raises:
        NoWorkshop, WorkshopError (no such learner), LabInvalid.
    """
    room = read_room(cluster, workshop)
    try:
        ident = names.learner_of([entry.id for entry in room.learners], learner)
    except names.BadName as bad:
        raise WorkshopError(str(bad), f"labrunner workshop status {workshop} lists them") from None
    state = room.learner(ident)
    return load_lab(room.workshop.lab, dict(state.parameters)), state


def steps_to_verify(lab: Lab, record: ProgressRecord, step: Step | None) -> list[tuple[Step, str]]:
    """(step, scope): the step asked for in full; by default the current step in full and every
    other step the learner claims, prerequisites only (pure)."""
    if step is not None:
        return [(step, "full")]
    current = record.current or (lab.steps[0].id if lab.steps else None)
    chosen = []
    for candidate in lab.steps:
        if candidate.id == current:
            chosen.append((candidate, "full"))
        elif (claim := record.steps.get(candidate.id)) is not None and claim.status is not None:
            chosen.append((candidate, "prerequisites"))
    return chosen


def verify(cluster: ClusterPort, workshop: str, learner: str, *, step: str | None = None,
           on_step: Callable[[Step], None] | None = None) -> tuple[LearnerState, list[StepVerdict]]:
    """Re-check ``learner``'s steps with these (the instructor's) credentials, and record it."""
    lab, state = learner_lab(cluster, workshop, learner)
    chosen = lab.step(step) if step is not None else None
    record = state.record
    verdicts = []
    for candidate, scope in steps_to_verify(lab, record, chosen):
        if on_step is not None:
            on_step(candidate)
        if scope == "full":
            results = run_step(candidate, cluster, lab.placeholder_values)
        else:
            checks = [c for c in candidate.checks if registry().is_prerequisite(c) and not c.advisory]
            if not checks:
                continue  # nothing a later step keeps: only the learner's word
            results = [run_check(c, candidate, cluster, lab.placeholder_values) for c in checks]
        status = step_status(results)
        claim = record.steps.get(candidate.id)
        _, message = first_unmet(r.as_json() for r in results)
        verdicts.append(StepVerdict(candidate, claim.status if claim else None,
                                    Verified(status, time.time(), scope, message, claim.status if claim else None,
                                             claim.at if claim else None)))
    _record(cluster, workshop, state.id, {v.step.id: v.verified for v in verdicts})
    return state, verdicts


def _record(cluster: ClusterPort, workshop: str, learner: str, verified: dict[str, Verified]) -> None:
    if not verified:
        return
    try:
        by = str(cluster.whoami().get("username") or "")
    except errors.ClusterError:
        by = ""
    namespace = names.namespace(workshop)
    for _ in range(8):
        try:
            found = cluster.get("configmaps", names.verified(learner), namespace)
        except errors.NotFound:
            ensure(cluster, objects.verification_record(workshop, learner), rewrite=False)
            continue
        have = Verification.decode(found.get("data"))
        merged = Verification({**have.steps, **verified}, by or have.by)
        try:
            cluster.update({**found, "data": merged.encode()}, namespace)
            return
        except errors.Conflict:
            continue
    raise WorkshopError(f"configmap {names.verified(learner)} kept changing; verify again")


# -- reset --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResetOutcome:
    state: LearnerState
    to: Step | None
    actions: tuple[ActionResult, ...]
    done: tuple[Done, ...]

    @property
    def failed(self) -> tuple[ActionResult, ...]:
        return tuple(a for a in self.actions if a.exit_code != 0)


def reset(cluster: ClusterPort, workshop: str, learner: str, *, to_step: str | None = None,
          on_command: Callable[[str], None] | None = None, report: Callable[[Done], None] | None = None) -> ResetOutcome:
    """Undo ``learner``'s lab with its own reset commands (all of it, or each step from the
    furthest they reached back to ``to_step``) against their namespaces, put back what the
    workshop gave them (namespaces, quota, limits, their admin binding), then reset their record
    (its epoch moves, so the learner's labrunner forgets its copy)."""
    lab, state = learner_lab(cluster, workshop, learner)
    target = lab.step(to_step) if to_step is not None else None
    kind = cluster_kind(cluster.info)
    record = state.record
    actions: list[ActionResult] = []
    if target is None:
        commands = reset_commands(lab, None, kind)
        actions += _run(commands, cluster, lab, on_command)
        undone: Sequence[Step] = lab.steps
    else:
        reached = max([target.number, *(s.number for s in lab.steps if s.id in record.steps or s.id == record.current)])
        undone = lab.steps[target.number: reached + 1]
        for step in reversed(undone):
            actions += _run(reset_commands(lab, step, kind), cluster, lab, on_command)
    done = _restore(cluster, workshop, state, lab, report)
    _reset_record(cluster, workshop, state.id, target.id if target else None, [s.id for s in undone])
    _forget_verified(cluster, workshop, state.id, [s.id for s in undone])
    return ResetOutcome(state, target, tuple(actions), tuple(done))


def _run(commands: Sequence[str], cluster: ClusterPort, lab: Lab, on_command: Callable[[str], None] | None) -> list[ActionResult]:
    results = []
    for command in commands:  # one at a time, on past a failure: the next step's undoing may still apply
        if on_command is not None:
            on_command(command)
        results += run_commands([command], cluster.info, lab.placeholder_values)
    return results


def _restore(cluster: ClusterPort, workshop: str, state: LearnerState, lab: Lab, report: Report | None) -> list[Done]:
    sizing = size_for(lab_texts(lab))
    done = []
    for namespace in state.namespaces:
        done.append(ensure_namespace(cluster, objects.learner_namespace(workshop, state.id, namespace), workshop))
        for obj in objects.namespace_objects(workshop, state.id, namespace, sizing):
            done.append(ensure(cluster, obj))
    for item in done:
        if report is not None and item.action != "unchanged":
            report(item)
    return done


def _forget_verified(cluster: ClusterPort, workshop: str, learner: str, steps: Sequence[str]) -> None:
    """Verifications of undone steps no longer describe anything on the cluster."""
    namespace = names.namespace(workshop)
    for _ in range(8):
        try:
            found = cluster.get("configmaps", names.verified(learner), namespace)
        except errors.NotFound:
            return
        have = Verification.decode(found.get("data"))
        kept = Verification({k: v for k, v in have.steps.items() if k not in steps}, have.by)
        if kept == have:
            return
        try:
            cluster.update({**found, "data": kept.encode()}, namespace)
            return
        except errors.Conflict:
            continue


def _reset_record(cluster: ClusterPort, workshop: str, learner: str, step: str | None, undone: Sequence[str]) -> None:
    namespace = names.namespace(workshop)
    for _ in range(8):
        found = cluster.get("configmaps", names.progress(learner), namespace)
        record = ProgressRecord.decode(found.get("data"))
        changed = record.reset_to(step, undone, time.time())
        try:
            cluster.update({**found, "data": changed.encode()}, namespace)
            return
        except errors.Conflict:
            continue
    raise WorkshopError(f"configmap {names.progress(learner)} kept changing; reset again")


__all__ = ["StepVerdict", "ResetOutcome", "verify", "reset", "steps_to_verify"]
