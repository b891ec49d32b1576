"""CoreDNS driven by its Corefile.

The parser against real Corefiles and CoreDNS's own error texts (caddy's ``file:line - Error
during parsing: ...``, the plugins' ``plugin/NAME: ...``), the reload digest a kind cluster logs,
answers of a loaded configuration over a small fake cluster; then, on a sandbox of the module's
own (the tests change the coredns ConfigMap and CoreDNS's replicas), what a learner does with
kubectl: a rewrite rule followed by nslookup after the reload, a stub domain, a typo that keeps
the old configuration and crash-loops a restarted pod, CoreDNS scaled to zero.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from labrunner.sandbox.coredns.corefile import CorefileError, config_digest, parse, tokenize
from labrunner.sandbox.coredns.directives import DIRECTIVES
from labrunner.sandbox.coredns.instances import INSTANCES, start
from labrunner.sandbox.coredns.manifests import COREFILE
from labrunner.sandbox.coredns.messages import NOERROR, NXDOMAIN, REFUSED, SERVFAIL, Query, Reply
from labrunner.sandbox.coredns.plugins.base import Context
from labrunner.sandbox.coredns.server import answer
from labrunner.sandbox.coredns.setup import Config, Files, StartError, digest_of, load
from labrunner.sandbox.coredns.upstreams import NODE_RESOLV_CONF
from tests.sandboxes import KUBECTL, Kubectl, eventually, kubectl_for, start_sandbox

PATH = "/etc/coredns/Corefile"
KIND_DIGEST = ("591cf328cccc12bc490481273e738df59329c62c0b729d94e8b61db9961c2fa5f046dd37f1cf888b953814040d180f52594972691cd6ff41be"
               "96639138a43908")
"""What every kind and kubeadm cluster's CoreDNS logs at start (``plugin/reload: Running configuration SHA512 = ...``)."""


def corefile(*lines: str, before: str = "", after: str = "") -> str:
    """kubeadm's Corefile with ``lines`` added after ``errors``, and blocks before or after it."""
    extra = "".join(f"    {line}\n" for line in lines)
    return before + COREFILE.replace("    errors\n", "    errors\n" + extra) + after


# -- the parser -----------------------------------------------------------------------------------


def test_kubeadms_corefile_gives_the_digest_kind_clusters_log() -> None:
    blocks = parse(COREFILE, PATH, DIRECTIVES)
    assert [block.keys for block in blocks] == [[".:53"]]
    assert [token.text for token in blocks[0].tokens["kubernetes"]] == [
        "kubernetes", "cluster.local", "in-addr.arpa", "ip6.arpa", "{", "pods", "insecure", "fallthrough", "in-addr.arpa", "ip6.arpa",
        "ttl", "30", "}"]
    assert config_digest(blocks) == KIND_DIGEST


def test_tokens_quotes_comments_and_lines() -> None:
    tokens = tokenize('a "b c" d#e\n# all a comment\n"multi\nline" "say \\"hi\\"" \\x\n')
    assert [(t.line, t.text) for t in tokens] == [(1, "a"), (1, "b c"), (1, "d"), (3, "multi\nline"), (4, 'say "hi"'), (4, "\\x")]


def test_server_blocks_stub_domains_snippets_and_environment() -> None:
    text = """(common) {
    errors
    log
}
example.internal:53 {
    import common
    forward . {$UPSTREAM}
}
.:53 {
    import common
    forward . /etc/resolv.conf
}
"""
    blocks = parse(text, PATH, DIRECTIVES, environment={"UPSTREAM": "10.96.5.5"})
    assert [block.keys for block in blocks] == [["example.internal:53"], [".:53"]]
    assert [t.text for t in blocks[0].tokens["forward"]] == ["forward", ".", "10.96.5.5"]
    assert sorted(blocks[1].tokens) == ["errors", "forward", "log"]


@pytest.mark.parametrize(("text", "error"), [
    (COREFILE.replace("kubernetes cluster", "kubernets cluster"), "/etc/coredns/Corefile:7 - Error during parsing: Unknown directive 'kubernets'"),
    (COREFILE.replace("    loop\n", "    loop }\n"), "/etc/coredns/Corefile:17 - Error during parsing: Unexpected '}' because no matching opening brace"),
    (COREFILE.removesuffix("}\n"), "/etc/coredns/Corefile:19 - Syntax error: Unexpected token 'loadbalance', expecting '}'"),
    (".:53 {\n    health {\n       lameduck 5s\n", "/etc/coredns/Corefile:3 - Error during parsing: Unexpected EOF"),
    (".:53, {\n errors\n}\n", "/etc/coredns/Corefile:1 - Error during parsing: Expected another address but had '{' - check for extra comma"),
])
def test_parse_errors_in_caddys_words(text: str, error: str) -> None:
    with pytest.raises(CorefileError) as raised:
        parse(text, PATH, DIRECTIVES)
    assert str(raised.value) == error


FILES = Files(read=lambda path: NODE_RESOLV_CONF if path == "/etc/resolv.conf" else None, names=lambda: [])


@pytest.mark.parametrize(("text", "error"), [
    (COREFILE.replace("pods insecure", "pod insecure"),
     "plugin/kubernetes: /etc/coredns/Corefile:8 - Error during parsing: unknown property 'pod'"),
    (COREFILE.replace("ttl 30", "ttl 3601"), "plugin/kubernetes: /etc/coredns/Corefile:10 - Error during parsing: ttl must be in range [0, 3600]: 3601"),
    (COREFILE.replace("pods insecure", "pods secure"),
     "plugin/kubernetes: wrong value for pods: secure,  must be one of: disabled, verified, insecure"),
    (COREFILE.replace("forward . /etc/resolv.conf", "forward . dns.google"), 'plugin/forward: not an IP address or file: "dns.google"'),
    (COREFILE.replace("forward . /etc/resolv.conf", "forward ."),
     "plugin/forward: /etc/coredns/Corefile:13 - Error during parsing: Wrong argument count or unexpected line ending after '.'"),
    (COREFILE.replace("max_concurrent 1000", "max_concurent 1000"),
     "plugin/forward: /etc/coredns/Corefile:14 - Error during parsing: unknown property 'max_concurent'"),
    (COREFILE.replace("    reload\n", "    reload 1s\n"), "plugin/reload: interval value must be greater or equal to 2s"),
    (COREFILE.replace("    reload\n", "    reload 30\n"), 'plugin/reload: time: missing unit in duration "30"'),
    (COREFILE.replace("health {", "health 8080 {"), "plugin/health: address 8080: missing port in address"),
    (corefile("rewrite nam exact a.example.com b.example.com"), 'plugin/rewrite: invalid rule type "nam"'),
    (COREFILE.replace("       ttl 30\n    }\n", "       ttl 30\n"),  # the block closes at the server block's brace
     "plugin/kubernetes: /etc/coredns/Corefile:11 - Error during parsing: unknown property 'prometheus'"),
    (corefile("rewrite name a.example.com"), "plugin/rewrite: too few arguments for a name rule"),
    (corefile("rewrite name regex (.*)\\.example\\.com {1}-{2}.default.svc.cluster.local"),
     "plugin/rewrite: the rewrite regex pattern ({1}-{2}.default.svc.cluster.local) uses more subexpressions than its corresponding "
     "matching regex pattern ((.*)\\.example\\.com)"),
    (corefile("kubernetes cluster.local"), "plugin/kubernetes: this plugin can only be used once per Server Block"),
    (COREFILE + ".:53 {\n    errors\n}\n", "cannot serve dns://.:53 - it is already defined"),
])
def test_start_errors_in_coredns_words(text: str, error: str) -> None:
    with pytest.raises(StartError) as raised:
        load(text, PATH, FILES)
    assert str(raised.value) == error


def test_the_first_error_is_the_first_plugin_in_coredns_order_not_in_the_file() -> None:
    text = "example.internal {\n    forward . nowhere\n}\n.:53 {\n    kubernetes cluster.local {\n        pod insecure\n    }\n}\n"
    with pytest.raises(StartError) as raised:
        load(text, PATH, FILES)
    assert str(raised.value).startswith("plugin/kubernetes: ")


# -- answers of a loaded configuration -----------------------------------------------------------------


class Cluster:
    """Just enough of the data plane for the kubernetes and forward plugins."""

    filters: tuple[Any, ...] = ()

    def __init__(self) -> None:
        self.services = {("default", "web"): {"metadata": {"name": "web", "namespace": "default"}, "spec": {"clusterIP": "10.96.0.20"}},
                         ("default", "ext"): {"metadata": {"name": "ext", "namespace": "default"},
                                              "spec": {"type": "ExternalName", "externalName": "www.example.org"}}}
        self.objects = self

    def get(self, group: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        if plural == "namespaces":
            return {"metadata": {"name": name}} if name in ("default", "kube-system") else None
        return self.services.get((namespace, name)) if plural == "services" else None

    def list(self, group: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return list(self.services.values()) if plural == "services" else []

    def pods(self) -> list[dict[str, Any]]:
        return []


def ask(config: Config, name: str, kind: str = "A", logged: list[str] | None = None) -> Reply:
    context = Context(Cluster(), {"metadata": {"name": "coredns-a"}, "status": {"podIP": "10.244.0.2"}},
                      {"/etc/hosts": b"127.0.0.1\tlocalhost\n10.244.0.2\tcoredns-a\n"}, (logged if logged is not None else []).extend)
    return answer(config, Query(name, kind, "10.244.1.5"), context)


def addresses(reply: Reply) -> list[tuple[str, str]]:
    return [(record.name, record.value) for record in reply.answer]


def test_kubeadms_configuration_answers_the_cluster_and_forwards_the_rest() -> None:
    config = load(COREFILE, PATH, FILES)
    assert addresses(ask(config, "web.default.svc.cluster.local.")) == [("web.default.svc.cluster.local.", "10.96.0.20")]
    assert ask(config, "web.default.svc.cluster.local.").authoritative
    assert ask(config, "nope.default.svc.cluster.local.").rcode == NXDOMAIN
    outside = ask(config, "www.example.com.")
    assert outside.rcode == NOERROR and not outside.authoritative and outside.answer[0].value.startswith("203.0.113.")
    chased = ask(config, "ext.default.svc.cluster.local.")
    assert [(r.type, r.value) for r in chased.answer][0] == ("CNAME", "www.example.org.") and chased.answer[1].type == "A"
    assert addresses(ask(config, "20.0.96.10.in-addr.arpa.", "PTR")) == [("20.0.96.10.in-addr.arpa.", "web.default.svc.cluster.local.")]


def test_the_most_specific_zone_takes_the_query_and_none_is_refused() -> None:
    text = ("cluster.local:53 {\n    kubernetes\n}\nexample.internal:53 {\n    hosts {\n        10.0.0.42 db.example.internal\n    }\n}\n"
            "db.example.internal:53 {\n    template IN A {\n        answer \"{{ .Name }} 60 IN A 10.0.0.99\"\n    }\n}\n")
    config = load(text, PATH, FILES)
    assert addresses(ask(config, "db.example.internal.")) == [("db.example.internal.", "10.0.0.99")]
    assert ask(config, "other.example.internal.").rcode == SERVFAIL  # hosts without fallthrough has no SOA to say NXDOMAIN
    assert ask(config, "web.default.svc.cluster.local.").answer[0].value == "10.96.0.20"
    assert ask(config, "www.example.com.").rcode == REFUSED


def test_without_forward_outside_names_fail_as_the_last_plugin_says() -> None:
    logged: list[str] = []
    config = load(COREFILE.replace("    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n", ""), PATH, FILES)
    reply = ask(config, "www.example.com.", logged=logged)
    assert (reply.rcode, reply.error) == (SERVFAIL, "plugin/loop: no next plugin found")
    assert logged == ["[ERROR] plugin/errors: 2 www.example.com. A: plugin/loop: no next plugin found"]


def test_rewrite_rules_rename_the_question_and_put_the_answer_back() -> None:
    config = load(corefile("rewrite name exact db.example.com web.default.svc.cluster.local",
                           "rewrite name suffix .corp.internal .default.svc.cluster.local answer auto",
                           "rewrite name regex (.*)\\.shop\\.internal {1}.default.svc.cluster.local"), PATH, FILES)
    assert addresses(ask(config, "db.example.com.")) == [("db.example.com.", "10.96.0.20")]
    assert addresses(ask(config, "web.corp.internal.")) == [("web.corp.internal.", "10.96.0.20")]
    assert addresses(ask(config, "web.shop.internal.")) == [("web.default.svc.cluster.local.", "10.96.0.20")]  # no answer rule


def test_hosts_entries_fall_through_only_when_told() -> None:
    falling = load(corefile("hosts {", "    10.0.0.7 legacy.example.com", "    fallthrough", "}"), PATH, FILES)
    assert addresses(ask(falling, "legacy.example.com.")) == [("legacy.example.com.", "10.0.0.7")]
    assert ask(falling, "web.default.svc.cluster.local.").answer[0].value == "10.96.0.20"
    stopping = load(corefile("hosts {", "    10.0.0.7 legacy.example.com", "}"), PATH, FILES)
    assert ask(stopping, "web.default.svc.cluster.local.").rcode == SERVFAIL


def test_the_log_plugin_writes_corednss_common_log_format() -> None:
    logged: list[str] = []
    ask(load(corefile("log"), PATH, FILES), "web.default.svc.cluster.local.", logged=logged)
    (line,) = logged
    assert line.startswith("[INFO] 10.244.1.5:") and ' "A IN web.default.svc.cluster.local. udp 47 false 512" NOERROR qr,aa,rd 63 ' in line


# -- a CoreDNS process ---------------------------------------------------------------------------------------


def run(text: str | None, argv: tuple[str, ...] = ("/coredns", "-conf", PATH)) -> tuple[int | None, list[str]]:
    logged: list[str] = []
    loop = asyncio.new_event_loop()
    pod = {"metadata": {"uid": "u-1", "name": "coredns-a", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
           "spec": {"dnsPolicy": "Default"}, "status": {"podIP": "10.244.0.2"}}
    files = {} if text is None else {PATH: text.encode()}
    try:
        code = start(pod, list(argv), lambda: files, {}, None, threading.Event(), loop, logged.extend, lambda code: None)
    finally:
        INSTANCES.pop("u-1", None)
        loop.close()
    return code, logged


def test_start_up_lines_are_coredns_1_11_3s() -> None:
    assert run(COREFILE) == (None, [".:53", f"[INFO] plugin/reload: Running configuration SHA512 = {KIND_DIGEST}", "CoreDNS-1.11.3",
                                    "linux/amd64, go1.21.11, a6338e9"])
    code, logged = run(corefile(after="example.internal:53 {\n    forward . 10.96.5.5\n}\n"))
    assert code is None and logged[:2] == [".:53", "example.internal.:53"]


def test_a_refused_corefile_ends_the_process_with_its_error() -> None:
    assert run(COREFILE.replace("kubernetes cluster", "kubernets cluster")) == (
        1, ["/etc/coredns/Corefile:7 - Error during parsing: Unknown directive 'kubernets'"])
    assert run(None) == (1, ["open /etc/coredns/Corefile: no such file or directory"])
    code, logged = run(COREFILE, ("/coredns", "-config", PATH))
    assert code == 2 and logged[:2] == ["flag provided but not defined: -config", "Usage of /coredns:"]


def test_forwarding_to_itself_is_a_loop_the_loop_plugin_ends() -> None:
    code, logged = run(COREFILE.replace("forward . /etc/resolv.conf", "forward . 127.0.0.1"))
    assert code == 1 and logged[-1].startswith('[FATAL] plugin/loop: Loop (127.0.0.1:') and \
        '-> :53) detected for zone ".", see https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO ' in logged[-1]


# -- with kubectl ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    """A sandbox whose CoreDNS the tests reconfigure, restart and scale."""
    from labrunner.sandbox.control import stop

    if KUBECTL is None:
        pytest.skip("kubectl is not on PATH")
    files = start_sandbox(tmp_path_factory.mktemp("coredns"))
    kubectl = kubectl_for(files, tmp_path_factory.mktemp("home"))
    kubectl("create", "namespace", "dns")
    kubectl("apply", "-n", "dns", "-f", "-", stdin="""
apiVersion: v1
kind: Pod
metadata: {name: client}
spec: {containers: [{name: c, image: busybox:1.36, command: [sleep, "3600"]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {clusterIP: 10.96.100.20, selector: {app: web}, ports: [{port: 80}]}
""")
    kubectl("wait", "-n", "dns", "--for=condition=Ready", "pod/client", "--timeout=60s")
    yield kubectl
    stop(files)


def nslookup(kubectl: Kubectl, *argv: str) -> str:
    return kubectl("exec", "-n", "dns", "client", "--", "nslookup", *argv, check=False).stdout


def set_corefile(kubectl: Kubectl, text: str, loaded: str = "") -> None:
    """Edit the Corefile and wait until every CoreDNS pod's log says ``loaded`` (by default, that it
    runs the new configuration): each pod reloads at its own jittered interval."""
    kubectl("patch", "configmap", "coredns", "-n", "kube-system", "--type", "merge", "-p", json.dumps({"data": {"Corefile": text}}))
    expected = loaded or f"[INFO] plugin/reload: Running configuration SHA512 = {digest_of(text, PATH, FILES)}"

    def everywhere() -> bool:
        pods = kubectl("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "name").stdout.split()
        said = [[line for line in kubectl("logs", "-n", "kube-system", pod, check=False).stdout.splitlines()
                 if "Running configuration SHA512" in line or "reload failed" in line] for pod in pods]
        return all(lines and lines[-1] == expected for lines in said)
    eventually(everywhere, f"every CoreDNS pod logging {expected!r}")


def coredns_logs(kubectl: Kubectl, *argv: str) -> str:
    return kubectl("logs", "-n", "kube-system", "-l", "k8s-app=kube-dns", "--tail=-1", *argv, check=False).stdout


def test_kubeadms_objects_and_a_rewrite_followed_after_the_reload(own: Kubectl) -> None:
    assert own("get", "configmap", "coredns", "-n", "kube-system", "-o", "jsonpath={.data.Corefile}").stdout == COREFILE
    volumes = json.loads(own("get", "deployment", "coredns", "-n", "kube-system", "-o", "jsonpath={.spec.template.spec.volumes}").stdout)
    assert volumes == [{"name": "config-volume", "configMap": {"name": "coredns", "items": [{"key": "Corefile", "path": "Corefile"}]}}]
    own("rollout", "status", "deployment/coredns", "-n", "kube-system", "--timeout=60s")
    assert f".:53\n[INFO] plugin/reload: Running configuration SHA512 = {KIND_DIGEST}\nCoreDNS-1.11.3\n" in coredns_logs(own)
    assert "** server can't find db.example.com: NXDOMAIN" not in nslookup(own, "db.example.com")  # forwarded: a stand-in address

    set_corefile(own, corefile("rewrite name exact db.example.com web.dns.svc.cluster.local"))
    assert "Name:\tdb.example.com\nAddress: 10.96.100.20\n" in nslookup(own, "db.example.com")
    assert "[INFO] Reloading\n[INFO] plugin/health: Going into lameduck mode for 5s\n" in coredns_logs(own)
    assert "[INFO] Reloading complete" in coredns_logs(own)


def test_a_stub_domain_forwards_to_a_dns_server_in_the_cluster(own: Kubectl) -> None:
    own("apply", "-n", "dns", "-f", "-", stdin="""
apiVersion: v1
kind: ConfigMap
metadata: {name: internal}
data:
  Corefile: |
    example.internal:53 {
        hosts {
            10.0.0.42 db.example.internal
        }
    }
---
apiVersion: v1
kind: Pod
metadata: {name: internal, labels: {app: internal}}
spec:
  containers:
  - {name: coredns, image: registry.k8s.io/coredns/coredns:v1.11.3, args: [-conf, /etc/coredns/Corefile],
     volumeMounts: [{name: config, mountPath: /etc/coredns}]}
  volumes: [{name: config, configMap: {name: internal}}]
---
apiVersion: v1
kind: Service
metadata: {name: internal}
spec: {clusterIP: 10.96.100.53, selector: {app: internal}, ports: [{name: dns, port: 53, protocol: UDP}]}
""")
    own("wait", "-n", "dns", "--for=condition=Ready", "pod/internal", "--timeout=60s")
    set_corefile(own, corefile(after="example.internal:53 {\n    errors\n    forward . 10.96.100.53\n}\n"
                                     "broken.internal:53 {\n    errors\n    forward . 10.96.100.99\n}\n"))
    assert "Name:\tdb.example.internal\nAddress: 10.0.0.42\n" in nslookup(own, "db.example.internal")
    assert "** server can't find db.broken.internal: SERVFAIL" in nslookup(own, "db.broken.internal")
    assert ";; connection timed out; no servers could be reached" in nslookup(own, "-timeout=2", "-retry=0", "db.broken.internal")
    assert "[ERROR] plugin/errors: 2 db.broken.internal. A: read udp 10.244." in coredns_logs(own)
    assert "->10.96.100.99:53: i/o timeout" in coredns_logs(own)


def test_a_typo_keeps_the_old_configuration_and_crash_loops_a_restarted_pod(own: Kubectl) -> None:
    good = corefile("rewrite name exact db.example.com web.dns.svc.cluster.local")
    set_corefile(own, good)
    assert "Address: 10.96.100.20" in nslookup(own, "db.example.com")
    error = "/etc/coredns/Corefile:8 - Error during parsing: Unknown directive 'kubernets'"
    set_corefile(own, good.replace("kubernetes cluster", "kubernets cluster"),
                 f"[ERROR] plugin/reload: Corefile changed but reload failed: starting with listener file descriptors: {error}")
    assert f"[INFO] Reloading\n[ERROR] Restart failed: {error}\n" in coredns_logs(own)
    assert "Address: 10.96.100.20" in nslookup(own, "db.example.com")  # the old configuration still answers

    own("rollout", "restart", "deployment/coredns", "-n", "kube-system")

    def restarted() -> list[str]:
        pods = json.loads(own("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "json").stdout)["items"]
        return [p["metadata"]["name"] for p in pods if (p["status"].get("containerStatuses") or [{}])[0].get("restartCount", 0) > 0]

    def crash_looping() -> bool:
        pods = json.loads(own("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "json").stdout)["items"]
        return any(((p["status"].get("containerStatuses") or [{}])[0].get("state") or {}).get("waiting", {}).get("reason")
                   == "CrashLoopBackOff" for p in pods)
    eventually(crash_looping, "a restarted CoreDNS crash-looping")
    assert own("logs", "-n", "kube-system", restarted()[0], "--previous").stdout == error + "\n"
    assert "Address: 10.96.100.20" in nslookup(own, "db.example.com")  # an old pod still answers (maxUnavailable 1)

    own("patch", "configmap", "coredns", "-n", "kube-system", "--type", "merge", "-p", json.dumps({"data": {"Corefile": COREFILE}}))
    own("delete", "pod", "-n", "kube-system", *restarted(), "--wait=false")  # rather than wait out their back-off
    own("rollout", "status", "deployment/coredns", "-n", "kube-system", "--timeout=60s")


def test_coredns_scaled_to_zero_times_lookups_out(own: Kubectl) -> None:
    own("scale", "deployment/coredns", "-n", "kube-system", "--replicas=0")
    eventually(lambda: not json.loads(own("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "json").stdout)["items"],
               "CoreDNS's pods gone")
    completed = own("exec", "-n", "dns", "client", "--", "nslookup", "web", check=False)
    assert (completed.stdout, completed.returncode) == (";; connection timed out; no servers could be reached\n\n", 1)
    own("scale", "deployment/coredns", "-n", "kube-system", "--replicas=2")
    own("rollout", "status", "deployment/coredns", "-n", "kube-system", "--timeout=60s")
    assert "Address: 10.96.100.20" in nslookup(own, "web")
