"""A Job run to completion, and a CronJob with a Job of its own completed; and why not."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import KubeName, NonEmptyStr
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.topics.basics.workloads import pod_problems
from labrunner.topics.workloads.common import find, owned_by

REFUSED_ALWAYS = ('if kubectl answered spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never", '
                  "the pod template said restartPolicy: Always (or nothing, in a manifest copied from a Deployment): "
                  "a Job's pods must be allowed to end, so the API refuses Always; set restartPolicy: Never or OnFailure")


class JobComplete(CheckArgs):
    """The Job ``name`` has completed (condition Complete), with ``completions`` succeeded pods if given."""

    kind: Literal["job-complete"]
    namespace: KubeName
    name: KubeName
    completions: int | None = None


class CronJobRan(CheckArgs):
    """The CronJob ``name`` exists, is not suspended, has ``schedule`` if given, and a Job it
    owns (one it scheduled, or ``kubectl create job --from=cronjob/NAME``) has completed."""

    kind: Literal["cronjob-ran"]
    namespace: KubeName
    name: KubeName
    schedule: NonEmptyStr | None = None


def _condition(job: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    return next((c for c in (job.get("status") or {}).get("conditions") or [] if c.get("type") == kind and c.get("status") == "True"), None)


def _last_log(cluster: ClusterPort, namespace: str, job: Mapping[str, Any]) -> list[str]:
    selector = ((job.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    labels = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    for pod in reversed(cluster.list("pods", namespace, labels=labels)):
        if (pod.get("status") or {}).get("phase") == "Failed" or any(
                int(s.get("restartCount", 0)) for s in (pod.get("status") or {}).get("containerStatuses") or []):
            try:
                tail = cluster.logs(pod["metadata"]["name"], namespace, tail=3).strip()
            except errors.ClusterError:
                continue
            return [f"pod {pod['metadata']['name']}'s last log lines: {' | '.join(tail.splitlines())}"] if tail else []
    return []


def job_state(cluster: ClusterPort, namespace: str, job: Mapping[str, Any], wanted: int | None) -> Outcome:
    name, status = job["metadata"]["name"], job.get("status") or {}
    spec = job.get("spec") or {}
    completions = int(spec.get("completions") or 1)
    if wanted is not None and completions != wanted:
        return "failed", f"job {name}: spec.completions is {spec.get('completions', 1)}; this step wants {wanted}", []
    succeeded = int(status.get("succeeded", 0))
    if _condition(job, "Complete"):
        return "passed", f"job {name} has completed: {succeeded}/{completions} pod(s) succeeded", []
    failed = _condition(job, "Failed")
    if failed:
        return "failed", (f"job {name} has failed ({failed.get('reason')}): {failed.get('message')}; "
                          f"{status.get('failed', 0)} pod(s) failed"), _last_log(cluster, namespace, job)
    problems, _ = pod_problems(cluster, namespace, spec.get("selector"))
    if problems:
        return "failed", f"job {name} has {succeeded}/{completions} succeeded: {problems[0]}", problems[1:]
    if int(status.get("failed", 0)):
        return "pending", (f"job {name} has {succeeded}/{completions} succeeded and {status['failed']} failed pod(s) so far; "
                           f"it retries up to backoffLimit {spec.get('backoffLimit', 6)}"), _last_log(cluster, namespace, job)
    if spec.get("suspend"):
        return "failed", f"job {name}: spec.suspend is true: it starts no pod until resumed", []
    return "pending", f"job {name} is running: {succeeded}/{completions} succeeded, {status.get('active', 0)} active", []


def job_complete(args: JobComplete, context: CheckContext) -> Outcome:
    job = find(context.cluster, "jobs", args.name, args.namespace)
    if job is None:
        return "failed", f"job {args.name} does not exist in {args.namespace}", [REFUSED_ALWAYS]
    return job_state(context.cluster, args.namespace, job, args.completions)


def cronjob_ran(args: CronJobRan, context: CheckContext) -> Outcome:
    cluster, name = context.cluster, args.name
    cronjob = find(cluster, "cronjobs", name, args.namespace)
    if cronjob is None:
        return "failed", f"cronjob {name} does not exist in {args.namespace}", [REFUSED_ALWAYS.replace(
            "spec.template", "spec.jobTemplate.spec.template")]
    spec = cronjob.get("spec") or {}
    if args.schedule is not None and " ".join(str(spec.get("schedule", "")).split()) != " ".join(args.schedule.split()):
        return "failed", f"cronjob {name}: spec.schedule is {spec.get('schedule')!r}; this step wants {args.schedule!r}", []
    if spec.get("suspend"):
        return "failed", f"cronjob {name}: spec.suspend is true: it schedules no Job until resumed", [
            f"kubectl patch cronjob {name} -p '{{\"spec\":{{\"suspend\":false}}}}'"]
    jobs = [job for job in cluster.list("jobs", args.namespace) if owned_by(job, cronjob)]
    if not jobs:
        return "failed", (f"cronjob {name} has run no Job yet: it runs at its schedule ({spec.get('schedule')}), "
                          f"or at once with kubectl create job {name}-now --from=cronjob/{name}"), []
    outcomes = [job_state(cluster, args.namespace, job, None) for job in jobs]
    done = [job["metadata"]["name"] for job, outcome in zip(jobs, outcomes) if outcome[0] == "passed"]
    if done:
        return "passed", f"cronjob {name} (schedule {spec.get('schedule')}) has a completed Job: {', '.join(done)}", []
    status, message, details = outcomes[-1]
    return status, f"cronjob {name}'s newest Job has not completed: {message}", details


KINDS = (
    CheckKind(model=JobComplete, run=job_complete, watches=("jobs", "pods")),
    CheckKind(model=CronJobRan, run=cronjob_ran, watches=("cronjobs", "jobs", "pods")),
)
