"""What the API server does on a write of a Job or a CronJob: their defaults, the generated
selector, validateJobSpec's and validateCronJobSpec's checks in their words (a schedule as
robfig/cron parses it, the time zone, a Job's pods that must end), and a Job's immutable fields."""

from __future__ import annotations

import copy
from typing import Any

from labrunner.sandbox.defaults import InvalidService, generate_job_selector, workload_defaults
from labrunner.sandbox.store import Store


def _restart_policy_problem(pod_spec: dict[str, Any], failure_policy: bool, path: str) -> InvalidService | None:
    """validateJobSpec's restartPolicy rule (a Job's pods must end)."""
    policy = pod_spec.get("restartPolicy") or ""
    if policy in ("Always", ""):
        return InvalidService(path, 'Required value: valid values: "OnFailure", "Never"')
    if policy not in ("OnFailure", "Never"):
        return InvalidService(path, f'Unsupported value: "{policy}": supported values: "OnFailure", "Never"')
    if failure_policy and policy != "Never":
        return InvalidService(path, f'Invalid value: "{policy}": only "Never" is supported when podFailurePolicy is specified')
    return None


def _job_spec_problem(spec: dict[str, Any], prefix: str) -> InvalidService | None:
    """The first of validateJobSpec's complaints the sandbox checks, in its words."""
    for name in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"):
        value = spec.get(name)
        if isinstance(value, int) and value < 0:
            return InvalidService(f"{prefix}.{name}", f"Invalid value: {value}: must be greater than or equal to 0")
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        return InvalidService(f"{prefix}.completionMode", f'Unsupported value: "{mode}": supported values: "NonIndexed", "Indexed"')
    if mode == "Indexed" and spec.get("completions") is None:
        return InvalidService(f"{prefix}.completions", "Required value: when completion mode is Indexed")
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    return _restart_policy_problem(pod_spec, bool(spec.get("podFailurePolicy")), f"{prefix}.template.spec.restartPolicy")


def job_defaults(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
    """Job defaults, the generated selector, validation on create and the immutable fields on update.

    Raises:
        InvalidService: the API server's 422 text for the field.
    """
    if previous is not None and not obj["metadata"].get("uid"):
        obj["metadata"]["uid"] = previous["metadata"].get("uid")
    workload_defaults("jobs", obj)
    spec = obj["spec"]
    if spec.get("manualSelector") and not spec.get("selector"):
        raise InvalidService("spec.selector", "Required value")
    if problem := _job_spec_problem(spec, "spec"):
        raise problem
    if previous is None:
        return
    old = previous.get("spec") or {}
    if spec.get("completionMode") != "Indexed" and spec.get("completions") != old.get("completions"):
        shown = "nil" if spec.get("completions") is None else spec["completions"]
        raise InvalidService("spec.completions", f"Invalid value: {shown}: field is immutable")
    previous_template = copy.deepcopy(previous)
    if previous_template["metadata"].get("uid"):
        generate_job_selector(previous_template)  # a Job created a moment ago may not have its labels yet
    if spec.get("template") != previous_template["spec"].get("template"):
        # The Go value the API server prints is the whole PodTemplateSpec; the sandbox abridges it.
        raise InvalidService("spec.template", "Invalid value: core.PodTemplateSpec{...}: field is immutable")


def cronjob_defaults(obj: dict[str, Any], store: Store | None, previous: dict[str, Any] | None) -> None:
    """CronJob defaults and validateCronJobSpec's checks: the schedule as robfig/cron parses it,
    the time zone, the concurrency policy, the job template's restart policy and generated selector.

    Raises:
        InvalidService: the API server's 422 text for the field.
    """
    from labrunner.sandbox.controllers.cronjob import ScheduleError, load_zone, parse_schedule

    workload_defaults("cronjobs", obj)
    spec = obj["spec"]
    name = str(obj["metadata"].get("name", ""))
    if previous is None and len(name) > 52:
        raise InvalidService("metadata.name", f'Invalid value: "{name}": must be no more than 52 characters')
    schedule = str(spec.get("schedule") or "")
    if not schedule:
        raise InvalidService("spec.schedule", "Required value")
    try:
        parse_schedule(schedule.split(" ", 1)[1] if schedule.startswith(("TZ=", "CRON_TZ=")) and " " in schedule else schedule)
    except ScheduleError as error:
        raise InvalidService("spec.schedule", f'Invalid value: "{schedule}": {error}') from None
    if "TZ" in schedule and "TZ" not in str((previous or {}).get("spec", {}).get("schedule", "")):
        raise InvalidService("spec.schedule", f'Invalid value: "{schedule}": cannot use TZ or CRON_TZ in schedule, use timeZone field instead')
    zone = spec.get("timeZone")
    if zone is not None and (previous is None or zone != (previous.get("spec") or {}).get("timeZone")):
        if zone == "":
            raise InvalidService("spec.timeZone", 'Invalid value: "": timeZone must be nil or non-empty string')
        if str(zone).lower() == "local":
            raise InvalidService("spec.timeZone", f'Invalid value: "{zone}": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones')
        try:
            load_zone(str(zone))
        except ScheduleError as error:
            raise InvalidService("spec.timeZone", f'Invalid value: "{zone}": {error}') from None
    policy = spec.get("concurrencyPolicy")
    if policy not in ("Allow", "Forbid", "Replace"):
        raise InvalidService("spec.concurrencyPolicy", f'Unsupported value: "{policy}": supported values: "Allow", "Forbid", "Replace"')
    for name_ in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        value = spec.get(name_)
        if isinstance(value, int) and value < 0:
            raise InvalidService(f"spec.{name_}", f"Invalid value: {value}: must be greater than or equal to 0")
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    if job_spec.get("manualSelector"):
        raise InvalidService("spec.jobTemplate.spec.manualSelector", 'Unsupported value: true: supported values: "nil", "false"')
    if problem := _job_spec_problem(job_spec, "spec.jobTemplate.spec"):
        raise problem
