"""The NetworkPolicy lab's story, end to end on a fresh sandbox with the real kubectl:
the page lists the rows, deny policies make wget time out, the database is
isolated and opened to the web server only, interpoddemo2 is refused, DNS dies
under egress isolation and comes back with the right policy.

The learner's probe pod here is a busybox pod reached with ``kubectl exec`` (an
interactive ``kubectl run -ti`` comes with attach). Simulated waits are scaled
down (LABRUNNER_SANDBOX_TIME_SCALE) so timeouts take a fraction of a second.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from labrunner.sandbox.control import stop
from tests.conftest import REPO
from tests.sandboxes import Kubectl, kubectl_for, start_sandbox

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
ASSETS = REPO / "assets" / "networkpolicies"


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    # A cluster of its own: the story installs Calico, which makes every namespace's policies bite.
    files = start_sandbox(tmp_path_factory.mktemp("story"))
    yield kubectl_for(files, tmp_path_factory.mktemp("home"), timeout=120)
    stop(files)


def _kubectl_env(kubectl: Kubectl) -> dict[str, str]:
    return kubectl.environment  # type: ignore[attr-defined, no-any-return]


def page(kubectl: Kubectl, service: str = "interpoddemo") -> subprocess.CompletedProcess[str]:
    return kubectl("exec", "-n", "networkdemo", "demopod", "--", "wget", "-q", "--timeout=5", f"http://{service}/index.php", "-O", "-", check=False)


def apply(kubectl: Kubectl, name: str) -> None:
    kubectl("apply", "-n", "networkdemo", "-f", str(ASSETS / name))


def test_the_lab_from_deployment_to_dns(kubectl: Kubectl) -> None:
    # Steps 1-6: the application, exposed and seeded.
    kubectl("create", "namespace", "networkdemo")
    apply(kubectl, "mysqlpod.yaml")
    apply(kubectl, "app.yaml")
    kubectl("rollout", "status", "deployment/mysql", "-n", "networkdemo", "--timeout=60s")
    kubectl("rollout", "status", "deployment/interpoddemo", "-n", "networkdemo", "--timeout=60s")
    kubectl("expose", "deployment", "mysql", "-n", "networkdemo", "--port", "3306")
    kubectl("expose", "deployment", "interpoddemo", "-n", "networkdemo", "--port", "80")
    kubectl("run", "demopod", "-n", "networkdemo", "--image=busybox", "--labels=run=demopod", "--", "sleep", "3600")
    kubectl("wait", "-n", "networkdemo", "--for=condition=Ready", "pod/demopod", "--timeout=30s")
    assert "MySQL connection failed: Unknown database &#039;db1&#039;" in page(kubectl).stdout
    kubectl("exec", "-i", "-n", "networkdemo", "deploy/mysql", "--", "sh", "-c", 'exec mysql -uroot -p"$MYSQL_ROOT_PASSWORD"',
            stdin=(ASSETS / "db.txt").read_text())
    listed = page(kubectl).stdout
    assert listed.count("<tr><td>") == 10 and "<td>Mara Quill</td>" in listed

    # Before Calico, a deny policy has no effect: the CNI ignores policies.
    apply(kubectl, "deny-ingress.yaml")
    assert page(kubectl).stdout.count("<tr><td>") == 10

    # Steps 7-10: Calico enforces; deny-ingress drops, allow-ingress-webserver lets the page through.
    kubectl("apply", "-f", str(ASSETS / "calico-sandbox.yaml"))
    kubectl("rollout", "status", "daemonset/calico-node", "-n", "kube-system", "--timeout=60s")
    denied = page(kubectl)
    assert (denied.returncode, denied.stderr.splitlines()[0]) == (1, "wget: download timed out")
    apply(kubectl, "allow-ingress-webserver.yaml")
    assert "MySQL connection failed: Connection timed out" in page(kubectl).stdout

    # Step 12: no policies, rows again. Steps 13-14: the database isolated, then opened to the web server.
    kubectl("delete", "networkpolicy", "--all", "-n", "networkdemo")
    assert page(kubectl).stdout.count("<tr><td>") == 10
    apply(kubectl, "deny-ingress-db.yaml")
    assert "MySQL connection failed: Connection timed out" in page(kubectl).stdout
    apply(kubectl, "allow-ingress-db.yaml")
    assert page(kubectl).stdout.count("<tr><td>") == 10

    # Step 15: interpoddemo2 has other labels, so the database refuses it.
    apply(kubectl, "app2.yaml")
    kubectl("rollout", "status", "deployment/interpoddemo2", "-n", "networkdemo", "--timeout=60s")
    assert "MySQL connection failed: Connection timed out" in page(kubectl, "interpoddemo2").stdout
    assert page(kubectl).stdout.count("<tr><td>") == 10

    # Steps 16-17: egress isolation kills DNS; the DNS policy brings names back (and nothing else).
    apply(kubectl, "deny-all-egress.yaml")
    lookup = kubectl("exec", "-n", "networkdemo", "demopod", "--", "nslookup", "interpoddemo", check=False)
    assert lookup.returncode == 1 and ";; connection timed out; no servers could be reached" in lookup.stdout
    apply(kubectl, "egress-allow-dns.yaml")
    lookup = kubectl("exec", "-n", "networkdemo", "demopod", "--", "nslookup", "interpoddemo")
    assert "Name:\tinterpoddemo.networkdemo.svc.cluster.local" in lookup.stdout
    still_closed = page(kubectl)
    assert still_closed.returncode == 1 and "wget: download timed out" in still_closed.stderr


def test_probes_say_what_busybox_says(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "probes")
    kubectl("run", "box", "-n", "probes", "--image=busybox", "--", "sleep", "3600")
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "-n", "probes")
    kubectl("expose", "deployment", "web", "-n", "probes", "--port", "80")
    kubectl("rollout", "status", "deployment/web", "-n", "probes", "--timeout=60s")
    kubectl("wait", "-n", "probes", "--for=condition=Ready", "pod/box", "--timeout=30s")

    def box(*argv: str) -> subprocess.CompletedProcess[str]:
        return kubectl("exec", "-n", "probes", "box", "--", *argv, check=False)

    assert "Welcome to nginx!" in box("wget", "-q", "-O", "-", "http://web").stdout
    # the forms tutorials use: short options together, and saving to a file
    page = box("wget", "-qO-", "http://web").stdout
    assert "Welcome to nginx!" in page
    assert box("wget", "-qO", "-", "-T", "5", "http://web").stdout == page
    saved = box("sh", "-c", "wget http://web && grep -c nginx index.html && wget -q http://web")
    assert saved.stdout == f"{sum('nginx' in line for line in page.splitlines())}\n" and "saving to 'index.html'" in saved.stderr
    assert saved.returncode == 1 and "wget: can't open 'index.html': File exists" in saved.stderr
    assert box("sh", "-c", "wget -qO /tmp/page http://web && wc -l /tmp/page").stdout == f"{page.count(chr(10))} /tmp/page\n"
    unknown = box("wget", "-qX", "http://web")
    assert unknown.returncode == 1 and unknown.stderr.startswith("wget: invalid option -- 'X'\nBusyBox v1.36.1")
    assert box("wget", "-q", "-O", "-", "http://web.probes.svc.cluster.local/").returncode == 0
    assert box("wget", "-q", "-O", "-", "http://nowhere").stderr.startswith("wget: bad address 'nowhere'\n")
    refused = box("wget", "-q", "-O", "-", "http://web:8080")
    assert refused.returncode == 1 and "wget: can't connect to remote host (10.96.0." in refused.stderr
    assert box("nc", "-z", "-v", "-w", "2", "web", "80").stderr.startswith("web (10.96.0.")
    missing = box("nslookup", "nowhere")
    assert missing.returncode == 1 and "** server can't find nowhere: NXDOMAIN" in missing.stdout
    not_found = box("wget", "-q", "-O", "-", "http://web/missing")
    assert "wget: server returned error: HTTP/1.1 404 Not Found" in not_found.stderr
    # curl, where an image has it: the nginx pod asks itself through its Service.
    from_web = kubectl("exec", "-n", "probes", "deploy/web", "--", "curl", "-s", "http://web/", check=False)
    assert "Welcome to nginx!" in from_web.stdout
    failing = kubectl("exec", "-n", "probes", "deploy/web", "--", "curl", "-sSf", "http://web/missing", check=False)
    assert failing.returncode == 22


def test_kubectl_run_rm_i_gives_a_shell_and_its_exit_code(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "shells")
    script = "hostname\necho hi $HOSTNAME\nnope\nnslookup kube-dns.kube-system\nexit 3\n"
    completed = kubectl("run", "-n", "shells", "probe", "--rm", "-i", "--image=busybox", "--restart=Never", "--", "/bin/sh",
                        stdin=script, check=False)
    assert completed.returncode == 3
    # no TTY: a shell reading its script, so no prompt and its errors on stderr
    assert completed.stdout.startswith("probe\nhi probe\n") and "/ #" not in completed.stdout
    assert "sh: nope: not found\n" in completed.stderr
    assert "Name:\tkube-dns.kube-system.svc.cluster.local\nAddress: 10.96.0.10" in completed.stdout
    assert 'pod "probe" deleted' in completed.stdout
    assert kubectl("get", "pods", "-n", "shells", "-o", "name").stdout == ""


def test_a_web_servers_log_shows_the_probes_requests(kubectl: Kubectl) -> None:
    logs = kubectl("logs", "-n", "probes", "deployment/web").stdout
    assert '"GET / HTTP/1.1" 200' in logs and '"Wget"' in logs


@pytest.mark.parametrize("websockets", ["true", "false"], ids=["spdy-in-websocket", "plain-spdy"])
def test_port_forward_shows_the_page_on_the_learners_machine(kubectl: Kubectl, websockets: str) -> None:
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        local_port = probe.getsockname()[1]
    environment = dict(os.environ)
    forward = subprocess.Popen(
        [KUBECTL or "kubectl", "port-forward", "-n", "networkdemo", "svc/interpoddemo", f"{local_port}:80"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**environment, **_kubectl_env(kubectl), "KUBECTL_PORT_FORWARD_WEBSOCKETS": websockets},
    )
    try:
        assert forward.stdout is not None
        assert forward.stdout.readline().startswith(f"Forwarding from 127.0.0.1:{local_port} -> 80")
        with urllib.request.urlopen(f"http://127.0.0.1:{local_port}/index.php", timeout=10) as response:
            body = response.read().decode()
        assert response.status == 200 and "<h1>Users in db1</h1>" in body
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{local_port}/missing", timeout=10)
            raise AssertionError("expected a 404")
        except urllib.error.HTTPError as error:
            assert error.code == 404
    finally:
        forward.terminate()
        forward.wait(timeout=10)


def test_ping_answers_pods_not_service_ips_and_exec_sh_is_a_shell(kubectl: Kubectl) -> None:
    pods = {item["metadata"]["name"]: item for item in __import__("json").loads(
        kubectl("get", "pods", "-n", "probes", "-o", "json").stdout)["items"]}
    web_ip = next(p["status"]["podIP"] for name, p in pods.items() if name.startswith("web-"))
    reply = kubectl("exec", "-n", "probes", "box", "--", "ping", "-c", "2", web_ip)
    assert "2 packets transmitted, 2 packets received, 0% packet loss" in reply.stdout
    silent = kubectl("exec", "-n", "probes", "box", "--", "ping", "-c", "1", "web", check=False)
    assert silent.returncode == 1 and "100% packet loss" in silent.stdout
    shell = kubectl("exec", "-i", "-n", "probes", "box", "--", "sh", stdin="hostname\nexit 4\n", check=False)
    assert (shell.returncode, shell.stdout) == (4, "box\n")
    # one shell for the whole input: variables last, a loop over several lines waits for its done
    script = "n=2\nfor i in $(seq $n)\ndo\n  echo line $i\ndone\ncat <<EOF\nhost $(hostname)\nEOF\n"
    multi = kubectl("exec", "-i", "-n", "probes", "box", "--", "sh", stdin=script, check=False)
    assert (multi.returncode, multi.stdout) == (0, "line 1\nline 2\nhost box\n")
    loop = kubectl("exec", "-n", "probes", "box", "--", "sh", "-c", "for i in 1 2 3; do echo $i > /tmp/n; done; while read n; do echo got $n; done < /tmp/n", check=False)
    assert (loop.returncode, loop.stdout) == (0, "got 3\n")
    # the last line runs without its newline, and the shell exits with its status
    last = kubectl("exec", "-i", "-n", "probes", "box", "--", "sh", stdin="hostname\nnope", check=False)
    assert (last.returncode, last.stdout) == (127, "box\n") and "sh: nope: not found" in last.stderr


def test_names_outside_the_cluster_and_egress_rules_to_them(kubectl: Kubectl) -> None:
    """A name outside the cluster resolves to a documentation address standing for it
    (203.0.113.0/24); an egress policy allowing 0.0.0.0/0 except the pod network lets it
    through, a default-deny egress (with DNS allowed) drops it, as Calico would."""
    kubectl("create", "namespace", "outside")
    kubectl("run", "box", "-n", "outside", "--image=busybox:1.36", "--", "sleep", "3600")
    kubectl("wait", "-n", "outside", "--for=condition=Ready", "pod/box", "--timeout=60s")

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return kubectl("exec", "-n", "outside", "box", "--", *argv, check=False)

    looked = run("nslookup", "www.example.com")
    assert "Non-authoritative answer:\nName:\twww.example.com\nAddress: 203.0.113." in looked.stdout
    assert "NXDOMAIN" in run("nslookup", "no-such-name").stdout
    page = run("wget", "-qO-", "--timeout=3", "http://www.example.com/")
    assert page.returncode == 0 and "stands for www.example.com, outside the cluster" in page.stdout
    kubectl("apply", "-n", "outside", "-f", "-", stdin="""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-dns-only}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
""")
    blocked = run("wget", "-qO-", "--timeout=2", "http://www.example.com/")
    assert blocked.returncode == 1 and "download timed out" in blocked.stderr
    kubectl("apply", "-n", "outside", "-f", "-", stdin="""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-internet}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]
""")
    assert run("wget", "-qO-", "--timeout=3", "http://www.example.com/").returncode == 0
    kubectl("delete", "namespace", "outside", "--wait=false")
