"""``dns-record``: a name resolves, from a pod in a namespace, to a Service's address (its cluster
IP, or a headless Service's ready pods) or to one pod's (a StatefulSet pod's own record). The
lookup is busybox's nslookup in a short-lived pod, as the learner's own; when the answer is not
the one wanted, the objects say why: the search path a short name goes down (the pod's own
namespace first), a Service that is not headless, a StatefulSet whose serviceName names no
headless Service, a pod not ready."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from labrunner.checks.causes import Cause, Finding, evidence, root_first
from labrunner.lab.check_args import CheckArgs
from labrunner.lab.fields import DnsName, KubeName, Labels
from labrunner.registry.types import CheckContext, CheckKind, Outcome
from labrunner.cluster import errors
from labrunner.topics.basics.probes import no_namespace, run_in_probe_pod
from labrunner.topics.basics.selectors import labels_text
from labrunner.topics.services.common import Obj, find, matches, missing

CLUSTER_DOMAIN = "cluster.local"
HEADLESS_ONLY = "only a headless Service gives its pods names of their own"
RECREATE_HEADLESS = "clusterIP cannot be changed, so delete the Service and create it with clusterIP: None"


class DnsRecord(CheckArgs):
    """From a short-lived busybox pod in ``namespace`` (labelled ``from_labels``), ``name``
    resolves to the addresses of the Service ``service`` (in ``service_namespace``, default
    ``namespace``) or of the pod ``pod`` (in ``pod_namespace``)."""

    kind: Literal["dns-record"]
    namespace: KubeName
    name: DnsName
    from_labels: Labels = Field(default_factory=dict)
    service: KubeName | None = None
    service_namespace: KubeName | None = None
    pod: KubeName | None = None
    pod_namespace: KubeName | None = None

    @model_validator(mode="after")
    def _one_target(self) -> DnsRecord:
        if (self.service is None) == (self.pod is None):
            raise ValueError("give exactly one of 'service' and 'pod': the name should resolve to its addresses")
        if self.service_namespace and not self.service or self.pod_namespace and not self.pod:
            raise ValueError("'service_namespace' goes with 'service', 'pod_namespace' with 'pod'")
        return self


def search_path(name: str, namespace: str) -> list[str]:
    """The names a pod's resolver tries, in order (its search list, ndots:5)."""
    name = name.rstrip(".")
    searches = [f"{namespace}.svc.{CLUSTER_DOMAIN}", f"svc.{CLUSTER_DOMAIN}", CLUSTER_DOMAIN]
    if name.count(".") >= 5:
        return [name] + [f"{name}.{s}" for s in searches]
    return [f"{name}.{s}" for s in searches] + [name]


def answered(output: str) -> list[str]:
    """The answer's addresses in busybox nslookup's output (after the server's own lines)."""
    answer = output.split("\n\n", 1)[-1] if "\n\n" in output else ""
    return [line.split(":", 1)[1].strip() for line in answer.splitlines() if line.startswith("Address") and ":" in line]


def _ready_addresses(cluster: Any, service: Obj) -> list[str]:
    """A headless Service's ready endpoints, as the kubernetes plugin answers for it."""
    name, namespace = service["metadata"]["name"], service["metadata"]["namespace"]
    return sorted({str(address) for s in cluster.list("endpointslices", namespace, labels=f"kubernetes.io/service-name={name}")
                   for e in s.get("endpoints") or [] if (e.get("conditions") or {}).get("ready", True) is not False
                   for address in e.get("addresses") or []})


def _service_target(cluster: Any, args: DnsRecord) -> tuple[str, list[str] | None, str, Obj | None]:
    """(what the name should reach, its addresses or None for any answer, a failure sentence, the Service)."""
    assert args.service is not None
    namespace = args.service_namespace or args.namespace
    service = find(cluster, "services", args.service, namespace)
    if service is None:
        said, _ = missing(cluster, "services", "service", args.service, namespace)
        return "", None, said, None
    spec = service.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return f"service {args.service} (ExternalName {spec.get('externalName')})", None, "", service
    if spec.get("clusterIP") == "None":
        return f"the ready pods of the headless service {args.service}", _ready_addresses(cluster, service), "", service
    return f"service {args.service}'s cluster IP", [str(spec.get("clusterIP"))], "", service


def _pod_target(cluster: Any, args: DnsRecord) -> tuple[str, list[str] | None, str, Obj | None]:
    assert args.pod is not None
    namespace = args.pod_namespace or args.namespace
    pod = find(cluster, "pods", args.pod, namespace)
    if pod is None:
        said, _ = missing(cluster, "pods", "pod", args.pod, namespace)
        return "", None, said, None
    address = (pod.get("status") or {}).get("podIP")
    if not address:
        return "", None, f"pod {args.pod} has no IP yet ({(pod.get('status') or {}).get('phase')})", pod
    return f"pod {args.pod}'s IP", [str(address)], "", pod


def _first_service(cluster: Any, name: str, namespace: str) -> tuple[str, Obj] | None:
    """The first name of the search path that is a Service's, with that Service."""
    for candidate in search_path(name, namespace):
        parts = candidate.split(".")
        if len(parts) == 5 and ".".join(parts[2:]) == f"svc.{CLUSTER_DOMAIN}":
            found = find(cluster, "services", parts[0], parts[1])
            if found is not None:
                return candidate, found
    return None


def _service_record(cluster: Any, args: DnsRecord, service: Obj | None, got: list[str]) -> tuple[str, list[str]] | None:
    """Why ``name`` does not reach the Service: the search path taking it to another Service, or
    to none; an ExternalName whose target is no full name. (a clause, details) or None."""
    if args.service is None or service is None:
        return None
    target_namespace = service["metadata"]["namespace"]
    fqdn = f"{args.service}.{target_namespace}.svc.{CLUSTER_DOMAIN}"
    tried = search_path(args.name, args.namespace)
    first = _first_service(cluster, args.name, args.namespace)
    if first is not None and first[1]["metadata"].get("uid") != service["metadata"].get("uid"):
        hit, other = first
        spec = other.get("spec") or {}
        other_name, other_namespace = other["metadata"]["name"], other["metadata"]["namespace"]
        if spec.get("type") == "ExternalName":
            target = str(spec.get("externalName") or "").rstrip(".")
            if target != fqdn:
                return f"service {other_name}'s spec.externalName {target} is no full name", [
                    f"it is looked up as {hit}, service {other_name} of {other_namespace}, an ExternalName for {target}: CoreDNS answers "
                    "with that name as it is (a CNAME's target is never searched)", f"set spec.externalName: {fqdn}"]
            return None
        return f"it finds service {other_name} of {other_namespace} first, as {hit}", [
            "a pod's search path starts with its own namespace", f"write {args.service}.{target_namespace} or {fqdn}"]
    if fqdn in tried:
        return None
    if args.name.rstrip(".") == args.service and target_namespace != args.namespace:
        return f"service {args.service} is in {target_namespace}, and a short name is looked up in {args.namespace} first", [
            f"the short name is looked up as {tried[0]} first (a pod's search path starts with its own namespace)",
            f"from another namespace, write {args.service}.{target_namespace} or {fqdn}, or give {args.namespace} a Service "
            f"{args.service} of type ExternalName whose externalName is {fqdn}"]
    return f"none of the names it is looked up as is service {args.service} of {target_namespace}", [
        f"it is looked up as {', '.join(tried[:-1])} and {tried[-1]}",
        f"its names: {args.service}.{target_namespace}, {args.service}.{target_namespace}.svc, {fqdn}"]


def _pod_record(cluster: Any, args: DnsRecord, pod: Obj) -> tuple[str, list[str]] | None:
    """Why a pod's own name is not published, the cause first: its hostname and subdomain, the
    headless Service its subdomain names (a StatefulSet's serviceName), its readiness. (a
    clause, evidence: what else is wrong once that is mended) or None."""
    namespace = pod["metadata"]["namespace"]
    spec = pod.get("spec") or {}
    owner = next((ref for ref in pod["metadata"].get("ownerReferences") or [] if ref.get("kind") == "StatefulSet"), None)
    statefulset = find(cluster, "statefulsets", str(owner["name"]), namespace) if owner else None
    subdomain = spec.get("subdomain")
    if statefulset is not None:
        subdomain = (statefulset.get("spec") or {}).get("serviceName") or subdomain
    where = f"statefulset {statefulset['metadata']['name']}: spec.serviceName" if statefulset is not None else f"pod {args.pod}: spec.subdomain"
    if not subdomain:
        return f"{where} is not set", ["a pod has a DNS name of its own only under a headless Service its subdomain names"]
    findings: list[Finding] = []
    service = find(cluster, "services", str(subdomain), namespace)
    # the Service the name asked for (cache-0.cache: cache), judged too when the subdomain names another
    asked = args.name.split(".")[1] if args.name.count(".") >= 1 else None
    if service is None:
        here = sorted(str(s["metadata"]["name"]) for s in cluster.list("services", namespace))
        findings.append(Finding(Cause.MISSING, f"{where} is {subdomain!r}, but no Service {subdomain} exists",
                                (f"Services in {namespace}: {', '.join(here) or 'none'}",
                                 "the pods' names hang off the headless Service it names"
                                 + ("; serviceName cannot be changed, so delete the StatefulSet and create it again" if statefulset is not None else "")),
                                aside=f"{where} is {subdomain!r}, but no Service {subdomain} exists in {namespace}"))
        service = find(cluster, "services", asked, namespace) if asked and asked != subdomain else None
    if service is not None:
        named = service["metadata"]["name"]
        service_spec = service.get("spec") or {}
        if service_spec.get("clusterIP") != "None":
            said = f"service {named}: spec.clusterIP is {service_spec.get('clusterIP')}, not None"
            findings.append(Finding(Cause.SELECTOR, said, (HEADLESS_ONLY, RECREATE_HEADLESS), aside=f"{said}: {HEADLESS_ONLY}"))
        selector = service_spec.get("selector") or {}
        labels = pod["metadata"].get("labels") or {}
        if not matches(labels, selector):
            said = f"service {named}'s selector {labels_text(selector) or '(none)'} does not select pod {args.pod}"
            findings.append(Finding(Cause.SELECTOR, said, (f"pod {args.pod} is labelled {labels_text(labels)}", "so CoreDNS has no endpoint to name"),
                                    aside=f"{said} (labelled {labels_text(labels)})"))
    if findings:
        ordered = root_first(findings)
        return ordered[0].sentence, evidence(ordered)
    assert service is not None
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])
    if not ready and not (service.get("spec") or {}).get("publishNotReadyAddresses"):
        return f"pod {args.pod} is not ready", ["CoreDNS publishes the records of ready endpoints only"]
    expected = f"{spec.get('hostname') or args.pod}.{subdomain}.{namespace}.svc.{CLUSTER_DOMAIN}"
    if expected not in search_path(args.name, args.namespace):
        return f"pod {args.pod}'s name is {expected}, not {args.name}", [f"the form is HOSTNAME.SERVICE.NAMESPACE.svc.{CLUSTER_DOMAIN}"]
    return None


def dns_record(args: DnsRecord, context: CheckContext) -> Outcome:
    cluster = context.cluster
    target, wanted, failure, found = (_service_target if args.service else _pod_target)(cluster, args)
    if failure:
        return "failed", failure, []
    try:
        stdout, _, code = run_in_probe_pod(cluster, args.namespace, dict(args.from_labels), ["nslookup", "-timeout=2", "-retry=0", args.name])
    except errors.NotFound:
        return "failed", no_namespace(args.namespace), []
    got = answered(stdout)
    said = stdout.strip().splitlines()[-1] if stdout.strip() else f"exit code {code}"
    if got and (wanted is None or sorted(got) == sorted(wanted)):
        return "passed", f"from a pod in {args.namespace}, {args.name} resolves to {', '.join(got)}, {target}", []
    if wanted == []:
        return "failed", f"{target} has no ready endpoint, so {args.name} has no address", [said]
    assert found is not None
    if args.service:
        explained = _service_record(cluster, args, found, got)
        why, more = explained if explained else ("", [])
    else:
        why, more = _pod_record(cluster, args, found) or ("", [])
    # a full name is the same from every namespace: the pod's is said with the evidence, not in the sentence
    full = args.name.rstrip(".").endswith(f".svc.{CLUSTER_DOMAIN}")
    asked = f"{args.name}" if full else f"from a pod in {args.namespace}, {args.name}"
    nslookup = [f"nslookup {args.name}" + (f", from a pod in {args.namespace}," if full else "") + f" says: {said}"] if not got else []
    if got:
        lead = f"{asked} resolves to {', '.join(got)}, not to {target} ({', '.join(wanted or [])})"
        return "failed", f"{lead}: {why}" if why else lead, more + ([f"looked up from a pod in {args.namespace}"] if full else [])
    lead = f"{asked} does not resolve"
    return "failed", f"{lead}: {why}" if why else lead, more + nslookup


def _watched(args: object) -> tuple[str, ...]:
    return ("services", "pods", "statefulsets")


KINDS = (CheckKind(model=DnsRecord, run=dns_record, watches=_watched, observes=False),)
