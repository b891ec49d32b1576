"""CronJobs (issue 14 item 1): the schedule as robfig/cron reads it, the controller's decision with an
injected clock (a real schedule runs on wall-clock minutes, which a test cannot wait for), and real
kubectl for what needs no schedule: validation, columns, ``kubectl create job --from=cronjob/x``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from labrunner.sandbox.controllers import cronjob
from labrunner.sandbox.controllers.cronjob import CRONJOBS, JOBS, ScheduleError, decide, job_name, parse_schedule
from labrunner.sandbox.controllers.shared import Cluster
from labrunner.sandbox.resource_hooks import apply_defaults
from labrunner.sandbox.store import Store
from tests.sandboxes import Kubectl, eventually

UTC = timezone.utc


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- the schedule ------------------------------------------------------------------------------

@pytest.mark.parametrize(("schedule", "after", "expected"), [
    ("*/1 * * * *", "2025-03-01T10:00:30", "2025-03-01T10:01:00"),
    ("*/15 9-17 * * MON-FRI", "2025-01-03T17:50:00", "2025-01-06T09:00:00"),  # Friday evening to Monday morning
    ("0 0 1 1 *", "2025-06-01T00:00:00", "2026-01-01T00:00:00"),
    ("@hourly", "2025-03-01T10:59:59", "2025-03-01T11:00:00"),
    ("@daily", "2025-03-01T10:00:00", "2025-03-02T00:00:00"),
    ("@weekly", "2025-03-01T10:00:00", "2025-03-02T00:00:00"),  # a Saturday: Sunday midnight
    ("30 4 1,15 * 5", "2025-03-02T00:00:00", "2025-03-07T04:30:00"),  # day of month OR day of week
    ("5/20 * * * *", "2025-03-01T10:06:00", "2025-03-01T10:25:00"),  # N/step is N-max/step
    ("0 12 * JAN,jul ?", "2025-02-01T00:00:00", "2025-07-01T12:00:00"),
])
def test_the_schedule_names_the_times_cron_does(schedule: str, after: str, expected: str) -> None:
    assert parse_schedule(schedule).next(_at(after)) == _at(expected)


def test_a_time_zone_moves_the_schedule() -> None:
    moment = parse_schedule("0 9 * * *", "Europe/Berlin").next(_at("2025-01-10T00:00:00"))
    assert moment.astimezone(UTC) == _at("2025-01-10T08:00:00")


@pytest.mark.parametrize(("schedule", "message"), [
    ("* * * *", "expected exactly 5 fields, found 4: * * * *"),
    ("61 * * * *", "end of range (61) above maximum (59): 61"),
    ("* * * * 7", "end of range (7) above maximum (6): 7"),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("@fortnightly", "unrecognized descriptor: @fortnightly"),
    ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
])
def test_a_bad_schedule_is_refused_in_the_parsers_words(schedule: str, message: str) -> None:
    with pytest.raises(ScheduleError) as raised:
        parse_schedule(schedule)
    assert str(raised.value) == message


# -- the decision, with an injected clock ------------------------------------------------------

def _cronjob(schedule: str = "*/5 * * * *", created: str = "2025-03-01T10:01:00Z", **spec: Any) -> dict[str, Any]:
    obj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": "default", "creationTimestamp": created},
           "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                                                                                         "containers": [{"name": "c", "image": "busybox"}]}}}},
                    **spec}}
    apply_defaults(CRONJOBS, obj)
    return obj


def test_the_most_recent_scheduled_time_starts_a_job_named_for_its_minute() -> None:
    decision = decide(_cronjob(), _at("2025-03-01T10:06:10"))
    assert decision.create == _at("2025-03-01T10:05:00") and decision.next_at == _at("2025-03-01T10:10:00")
    assert job_name("report", decision.create) == f"report-{int(_at('2025-03-01T10:05:00').timestamp()) // 60}"
    assert decide(_cronjob(), _at("2025-03-01T10:04:59")).create is None  # nothing due yet
    # missed times: only the latest starts
    assert decide(_cronjob(), _at("2025-03-01T10:31:00")).create == _at("2025-03-01T10:30:00")


def test_a_time_already_scheduled_starts_nothing_again() -> None:
    obj = _cronjob()
    obj["status"] = {"lastScheduleTime": "2025-03-01T10:05:00Z"}
    assert decide(obj, _at("2025-03-01T10:07:00")).create is None


def test_the_concurrency_policies() -> None:
    running = {"active": [{"kind": "Job", "name": "report-1", "uid": "u1"}], "lastScheduleTime": "2025-03-01T10:05:00Z"}
    now_at = _at("2025-03-01T10:10:05")
    allow = _cronjob()
    allow["status"] = dict(running)
    assert decide(allow, now_at).create == _at("2025-03-01T10:10:00")
    forbid = _cronjob(concurrencyPolicy="Forbid")
    forbid["status"] = dict(running)
    decision = decide(forbid, now_at)
    assert decision.create is None
    assert decision.events == [("Normal", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")]
    replace = _cronjob(concurrencyPolicy="Replace")
    replace["status"] = dict(running)
    decision = decide(replace, now_at)
    assert decision.create == _at("2025-03-01T10:10:00") and decision.replace == ["report-1"]


def test_a_starting_deadline_missed_is_said_and_suspend_starts_nothing() -> None:
    late = _cronjob(schedule="0 * * * *", created="2025-03-01T09:00:00Z", startingDeadlineSeconds=30)
    decision = decide(late, _at("2025-03-01T10:01:00"))
    assert decision.create is None and decision.events == []  # the window (30 s) holds no scheduled time
    late["spec"]["startingDeadlineSeconds"] = 45
    assert decide(late, _at("2025-03-01T10:00:40")).create == _at("2025-03-01T10:00:00")
    assert decide(_cronjob(suspend=True), _at("2025-03-01T10:06:00")).create is None
    ancient = _cronjob(schedule="* * * * *", created="2025-02-01T00:00:00Z")
    decision = decide(ancient, _at("2025-03-01T10:06:00"))
    assert decision.create == _at("2025-03-01T10:06:00")
    assert decision.events[0][1] == "TooManyMissedTimes"


def test_the_controller_creates_records_and_cleans_up(tmp_path: Path) -> None:
    """One sync after another with the clock injected: Jobs created from the template with the
    owner and the scheduled-time annotation, the active list, SawCompletedJob, the history limit."""
    store = Store(tmp_path / "objects.db")
    cluster = Cluster(store)
    obj = _cronjob(schedule="* * * * *", successfulJobsHistoryLimit=1)
    obj["metadata"].pop("creationTimestamp")
    created = store.create(CRONJOBS, obj)
    start = datetime.fromisoformat(created["metadata"]["creationTimestamp"]).replace(second=0) + timedelta(minutes=1, seconds=5)
    names = []
    for minute in range(3):
        current = store.get(CRONJOBS, "default", "report")
        cronjob._cronjob(cluster, current, start + timedelta(minutes=minute))
        current = store.get(CRONJOBS, "default", "report")
        (active,) = current["status"]["active"]
        names.append(active["name"])
        job = store.get(JOBS, "default", active["name"])
        assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
        assert job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == \
            (start + timedelta(minutes=minute)).replace(second=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert job["spec"]["backoffLimit"] == 6  # created as the API server would default it
        job["status"] = {"conditions": [{"type": "Complete", "status": "True"}], "startTime": f"2025-01-01T00:0{minute}:00Z",
                         "completionTime": f"2025-01-01T00:0{minute}:05Z"}
        store.update(JOBS, job)
    cronjob._cronjob(cluster, store.get(CRONJOBS, "default", "report"), start + timedelta(minutes=2, seconds=20))
    assert [j["metadata"]["name"] for j in store.list(JOBS, "default")] == [names[-1]]  # one successful Job kept
    status = store.get(CRONJOBS, "default", "report")["status"]
    assert "active" not in status and status["lastSuccessfulTime"] == "2025-01-01T00:02:05Z"
    events = [(e["reason"], e["message"]) for e in store.list(cronjob.resources.lookup("", "v1", "events") or JOBS, "default")]
    assert ("SuccessfulCreate", f"Created job {names[0]}") in events
    assert ("SawCompletedJob", f"Saw completed job: {names[2]}, condition: Complete") in events
    assert ("SuccessfulDelete", f"Deleted job {names[0]}") in events


# -- real kubectl ------------------------------------------------------------------------------

def _apply(kubectl: Kubectl, namespace: str, manifest: str, check: bool = True) -> Any:
    return kubectl("apply", "-n", namespace, "-f", "-", stdin=manifest, check=check)


NIGHTLY = """
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 0 1 1 *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - {name: report, image: busybox, command: [sh, -c, "echo report done"]}
"""


def test_a_cronjob_is_defaulted_validated_and_listed(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, NIGHTLY)
    spec = json.loads(kubectl("get", "cronjob", "nightly", "-n", namespace, "-o", "json").stdout)["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"], spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
    listed = kubectl("get", "cronjobs", "-n", namespace).stdout.splitlines()
    assert listed[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    assert listed[1].split()[:9] == ["nightly", "0", "0", "1", "1", "*", "<none>", "False", "0"]
    assert listed[1].split()[9] == "<none>"
    refused = _apply(kubectl, namespace, NIGHTLY.replace("0 0 1 1 *", "0 0 1 1"), check=False)
    assert 'The CronJob "nightly" is invalid: spec.schedule: Invalid value: "0 0 1 1": expected exactly 5 fields, found 4: 0 0 1 1' in refused.stderr
    refused = _apply(kubectl, namespace, NIGHTLY.replace("name: nightly", "name: zoned").replace('  schedule:', '  timeZone: Mars/Olympus\n  schedule:'),
                     check=False)
    assert 'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus' in refused.stderr
    refused = _apply(kubectl, namespace, NIGHTLY.replace("name: nightly", "name: always").replace("OnFailure", "Always"), check=False)
    assert 'spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"' in refused.stderr


def test_kubectl_create_job_from_a_cronjob_runs_its_template(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, NIGHTLY)
    kubectl("create", "job", "by-hand", "-n", namespace, "--from=cronjob/nightly")
    eventually(lambda: "Complete" in kubectl("get", "job", "by-hand", "-n", namespace, "--no-headers").stdout, "the job completing")
    job = json.loads(kubectl("get", "job", "by-hand", "-n", namespace, "-o", "json").stdout)
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert kubectl("logs", "job/by-hand", "-n", namespace).stdout == "report done\n"
    # the controller did not start it: it says so, and keeps it out of its active list
    events = json.loads(kubectl("get", "events", "-n", namespace, "-o", "json").stdout)["items"]
    assert any(e["reason"] == "UnexpectedJob" and e["message"] == "Saw a job that the controller did not create or forgot: by-hand" for e in events)
    kubectl("delete", "cronjob", "nightly", "-n", namespace)
    eventually(lambda: kubectl("get", "jobs", "-n", namespace, "-o", "name").stdout == "", "the cronjob's job being collected")
