"""Jobs (issue 14 item 1): real kubectl against the shared sandbox. A Job's pods run their command,
the Job counts them as kube-controller-manager's job controller does and ends with the conditions
1.32 writes; the API server's defaults, generated selector and validation come with it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tests.sandboxes import Kubectl, eventually


def _until(check: Callable[[], bool], what: str = "the job reaching that state") -> None:
    eventually(check, what)


def _job(kubectl: Kubectl, namespace: str, name: str) -> dict[str, Any]:
    return json.loads(kubectl("get", "job", name, "-n", namespace, "-o", "json").stdout)


def _conditions(job: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(c["type"], c.get("reason", ""), c.get("message", "")) for c in (job.get("status") or {}).get("conditions") or []]


def _finished(kubectl: Kubectl, namespace: str, name: str) -> bool:
    job = json.loads(kubectl("get", "job", name, "-n", namespace, "-o", "json", check=False).stdout or "{}")
    return any(c["type"] in ("Complete", "Failed") for c in (job.get("status") or {}).get("conditions") or [])


def _pods(kubectl: Kubectl, namespace: str, job: str) -> list[dict[str, Any]]:
    listed = kubectl("get", "pods", "-n", namespace, "-l", f"job-name={job}", "-o", "json").stdout
    return list(json.loads(listed)["items"])


def _events(kubectl: Kubectl, namespace: str, name: str) -> list[tuple[str, str, str]]:
    listed = json.loads(kubectl("get", "events", "-n", namespace, "-o", "json").stdout)["items"]
    return [(e["type"], e["reason"], e["message"]) for e in listed if e["involvedObject"]["name"] == name]


def _apply(kubectl: Kubectl, namespace: str, manifest: str, check: bool = True) -> Any:
    return kubectl("apply", "-n", namespace, "-f", "-", stdin=manifest, check=check)


def test_kubectl_create_job_runs_its_command_to_completion(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "job", "hello", "-n", namespace, "--image=busybox", "--", "echo", "hi")
    _until(lambda: _finished(kubectl, namespace, "hello"))
    job = _job(kubectl, namespace, "hello")
    uid = job["metadata"]["uid"]
    # the API server's defaults and generated selector
    spec = job["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"], spec["completionMode"], spec["suspend"]) == (1, 1, 6, "NonIndexed", False)
    assert (spec["manualSelector"], spec["podReplacementPolicy"]) == (False, "TerminatingOrFailed")
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert spec["template"]["metadata"]["labels"] == {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "hello",
                                                      "controller-uid": uid, "job-name": "hello"}
    assert job["metadata"]["labels"] == spec["template"]["metadata"]["labels"]
    # the status and conditions 1.32 writes
    status = job["status"]
    assert _conditions(job) == [("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods"),
                                ("Complete", "CompletionsReached", "Reached expected number of succeeded pods")]
    assert (status["succeeded"], status["ready"], status["terminating"], "active" in status, "failed" in status) == (1, 0, 0, False, False)
    assert status["startTime"] and status["completionTime"]
    (pod,) = _pods(kubectl, namespace, "hello")
    assert re.fullmatch(r"hello-[a-z0-9]{5}", pod["metadata"]["name"]) and pod["metadata"]["generateName"] == "hello-"
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job" and pod["metadata"]["ownerReferences"][0]["uid"] == uid
    assert not pod["metadata"].get("finalizers")  # the tracking finalizer is gone once the pod is counted
    assert pod["status"]["phase"] == "Succeeded"
    # kubectl's columns and the finished pod's log
    row = kubectl("get", "jobs", "-n", namespace, "--no-headers").stdout.split()
    assert row[:3] == ["hello", "Complete", "1/1"]
    assert kubectl("get", "jobs", "-n", namespace).stdout.split()[:5] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert kubectl("logs", "job/hello", "-n", namespace).stdout == "hi\n"
    events = _events(kubectl, namespace, "hello")
    assert ("Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}") in events
    assert ("Normal", "Completed", "Job completed") in events


PARALLEL = """
apiVersion: batch/v1
kind: Job
metadata: {name: parallel}
spec:
  completions: 3
  parallelism: 2
  template:
    metadata: {labels: {app: batch}}
    spec:
      restartPolicy: Never
      containers:
      - {name: work, image: busybox, command: [sh, -c, "echo working; sleep 2"]}
"""


def test_completions_three_with_parallelism_two(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, PARALLEL)
    # two at once, never beyond the completions left
    _until(lambda: len(_pods(kubectl, namespace, "parallel")) >= 2)
    # (a pod's 2 s of work is 0.1 s at the suite's time scale: the first may already have finished
    # and the third started, so what is bounded is the pods running at once)
    running = [p for p in _pods(kubectl, namespace, "parallel") if p["status"].get("phase") not in ("Succeeded", "Failed")]
    assert len(running) <= 2
    _until(lambda: _finished(kubectl, namespace, "parallel"))
    job = _job(kubectl, namespace, "parallel")
    assert job["status"]["succeeded"] == 3 and _conditions(job)[-1][0] == "Complete"
    assert job["metadata"]["labels"] == {"app": "batch"}  # the template's own labels, before the generated ones
    assert job["spec"]["template"]["metadata"]["labels"]["app"] == "batch"
    pods = _pods(kubectl, namespace, "parallel")
    assert len(pods) == 3 and {p["status"]["phase"] for p in pods} == {"Succeeded"}
    assert kubectl("get", "job", "parallel", "-n", namespace, "--no-headers").stdout.split()[1:3] == ["Complete", "3/3"]
    assert sum(1 for e in _events(kubectl, namespace, "parallel") if e[1] == "SuccessfulCreate") == 3


FAILING = """
apiVersion: batch/v1
kind: Job
metadata: {name: failing}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: work, image: busybox, command: [sh, -c, "echo trying; exit 1"]}
"""


def test_a_failing_job_stops_at_its_backoff_limit(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, FAILING)
    _until(lambda: _finished(kubectl, namespace, "failing"))
    job = _job(kubectl, namespace, "failing")
    message = "Job has reached the specified backoff limit"
    assert _conditions(job) == [("FailureTarget", "BackoffLimitExceeded", message), ("Failed", "BackoffLimitExceeded", message)]
    assert job["status"]["failed"] == 3 and "succeeded" not in job["status"] and "completionTime" not in job["status"]
    pods = _pods(kubectl, namespace, "failing")
    assert len(pods) == 3 and {p["status"]["phase"] for p in pods} == {"Failed"}
    assert ("Warning", "BackoffLimitExceeded", message) in _events(kubectl, namespace, "failing")
    assert kubectl("get", "job", "failing", "-n", namespace, "--no-headers").stdout.split()[1:3] == ["Failed", "0/1"]


def test_with_restart_policy_on_failure_container_restarts_count_against_the_limit(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, FAILING.replace("name: failing", "name: restarting").replace("backoffLimit: 2", "backoffLimit: 1")
           .replace("restartPolicy: Never", "restartPolicy: OnFailure"))
    _until(lambda: _finished(kubectl, namespace, "restarting"))
    job = _job(kubectl, namespace, "restarting")
    assert _conditions(job)[-1][:2] == ("Failed", "BackoffLimitExceeded")
    assert job["status"]["failed"] == 1  # the one pod, deleted when the Job failed
    assert _pods(kubectl, namespace, "restarting") == []
    assert any(e[1] == "SuccessfulDelete" for e in _events(kubectl, namespace, "restarting"))


def test_active_deadline_seconds_ends_a_job_that_runs_too_long(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, FAILING.replace("name: failing", "name: slow").replace("backoffLimit: 2", "activeDeadlineSeconds: 10")
           .replace("echo trying; exit 1", "sleep 1000"))
    _until(lambda: _finished(kubectl, namespace, "slow"))
    job = _job(kubectl, namespace, "slow")
    message = "Job was active longer than specified deadline"
    assert _conditions(job) == [("FailureTarget", "DeadlineExceeded", message), ("Failed", "DeadlineExceeded", message)]
    assert job["status"]["failed"] == 1 and _pods(kubectl, namespace, "slow") == []
    assert ("Warning", "DeadlineExceeded", message) in _events(kubectl, namespace, "slow")


def test_ttl_seconds_after_finished_removes_the_job_and_its_pods(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, PARALLEL.replace("name: parallel", "name: brief").replace("completions: 3", "ttlSecondsAfterFinished: 5")
           .replace("parallelism: 2", "parallelism: 1").replace("; sleep 2", ""))
    _until(lambda: kubectl("get", "jobs", "-n", namespace, "-o", "name").stdout == "", "the finished job being deleted")
    _until(lambda: _pods(kubectl, namespace, "brief") == [], "its pods being deleted")


def test_restart_policy_always_is_refused_as_the_api_server_does(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    refused = _apply(kubectl, namespace, FAILING.replace("      restartPolicy: Never\n", ""), check=False)
    assert refused.returncode != 0
    assert ('The Job "failing" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"'
            in refused.stderr)
    refused = _apply(kubectl, namespace, FAILING.replace("restartPolicy: Never", "restartPolicy: Always"), check=False)
    assert 'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"' in refused.stderr
    assert kubectl("get", "jobs", "-n", namespace, "-o", "name").stdout == ""


def test_a_jobs_template_cannot_change(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, PARALLEL)
    changed = _apply(kubectl, namespace, PARALLEL.replace("image: busybox", "image: alpine"), check=False)
    assert changed.returncode != 0 and 'The Job "parallel" is invalid: spec.template: Invalid value: ' in changed.stderr
    assert "field is immutable" in changed.stderr
    kubectl("label", "job", "parallel", "-n", namespace, "tier=batch")  # metadata may change


INDEXED = """
apiVersion: batch/v1
kind: Job
metadata: {name: indexed}
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: work, image: busybox, command: [sh, -c, "echo index $JOB_COMPLETION_INDEX"]}
"""


def test_an_indexed_job_gives_each_pod_its_index(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, INDEXED)
    _until(lambda: _finished(kubectl, namespace, "indexed"))
    job = _job(kubectl, namespace, "indexed")
    assert job["status"]["completedIndexes"] == "0-2" and job["status"]["succeeded"] == 3
    pods = {p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]: p for p in _pods(kubectl, namespace, "indexed")}
    assert sorted(pods) == ["0", "1", "2"]
    for index, pod in pods.items():
        assert pod["metadata"]["name"].startswith(f"indexed-{index}-") and pod["spec"]["hostname"] == f"indexed-{index}"
        assert pod["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == index
        assert kubectl("logs", pod["metadata"]["name"], "-n", namespace).stdout == f"index {index}\n"


def test_a_pod_failure_policy_fails_the_job_on_an_exit_code(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    manifest = FAILING.replace("name: failing", "name: policed").replace("exit 1", "exit 42") + """  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes: {containerName: work, operator: In, values: [42]}
"""
    _apply(kubectl, namespace, manifest)
    _until(lambda: _finished(kubectl, namespace, "policed"))
    job = _job(kubectl, namespace, "policed")
    (pod,) = _pods(kubectl, namespace, "policed")
    message = f"Container work for pod {namespace}/{pod['metadata']['name']} failed with exit code 42 matching FailJob rule at index 0"
    assert _conditions(job) == [("FailureTarget", "PodFailurePolicy", message), ("Failed", "PodFailurePolicy", message)]
    assert job["spec"]["podReplacementPolicy"] == "Failed"
    refused = _apply(kubectl, namespace, manifest.replace("name: policed", "name: onfailure").replace("restartPolicy: Never", "restartPolicy: OnFailure"),
                     check=False)
    assert 'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified' in refused.stderr


def test_a_suspended_job_starts_no_pods_until_resumed(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, namespace, PARALLEL.replace("name: parallel", "name: waiting").replace("parallelism: 2", "parallelism: 2\n  suspend: true"))
    _until(lambda: any(c[0] == "Suspended" for c in _conditions(_job(kubectl, namespace, "waiting"))))
    job = _job(kubectl, namespace, "waiting")
    assert ("Suspended", "JobSuspended", "Job suspended") in _conditions(job) and "startTime" not in job["status"]
    assert _pods(kubectl, namespace, "waiting") == []
    assert kubectl("get", "job", "waiting", "-n", namespace, "--no-headers").stdout.split()[1] == "Suspended"
    kubectl("patch", "job", "waiting", "-n", namespace, "--type=merge", "-p", '{"spec":{"suspend":false}}')
    _until(lambda: _finished(kubectl, namespace, "waiting"))
    job = _job(kubectl, namespace, "waiting")
    assert ("Suspended", "JobResumed", "Job resumed") in [(c["type"], c["reason"], c["message"]) for c in job["status"]["conditions"]]
    assert job["status"]["succeeded"] == 3
    events = _events(kubectl, namespace, "waiting")
    assert ("Normal", "Suspended", "Job suspended") in events and ("Normal", "Resumed", "Job resumed") in events


def test_deleting_a_job_deletes_its_pods(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "job", "doomed", "-n", namespace, "--image=busybox", "--", "sleep", "1000")
    _until(lambda: len(_pods(kubectl, namespace, "doomed")) == 1)
    kubectl("delete", "job", "doomed", "-n", namespace)
    _until(lambda: _pods(kubectl, namespace, "doomed") == [], "the job's pod being collected")
