"""The CronJob controller, as kube-controller-manager's cronjob_controllerv2.go and utils.go: at
each scheduled time a Job ``<cronjob>-<scheduled time in minutes since the epoch>`` from the
jobTemplate, with the concurrency policy, the starting deadline, suspend, the active list, the last
schedule and success times, and the finished Jobs beyond the history limits deleted.

The schedule runs on the wall clock, never scaled: ``LABRUNNER_SANDBOX_TIME_SCALE`` shortens the
simulated waits (sleeps, back-offs, deadlines), but a cron minute is a minute of the clock a learner
reads, so ``*/1 * * * *`` makes a Job each real minute, as on a cluster. The decision is a pure
function of the CronJob, its Jobs and the time (:func:`decide`), tested with an injected clock.

The schedule is robfig/cron's standard parser (what the API server validates with and the
controller runs): five fields, names for months and weekdays, ranges, steps, lists, ``?``, the
``@hourly``-style descriptors and ``@every``; ``timeZone`` names an IANA zone (UTC without one, as
the sandbox's controller manager runs in UTC).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from labrunner.sandbox import resources
from labrunner.sandbox.controllers.shared import Cluster, owner_reference
from labrunner.sandbox.defaults import workload_defaults
from labrunner.sandbox.resources import ResourceType
from labrunner.sandbox.store import AlreadyExists, NotFound, seconds


def _rt(plural: str) -> ResourceType:
    found = resources.lookup("batch", "v1", plural)
    assert found is not None
    return found


JOBS, CRONJOBS = _rt("jobs"), _rt("cronjobs")
COMPONENT = "cronjob-controller"
SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"


# -- the schedule: robfig/cron v3's standard parser --------------------------------------------

class ScheduleError(ValueError):
    """The parser's own words, as the API server quotes them (``expected exactly 5 fields, found 1: x``)."""


_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_DAYS = {name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = ((0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (0, 6, _DAYS))
_DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
                "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: the allowed values of each field (and whether the day fields were ``*``),
    or a fixed interval for ``@every``."""

    fields: tuple[frozenset[int], ...] = ()
    dom_star: bool = False
    dow_star: bool = False
    every: float = 0.0
    zone: tzinfo = field(default=timezone.utc)

    def next(self, after: datetime) -> datetime:
        """The first time strictly after ``after`` that the schedule names (robfig's SpecSchedule.Next)."""
        if self.every:
            step = max(1.0, float(int(self.every)))  # @every rounds down to whole seconds, at least one
            base = after.replace(microsecond=0)
            return base + timedelta(seconds=step)
        minutes, hours, days, months, weekdays = self.fields
        moment = after.astimezone(self.zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = moment + timedelta(days=366 * 5)
        while moment < limit:
            if moment.month not in months:
                year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
                moment = moment.replace(year=year, month=month, day=1, hour=0, minute=0)
                continue
            if not self._day_matches(moment):
                moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if moment.hour not in hours:
                moment = (moment + timedelta(hours=1)).replace(minute=0)
                continue
            if moment.minute not in minutes:
                moment += timedelta(minutes=1)
                continue
            return moment
        return datetime.min.replace(tzinfo=timezone.utc)  # no time matches (30 February): robfig's zero time

    def _day_matches(self, moment: datetime) -> bool:
        dom = moment.day in self.fields[2]
        dow = (moment.isoweekday() % 7) in self.fields[4]
        if self.dom_star or self.dow_star:
            return dom and dow
        return dom or dow


def _number(text: str) -> int:
    if not text.isdigit():
        if text.startswith("-") and text[1:].isdigit():
            raise ScheduleError(f"negative number ({text}) not allowed: {text}")
        raise ScheduleError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax')
    return int(text)


def _field_values(text: str, low: int, high: int, names: dict[str, int]) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    star = False
    for expression in text.split(","):
        range_and_step = expression.split("/")
        low_and_high = range_and_step[0].split("-")
        single = len(low_and_high) == 1
        this_star = False
        if low_and_high[0] in ("*", "?"):
            start, end, this_star = low, high, True
        else:
            named_start = names.get(low_and_high[0].lower())
            start = named_start if named_start is not None else _number(low_and_high[0])
            if len(low_and_high) == 1:
                end = start
            elif len(low_and_high) == 2:
                named = names.get(low_and_high[1].lower())
                end = named if named is not None else _number(low_and_high[1])
            else:
                raise ScheduleError(f"too many hyphens: {expression}")
        if len(range_and_step) == 1:
            step = 1
        elif len(range_and_step) == 2:
            step = _number(range_and_step[1])
            if single:
                end = high
            if step > 1:
                this_star = False
        else:
            raise ScheduleError(f"too many slashes: {expression}")
        if start < low:
            raise ScheduleError(f"beginning of range ({start}) below minimum ({low}): {expression}")
        if end > high:
            raise ScheduleError(f"end of range ({end}) above maximum ({high}): {expression}")
        if start > end:
            raise ScheduleError(f"beginning of range ({start}) beyond end of range ({end}): {expression}")
        if step == 0:
            raise ScheduleError(f"step of range should be a positive number: {expression}")
        values.update(range(start, end + 1, step))
        star = star or this_star
    return frozenset(values), star


def _go_duration(text: str) -> float:
    if not text or _GO_DURATION.sub("", text) != "":
        raise ScheduleError(f'failed to parse duration @every {text}: time: invalid duration "{text}"')
    return sum(float(amount) * _UNITS[unit] for amount, unit in _GO_DURATION.findall(text))


def parse_schedule(text: str, zone: str | None = None) -> Schedule:
    """robfig/cron's ParseStandard, in ``zone`` (a ``CRON_TZ=``/``TZ=`` prefix too, as the parser reads it).

    Raises:
        ScheduleError: with the parser's message.
    """
    location: tzinfo = timezone.utc
    spec = text.strip()
    if spec.startswith(("TZ=", "CRON_TZ=")):
        name, _, spec = spec.partition(" ")
        zone = name.split("=", 1)[1]
        spec = spec.strip()
        try:
            location = load_zone(zone)
        except ScheduleError as error:
            raise ScheduleError(f"provided bad location {zone}: {error}") from None
    elif zone:
        location = load_zone(zone)
    if not spec:
        raise ScheduleError("empty spec string")
    if spec.startswith("@"):
        if spec.startswith("@every "):
            return Schedule(every=_go_duration(spec[len("@every "):].strip()), zone=location)
        if spec not in _DESCRIPTORS:
            raise ScheduleError(f"unrecognized descriptor: {spec}")
        spec = _DESCRIPTORS[spec]
    parts = spec.split()
    if len(parts) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(parts)}: {spec}")
    parsed = [_field_values(part, low, high, names) for part, (low, high, names) in zip(parts, _BOUNDS)]
    return Schedule(fields=tuple(values for values, _ in parsed), dom_star=parsed[2][1], dow_star=parsed[4][1], zone=location)


def load_zone(name: str) -> tzinfo:
    """Go's time.LoadLocation: ``UTC`` and IANA names; its error text otherwise."""
    if name == "UTC" or name == "":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {name}") from None


# -- the decision: syncCronJob without the API calls --------------------------------------------

@dataclass
class Decision:
    """What one sync of a CronJob does, as cronjob_controllerv2.go's syncCronJob decides it."""

    create: datetime | None = None
    """The scheduled time to start a Job for."""
    replace: list[str] = field(default_factory=list)
    """Active Jobs to delete first (concurrencyPolicy Replace)."""
    events: list[tuple[str, str, str]] = field(default_factory=list)
    """(type, reason, message) to record on the CronJob."""
    next_at: datetime | None = None
    """When to look again."""
    due: datetime | None = None
    """The scheduled time this sync is about, started or not."""


def job_name(cronjob_name: str, scheduled: datetime) -> str:
    """getJobName: the scheduled time in minutes since the epoch, so one time makes one Job."""
    return f"{cronjob_name}-{int(scheduled.timestamp()) // 60}"


def _most_recent(earliest: datetime, now_at: datetime, schedule: Schedule) -> tuple[datetime | None, int]:
    """mostRecentScheduleTime: the latest scheduled time in (earliest, now], and how many were missed."""
    first = schedule.next(earliest)
    if first.year == 1:  # a schedule no date matches (30 February)
        return None, 0
    second = schedule.next(first)
    if now_at < first:
        return None, 0
    if now_at < second:
        return first, 1
    between = round((second - first).total_seconds())
    if between < 1:
        return None, 0
    missed = int((now_at - first).total_seconds()) // between + 1
    moment = schedule.next(first + timedelta(seconds=(missed - 2) * between))
    recent = None
    while moment <= now_at:
        recent = moment
        moment = schedule.next(moment)
    return recent, missed


def decide(cronjob: dict[str, Any], now_at: datetime) -> Decision:
    """The scheduling half of syncCronJob for a CronJob whose active list is already reconciled."""
    spec, status = cronjob.get("spec") or {}, cronjob.get("status") or {}
    decision = Decision()
    if spec.get("suspend"):
        return decision
    try:
        schedule = parse_schedule(str(spec.get("schedule", "")), spec.get("timeZone"))
    except ScheduleError as error:
        if spec.get("timeZone") and str(error).startswith("unknown time zone"):
            decision.events.append(("Warning", "UnknownTimeZone", f'invalid timeZone: "{spec["timeZone"]}": {error}'))
        else:
            decision.events.append(("Warning", "UnparseableSchedule", f'unparseable schedule: "{spec.get("schedule", "")}" : {error}'))
        return decision
    created = datetime.fromtimestamp(seconds(cronjob["metadata"]["creationTimestamp"]), timezone.utc)
    last = status.get("lastScheduleTime")
    earliest = datetime.fromtimestamp(seconds(last), timezone.utc) if last else created
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None:
        earliest = max(earliest, now_at - timedelta(seconds=int(deadline)))
    scheduled, missed = _most_recent(earliest, now_at, schedule)
    decision.next_at = schedule.next(now_at)
    if missed > 100:
        decision.events.append(("Warning", "TooManyMissedTimes",
                                "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew"))
    if scheduled is None:
        return decision
    decision.due = scheduled
    if deadline is not None and scheduled + timedelta(seconds=int(deadline)) < now_at:
        decision.events.append(("Warning", "MissSchedule",
                                f"Missed scheduled time to start a job: {scheduled.astimezone(timezone.utc).strftime('%a, %d %b %Y %H:%M:%S +0000')}"))
        return decision
    active = status.get("active") or []
    name = job_name(cronjob["metadata"]["name"], scheduled)
    if any(ref.get("name") == name for ref in active) or (last and seconds(last) == scheduled.timestamp()):
        return decision
    policy = spec.get("concurrencyPolicy", "Allow")
    if policy == "Forbid" and active:
        decision.events.append(("Normal", "JobAlreadyActive",
                                "Not starting job because prior execution is running and concurrency policy is Forbid"))
        return decision
    if policy == "Replace":
        decision.replace = [str(ref.get("name")) for ref in active]
    decision.create = scheduled
    return decision


# -- the controller ----------------------------------------------------------------------------

def _finished(job: dict[str, Any]) -> str | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return str(condition["type"])
    return None


def reconcile(cluster: Cluster) -> None:
    cluster.each(CRONJOBS, COMPONENT, lambda obj: _cronjob(cluster, obj, datetime.now(timezone.utc)))
    alive = {str(obj["metadata"]["uid"]) for obj in cluster.store.list(CRONJOBS)}
    for key in [key for key in _SAID if key[0] not in alive]:
        del _SAID[key]


def _owned_jobs(cluster: Cluster, cronjob: dict[str, Any]) -> list[dict[str, Any]]:
    uid = cronjob["metadata"]["uid"]
    return [j for j in cluster.store.list(JOBS, cronjob["metadata"]["namespace"])
            if any(ref.get("uid") == uid and ref.get("controller") for ref in j["metadata"].get("ownerReferences") or [])]


def _cronjob(cluster: Cluster, cronjob: dict[str, Any], now_at: datetime) -> None:
    if cronjob["metadata"].get("deletionTimestamp"):
        return
    before = copy.deepcopy(cronjob.get("status") or {})
    status = cronjob.setdefault("status", {})
    jobs = _owned_jobs(cluster, cronjob)
    active = list(status.get("active") or [])
    by_uid = {j["metadata"]["uid"]: j for j in jobs}
    for job in jobs:
        uid, finished = job["metadata"]["uid"], _finished(job)
        listed = any(ref.get("uid") == uid for ref in active)
        if not listed and not finished:
            _event_once(cluster, cronjob, "Warning", "UnexpectedJob", f"Saw a job that the controller did not create or forgot: {job['metadata']['name']}")
        elif listed and finished:
            active = [ref for ref in active if ref.get("uid") != uid]
            cluster.event(cronjob, "SawCompletedJob", f"Saw completed job: {job['metadata']['name']}, condition: {finished}", component=COMPONENT)
        if finished == "Complete":
            completed = (job.get("status") or {}).get("completionTime")
            if completed and (not status.get("lastSuccessfulTime") or seconds(completed) > seconds(status["lastSuccessfulTime"])):
                status["lastSuccessfulTime"] = completed
    for ref in list(active):
        if ref.get("uid") not in by_uid:
            cluster.event(cronjob, "MissingJob", f"Active job went missing: {ref.get('name')}", component=COMPONENT)
            active = [r for r in active if r.get("uid") != ref.get("uid")]
    status["active"] = active
    decision = decide(cronjob, now_at)
    for kind, reason, message in decision.events:
        _event_once(cluster, cronjob, kind, reason, message, decision.due)
    for name in decision.replace:
        _delete_job(cluster, cronjob, name)
        active = [ref for ref in active if ref.get("name") != name]
    status["active"] = active
    if decision.create is not None:
        created = _create_job(cluster, cronjob, decision.create)
        if created is not None:
            status["active"] = active + [{"kind": "Job", "namespace": created["metadata"]["namespace"], "name": created["metadata"]["name"],
                                          "uid": created["metadata"]["uid"], "apiVersion": "batch/v1",
                                          "resourceVersion": created["metadata"]["resourceVersion"]}]
            status["lastScheduleTime"] = stamp(decision.create)
    _clean_up(cluster, cronjob, _owned_jobs(cluster, cronjob))
    if not status.get("active"):
        status.pop("active", None)
    if decision.next_at is not None and (decision.next_at - now_at).total_seconds() < 6:
        cluster.pending = True  # the loop ticks instead of idling, so the Job starts on its minute
    if status != before:
        cluster.save(CRONJOBS, cronjob)


_SAID: dict[tuple[str, str, str, datetime | None], None] = {}
"""Events said, by CronJob uid, reason, message and scheduled time."""


def _event_once(cluster: Cluster, cronjob: dict[str, Any], kind: str, reason: str, message: str, due: datetime | None = None) -> None:
    """What the controller would say again at every sync (a Forbid skip, an unparseable schedule)
    is recorded once per scheduled time: the sandbox's loop syncs far more often than a cluster's
    watch-driven controller, whose recorder would fold the repeats into one event's count."""
    key = (str(cronjob["metadata"]["uid"]), reason, message, due)
    if key in _SAID:
        return
    _SAID[key] = None
    cluster.event(cronjob, reason, message, kind, component=COMPONENT)


def _create_job(cluster: Cluster, cronjob: dict[str, Any], scheduled: datetime) -> dict[str, Any] | None:
    """getJobFromTemplate2: the template's labels and annotations, the scheduled-time annotation in the
    CronJob's zone, an ownerReference; created as the API server would (defaults included)."""
    template = copy.deepcopy((cronjob.get("spec") or {}).get("jobTemplate") or {})
    metadata = template.get("metadata") or {}
    zone = (cronjob.get("spec") or {}).get("timeZone")
    try:
        local = scheduled.astimezone(load_zone(zone)) if zone else scheduled.astimezone(timezone.utc)
    except ScheduleError:
        local = scheduled.astimezone(timezone.utc)
    annotations = dict(metadata.get("annotations") or {})
    annotations[SCHEDULED_ANNOTATION] = local.isoformat().replace("+00:00", "Z")
    job: dict[str, Any] = {
        "metadata": {"name": job_name(cronjob["metadata"]["name"], scheduled), "namespace": cronjob["metadata"]["namespace"],
                     "labels": dict(metadata.get("labels") or {}), "annotations": annotations,
                     "ownerReferences": [owner_reference(cronjob)]},
        "spec": template.get("spec") or {},
    }
    if not job["metadata"]["labels"]:
        del job["metadata"]["labels"]
    workload_defaults("jobs", job)
    try:
        created = cluster.store.create(JOBS, job)
    except AlreadyExists:
        try:
            existing = cluster.store.get(JOBS, cronjob["metadata"]["namespace"], job["metadata"]["name"])
        except NotFound:
            return None
        mine = any(ref.get("uid") == cronjob["metadata"]["uid"] for ref in existing["metadata"].get("ownerReferences") or [])
        listed = any(ref.get("uid") == existing["metadata"]["uid"] for ref in (cronjob.get("status") or {}).get("active") or [])
        return existing if mine and not listed else None
    cluster.event(cronjob, "SuccessfulCreate", f"Created job {created['metadata']['name']}", component=COMPONENT)
    return created


def _delete_job(cluster: Cluster, cronjob: dict[str, Any], name: str) -> None:
    """deleteJob, with background propagation: the garbage collector takes its pods."""
    try:
        cluster.store.delete(JOBS, cronjob["metadata"]["namespace"], name)
    except NotFound:
        return
    cluster.event(cronjob, "SuccessfulDelete", f"Deleted job {name}", component=COMPONENT)


def _clean_up(cluster: Cluster, cronjob: dict[str, Any], jobs: list[dict[str, Any]]) -> None:
    """cleanupFinishedJobs: the oldest finished Jobs (by start time) beyond each history limit go."""
    spec = cronjob.get("spec") or {}
    for kind, limit_field in (("Complete", "successfulJobsHistoryLimit"), ("Failed", "failedJobsHistoryLimit")):
        limit = spec.get(limit_field)
        if limit is None:
            continue
        finished = [j for j in jobs if _finished(j) == kind]
        if len(finished) <= int(limit):
            continue

        def started(job: dict[str, Any]) -> tuple[bool, float, str]:
            start = (job.get("status") or {}).get("startTime")
            return (start is None, seconds(start) if start else 0.0, job["metadata"]["name"])

        for job in sorted(finished, key=started)[: len(finished) - int(limit)]:
            _delete_job(cluster, cronjob, job["metadata"]["name"])


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

