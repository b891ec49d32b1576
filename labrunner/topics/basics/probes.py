"""Probes: what a pod with given labels gets when it fetches a page or looks a name up.

Each probe runs in a short-lived busybox pod carrying the learner's labels, so every
policy, Service and DNS rule of the cluster applies to it exactly as to their own pods.
When the answer is not the expected one, every topic that can explain a connection
(the NetworkPolicy engine, ...) is asked why.
"""

from __future__ import annotations

import html
import re
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import AssetPath, DnsName, KubeName, Labels, NonEmptyStr
from labrunner.registry.types import CheckContext, CheckKind, Connection, Outcome
from labrunner.topics.basics.data import rows_of
from labrunner.topics.basics.selectors import labels_text

PROBE_IMAGE = "busybox:1.36"
PROBE_READY_SECONDS = 90.0
PROBE_LIFETIME_SECONDS = 180
"""A probe pod ends itself after this long (its sleep, and activeDeadlineSeconds), so one left
behind by a check that was killed mid-probe does not stay; the next probe in the namespace
removes it before then."""
PROBE_LABEL = {"labrunner.io/probe": "true"}


HeaderName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", max_length=256)]
"""An HTTP header's name (RFC 9110's token)."""


class ProbeHttp(CheckArgs):
    """A short-lived busybox pod with ``from_labels`` fetches ``url`` with wget (sending
    ``headers``) and the outcome is as expected; a reachable page may be required to contain
    text or to list every row that ``lists_rows_of`` (a SQL file) inserts."""

    kind: Literal["probe-http"]
    namespace: KubeName
    from_labels: Labels
    url: NonEmptyStr = Field(pattern=r"^https?://")
    headers: dict[HeaderName, Annotated[str, StringConstraints(pattern=r"^[^\r\n]*$")]] = Field(default_factory=dict)
    """Request headers, each sent with wget's ``--header``: ``Host: shop.example.com`` asks an
    Ingress controller or a Gateway for that host's routes."""
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


class ProbeDns(CheckArgs):
    """A short-lived busybox pod with ``from_labels`` looks ``name`` up with nslookup; with
    ``same_as``, ``name`` must resolve to the addresses that name resolves to (a CoreDNS
    rewrite or stub domain sending one name to a Service)."""

    kind: Literal["probe-dns"]
    namespace: KubeName
    from_labels: Labels
    name: DnsName
    expect: Literal["resolves", "fails"]
    same_as: DnsName | None = None

    @model_validator(mode="after")
    def _same_as_only_when_resolving(self) -> ProbeDns:
        if self.same_as and self.expect != "resolves":
            raise ValueError("'same_as' compares the addresses a name resolves to, so it needs expect: resolves")
        return self


def run_in_probe_pod(cluster: ClusterPort, namespace: str, labels: Mapping[str, str], command: list[str]) -> tuple[str, str, int]:
    """Run ``command`` in a short-lived busybox pod with ``labels``, then remove the pod."""
    remove_leftover_probes(cluster, namespace)
    name = f"labrunner-probe-{secrets.token_hex(3)}"
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": namespace,
                        "labels": {**labels, **PROBE_LABEL, "app.kubernetes.io/managed-by": "labrunner"}},
           "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0, "activeDeadlineSeconds": PROBE_LIFETIME_SECONDS,
                    "containers": [{"name": "probe", "image": PROBE_IMAGE, "command": ["sleep", str(PROBE_LIFETIME_SECONDS)]}]}}
    cluster.apply(pod, namespace)
    try:
        deadline = time.monotonic() + PROBE_READY_SECONDS
        while True:
            current = cluster.get("pods", name, namespace)
            # exec needs the container running, not the pod Ready (which a kubelet reports a moment later)
            if any("running" in (status.get("state") or {}) for status in (current.get("status") or {}).get("containerStatuses") or []):
                break
            if time.monotonic() > deadline:
                raise errors.Timeout(f"the probe pod {name} did not start within {PROBE_READY_SECONDS:.0f} s")
            time.sleep(0.05)
        result = cluster.exec(name, namespace, command, timeout=60)
        return result.stdout, result.stderr, result.exit_code
    finally:
        try:
            cluster.delete("pods", name, namespace)
        except errors.ClusterError:
            pass


def no_namespace(namespace: str) -> str:
    """What a probe says when its pod cannot be made: its namespace is not there (yet)."""
    return f"namespace {namespace} does not exist, so no pod can try from there"


def remove_leftover_probes(cluster: ClusterPort, namespace: str) -> list[str]:
    """Delete probe pods a killed check left in ``namespace`` (ended, or older than a probe
    lives); a probe another check is running now is younger, and stays. Returns their names."""
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    removed = []
    for pod in cluster.list("pods", namespace, labels=",".join(f"{k}={v}" for k, v in PROBE_LABEL.items())):
        metadata, phase = pod.get("metadata") or {}, (pod.get("status") or {}).get("phase")
        try:
            born = datetime.fromisoformat(str(metadata.get("creationTimestamp")).replace("Z", "+00:00"))
        except ValueError:
            continue
        if phase in ("Succeeded", "Failed") or (now - born).total_seconds() > PROBE_LIFETIME_SECONDS:
            try:
                cluster.delete("pods", metadata["name"], namespace)
                removed.append(metadata["name"])
            except errors.ClusterError:
                continue
    return removed


def probe_http(args: ProbeHttp, context: CheckContext) -> Outcome:
    from labrunner.registry import registry

    cluster, labels = context.cluster, dict(args.from_labels)
    sent = [part for name, value in args.headers.items() for part in ("--header", f"{name}: {value}")]
    try:
        stdout, stderr, code = run_in_probe_pod(cluster, args.namespace, labels,
                                                ["wget", "-q", f"--timeout={args.timeout_seconds}", *sent, "-O", "-", args.url])
    except errors.NotFound:
        return "failed", no_namespace(args.namespace), []
    who = labels_text(labels)
    url = args.url + "".join(f" ({name}: {value})" for name, value in args.headers.items())
    said = (stderr.strip().splitlines() or [""])[0]
    if "timed out" in stderr:
        outcome = "timeout"
    elif "refused" in stderr or "can't connect" in stderr:
        outcome = "refused"
    elif code == 0:
        outcome = "reachable"
    else:
        why = registry().explain_connection(cluster, Connection(namespace=args.namespace, labels=labels, url=args.url))
        cause = next((f", {line}" for line in why if line.startswith("because ")), "")
        return "failed", f"from a pod labelled {who}, {url} got {_answer(said) if said else f'exit code {code}'}{cause}", \
            [*([said] if said else []), *(line for line in why if not line.startswith("because "))]
    if outcome != args.expect:
        got = {"timeout": "timed out", "refused": "was refused", "reachable": "loaded"}[outcome]
        why = registry().explain_connection(cluster, Connection(namespace=args.namespace, labels=labels, url=args.url))
        cause = next((f", {line}" for line in why if line.startswith("because ")), "")
        meaning = ["a timeout is a dropped connection: nothing answered, as when a NetworkPolicy drops it (a refusal would be "
                   "a port nobody listens on)"] if outcome == "timeout" else []
        return ("failed", f"from a pod labelled {who}, {url} {got}{cause}; expected: {args.expect}",
                ([said] if said else []) + meaning + [line for line in why if not line.startswith("because ")])
    if args.expect != "reachable":
        return "passed", f"from a pod labelled {who}, {url} {'times out' if args.expect == 'timeout' else 'is refused'}", []
    absent = [text for text in args.contains if text not in stdout]
    if absent:
        return "failed", f"the page at {url} does not say {absent[0]!r}", [first_line_of_interest(stdout)]
    if args.lists_rows_of:
        rows = rows_of(Path(args.lists_rows_of))
        missing = [row for row in rows if not all(value in stdout for value in row)]
        if missing:
            return "failed", f"the page lists {len(rows) - len(missing)} of the {len(rows)} rows", [first_line_of_interest(stdout)]
    return "passed", f"from a pod labelled {who}, {url} loads as expected", []


def _answer(said: str) -> str:
    """wget's error, short: ``HTTP 503 Service Temporarily Unavailable`` for ``wget: server returned
    error: HTTP/1.1 503 ...``, ``bad address 'web'`` for ``wget: bad address 'web'`` (its own line
    follows in the details)."""
    status = re.search(r"server returned error: HTTP/[\d.]+ (\d{3})\s*(.*)", said)
    if status:
        return f"HTTP {status.group(1)} {status.group(2)}".rstrip()
    return said.removeprefix("wget: ")


def first_line_of_interest(page: str) -> str:
    """The line of a web page a learner needs (its error, if any), as text: no tags, no entities."""
    for line in page.splitlines():
        if "failed" in line.lower() or "error" in line.lower():
            return html.unescape(re.sub(r"<[^>]+>", "", line)).strip()
    return html.unescape(re.sub(r"<[^>]+>", "", page)).strip()[:160]


def probe_dns(args: ProbeDns, context: CheckContext) -> Outcome:
    # busybox's own options keep a lookup that cannot succeed to 2 s instead of 15.
    lookup = ["nslookup", "-timeout=2", "-retry=0"]
    command = [*lookup, args.name] if not args.same_as else \
        ["sh", "-c", f"{' '.join(lookup)} {args.name}; echo {_SEPARATOR}; {' '.join(lookup)} {args.same_as}"]
    try:
        stdout, _, code = run_in_probe_pod(context.cluster, args.namespace, dict(args.from_labels), command)
    except errors.NotFound:
        return "failed", no_namespace(args.namespace), []
    answer, _, reference = stdout.partition(_SEPARATOR)
    addresses = _addresses(answer)
    resolved = bool(addresses) and (code == 0 or bool(args.same_as))
    wanted = args.expect == "resolves"
    who = labels_text(args.from_labels)
    if resolved != wanted:
        said = answer.strip().splitlines()[-1] if answer.strip() else f"exit code {code}"
        unanswered = "timed out" in answer or "no servers could be reached" in answer  # no answer at all, not NXDOMAIN
        why = _why_no_answer(context.cluster, args) if wanted and unanswered else []
        cause = next((f", {line}" for line in why if line.startswith("because ")), "")
        return ("failed", f"from a pod labelled {who}, {args.name} {'does not resolve' if wanted else 'still resolves'}{cause}",
                [said, *(line for line in why if not line.startswith("because "))])
    if args.same_as:
        expected = _addresses(reference)
        if not expected:
            return "failed", f"from a pod labelled {who}, {args.same_as} does not resolve, so {args.name} cannot be compared with it", \
                [f"{args.name} resolves to {', '.join(addresses)}"]
        if set(addresses) != set(expected):
            return "failed", (f"from a pod labelled {who}, {args.name} resolves to {', '.join(addresses)}, not to the address of "
                              f"{args.same_as} ({', '.join(expected)})"), []
        return "passed", f"from a pod labelled {who}, {args.name} resolves to {', '.join(addresses)}, as {args.same_as} does", []
    return "passed", f"from a pod labelled {who}, {args.name} {'resolves' if resolved else 'does not resolve'}", []


_SEPARATOR = "--- labrunner: the name to compare with ---"
CLUSTER_DNS = "dns://kube-dns.kube-system.svc:53"
"""The cluster's DNS Service, where a probe pod's lookups go (kubeadm, kind, k3s and the
sandbox all name it kube-dns)."""


def _why_no_answer(cluster: ClusterPort, args: ProbeDns) -> list[str]:
    """What the topics say of the probe pod's queries to the cluster DNS (a policy that keeps
    them in, ...). An explainer's line starting with "because " names the cause."""
    from labrunner.registry import registry

    return registry().explain_connection(cluster, Connection(namespace=args.namespace, labels=dict(args.from_labels), url=CLUSTER_DNS))


def _addresses(nslookup_output: str) -> list[str]:
    """The answer's addresses in busybox nslookup's output (after the server's own lines)."""
    answer = nslookup_output.split("\n\n", 1)[-1] if "\n\n" in nslookup_output else ""
    return [line.split(":", 1)[1].strip() for line in answer.splitlines() if line.startswith("Address") and ":" in line]


def _connection_resources(args: object) -> tuple[str, ...]:
    """A probe's answer changes with the pods, the Services and whatever topics say
    decides connections (NetworkPolicies, ...)."""
    from labrunner.registry import registry

    return ("pods", "services", *registry().connection_resources)


KINDS = (
    CheckKind(model=ProbeHttp, run=probe_http, watches=_connection_resources, observes=True),
    CheckKind(model=ProbeDns, run=probe_dns, watches=_connection_resources, observes=True),
)
