"""The images learners write (issue 13 item 1), as kubectl shows them: what each image's
entrypoint and command run, the ports its server listens on, what it answers, and what a
misspelt reference or a missing program does."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from labrunner.sandbox.entrypoints import main_process
from labrunner.sandbox.images import lookup, plausible_tag
from tests.sandboxes import Kubectl, eventually


def _pod(kubectl: Kubectl, namespace: str, name: str) -> dict:
    return json.loads(kubectl("get", "pod", name, "-n", namespace, "-o", "json").stdout)


def _until(check: Callable[[], bool], what: str) -> None:
    eventually(check, what)


def _ip(kubectl: Kubectl, namespace: str, name: str) -> str:
    kubectl("wait", "-n", namespace, "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
    return str(_pod(kubectl, namespace, name)["status"]["podIP"])


def _client(kubectl: Kubectl, namespace: str) -> Callable[..., tuple[int, str, str]]:
    kubectl("run", "client", "-n", namespace, "--image=busybox:1.36", "--", "sleep", "3600")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/client", "--timeout=60s")

    def run(*argv: str) -> tuple[int, str, str]:
        done = kubectl("exec", "-n", namespace, "client", "--", *argv, check=False)
        return done.returncode, done.stdout, done.stderr
    return run


def _waiting_reason(kubectl: Kubectl, namespace: str, name: str) -> str:
    statuses = _pod(kubectl, namespace, name).get("status", {}).get("containerStatuses") or [{}]
    return str(((statuses[0].get("state") or {}).get("waiting") or {}).get("reason", ""))


@pytest.mark.parametrize(("reference", "pulls"), [
    ("nginx", True), ("nginx:1.27.3-alpine", True), ("docker.io/library/mysql:8.4", True), ("registry.k8s.io/pause:3.10", True),
    ("registry.k8s.io/e2e-test-images/agnhost:2.53", True), ("php:8.3-apache", True), ("wordpress:php8.3-apache", True),
    ("ngnix", False), ("mysq:8.0", False), ("nginx:lastest", False), ("busybox:latset", False), ("acme/shop:1.0", False),
])
def test_which_references_pull(reference: str, pulls: bool) -> None:
    assert (lookup(reference) is not None) is pulls


def test_tags_are_versions_and_release_words() -> None:
    assert all(plausible_tag(tag) for tag in ("1.36", "v1.11.3", "8.0.40-oracle", "3.12-slim-bookworm", "mainline-alpine3.20", "php8.3-fpm"))
    assert not any(plausible_tag(tag) for tag in ("lastest", "alpne", "1.27-", "stabel"))


@pytest.mark.parametrize(("container", "kind", "argv", "ports"), [
    ({"image": "nginx"}, "server", ("nginx", "-g", "daemon off;"), (("TCP", 80),)),
    ({"image": "nginx", "args": ["sh", "-c", "echo hi"]}, "run", ("sh", "-c", "echo hi"), ()),  # the entrypoint runs its arguments
    ({"image": "nginx", "command": ["sleep", "3600"]}, "run", ("sleep", "3600"), ()),  # command drops CMD: no nginx runs
    ({"image": "mysql:8.4", "args": ["--port=3307"]}, "server", ("mysqld", "--port=3307"), (("TCP", 3307),)),
    ({"image": "hashicorp/http-echo", "args": ["-listen=:8080", "-text=hi"]}, "server", ("/http-echo", "-listen=:8080", "-text=hi"),
     (("TCP", 8080),)),
    ({"image": "traefik/whoami", "args": ["--port", "8081"]}, "server", ("/whoami", "--port", "8081"), (("TCP", 8081),)),
    ({"image": "registry.k8s.io/e2e-test-images/agnhost:2.53", "args": ["netexec", "--http-port=9090"]}, "server",
     ("/agnhost", "netexec", "--http-port=9090"), (("TCP", 9090), ("UDP", 8081))),
    ({"image": "busybox"}, "run", ("sh",), ()),
    ({"image": "python:3.12"}, "exit", ("python3",), ()),
    ({"image": "alpine", "command": ["bash", "-c", "true"]}, "missing", ("bash", "-c", "true"), ()),  # alpine has no bash
    ({"image": "traefik/whoami", "command": ["sh"]}, "missing", ("sh",), ()),  # scratch images have no shell
    ({"image": "debian", "command": ["bash", "-c", "echo hi"]}, "run", ("bash", "-c", "echo hi"), ()),
])
def test_what_a_container_runs(container: dict, kind: str, argv: tuple[str, ...], ports: tuple[tuple[str, int], ...]) -> None:
    process = main_process({"name": "c", **container})
    assert process is not None
    assert (process.kind, process.argv, process.ports) == (kind, argv, ports)


def test_nginx_listens_where_its_mounted_configuration_says() -> None:
    conf = {"/etc/nginx/conf.d/default.conf": b"server {\n  listen 8080; # moved\n  root /srv/site;\n}\n"}
    process = main_process({"name": "web", "image": "nginx:1.27"}, conf.get, lambda: list(conf))
    assert process is not None and process.ports == (("TCP", 8080),) and process.options["docroot"] == "/srv/site"


def test_images_that_end_and_programs_an_image_lacks(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("run", "idle", "-n", namespace, "--image=busybox:1.36")  # its CMD, sh, has no input: it ends, and is restarted
    kubectl("run", "echo", "-n", namespace, "--image=hashicorp/http-echo")
    kubectl("run", "typo", "-n", namespace, "--image=nginx", "--command", "--", "ngnix", "-g", "daemon off;")
    kubectl("run", "tag", "-n", namespace, "--image=nginx:lastest")
    _until(lambda: _waiting_reason(kubectl, namespace, "idle") == "CrashLoopBackOff", "busybox without a command crash-looping")
    last = _pod(kubectl, namespace, "idle")["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("Completed", 0)
    _until(lambda: "Missing -text option" in kubectl("logs", "echo", "-n", namespace, check=False).stdout, "http-echo saying why it exits")
    assert _pod(kubectl, namespace, "echo")["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 127
    _until(lambda: "StartError" in kubectl("describe", "pod", "typo", "-n", namespace).stdout, "the runtime refusing ngnix")
    described = kubectl("describe", "pod", "typo", "-n", namespace).stdout
    assert 'exec: "ngnix": executable file not found in $PATH' in described and "Exit Code:    128" in described
    _until(lambda: _waiting_reason(kubectl, namespace, "tag") in ("ErrImagePull", "ImagePullBackOff"), "nginx:lastest failing to pull")
    events = kubectl("get", "events", "-n", namespace, "--field-selector", "involvedObject.name=tag").stdout
    assert 'docker.io/library/nginx:lastest: not found' in events


def test_servers_answer_as_their_programs_do(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "configmap", "site", "-n", namespace, "--from-literal=default.conf=server { listen 8080; root /srv; }",
            "--from-literal=index.html=<h1>mine</h1>")
    kubectl("apply", "-n", namespace, "-f", "-", stdin="""
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: nginx
    image: nginx:1.27
    volumeMounts:
    - {name: site, mountPath: /etc/nginx/conf.d/default.conf, subPath: default.conf}
    - {name: site, mountPath: /srv/index.html, subPath: index.html}
  volumes: [{name: site, configMap: {name: site}}]
""")
    kubectl("run", "echo", "-n", namespace, "--image=hashicorp/http-echo:1.0", "--", "-listen=:8080", "-text=hello")
    kubectl("run", "who", "-n", namespace, "--image=traefik/whoami:v1.10")
    kubectl("run", "files", "-n", namespace, "--image=python:3.12-slim", "--", "python3", "-m", "http.server", "9000")
    kubectl("run", "db", "-n", namespace, "--image=mysql:8.4", "--env=MYSQL_ROOT_PASSWORD=pw")
    run = _client(kubectl, namespace)
    web, echo, who, files, db = (_ip(kubectl, namespace, name) for name in ("web", "echo", "who", "files", "db"))
    assert run("wget", "-qO-", f"http://{web}:8080/") == (0, "<h1>mine</h1>", "")
    code, _, said = run("wget", "-qO-", f"http://{web}/")
    assert code == 1 and "Connection refused" in said  # its configuration moved it off port 80
    code, _, said = run("wget", "-qO-", f"http://{web}:8080/missing")
    assert code == 1 and "404 Not Found" in said
    assert run("wget", "-qO-", f"http://{echo}:8080/") == (0, "hello\n", "")
    code, page, _ = run("wget", "-qO-", f"http://{who}/")
    assert code == 0 and page.startswith(f"Hostname: who\nIP: 127.0.0.1\nIP: ::1\nIP: {who}\nRemoteAddr: ")
    assert f"GET / HTTP/1.1\nHost: {who}\n" in page  # (text mode reads Go's \r\n as \n)
    code, page, _ = run("wget", "-qO-", f"http://{files}:9000/etc/")
    assert code == 0 and "<title>Directory listing for /etc/</title>" in page and '<a href="hostname">hostname</a>' in page
    code, _, said = run("wget", "-qO-", f"http://{db}:3306/")
    assert code == 1 and said.startswith("wget: error getting response: Connection reset by peer\n")


def test_php_runs_the_page_the_learner_wrote(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "configmap", "page", "-n", namespace,
            "--from-literal=index.php=<h1>Hi from <?= gethostname() ?></h1><?php foreach ([1, 2] as $i) { echo \"[$i]\"; } ?>",
            "--from-literal=db.php=<?php $db = mysqli_connect('mysql', 'root', 'pw', 'db1'); echo 'connected';")
    kubectl("apply", "-n", namespace, "-f", "-", stdin="""
apiVersion: v1
kind: Pod
metadata: {name: php}
spec:
  containers:
  - name: web
    image: php:8.3-apache
    volumeMounts: [{name: page, mountPath: /var/www/html}]
  volumes: [{name: page, configMap: {name: page}}]
---
apiVersion: v1
kind: Pod
metadata: {name: wp}
spec:
  containers:
  - {name: wordpress, image: "wordpress:php8.3-apache", env: [{name: WORDPRESS_DB_HOST, value: nowhere}]}
""")
    run = _client(kubectl, namespace)
    php, wordpress = _ip(kubectl, namespace, "php"), _ip(kubectl, namespace, "wp")
    assert run("wget", "-qO-", f"http://{php}/") == (0, "<h1>Hi from php</h1>[1][2]", "")
    # the official php image has no mysqli: PHP's fatal error, in the page and in Apache's log
    code, page, _ = run("wget", "-qO-", f"http://{php}/db.php")
    assert code == 0 and "<b>Fatal error</b>:  Uncaught Error: Call to undefined function mysqli_connect()" in page
    assert "PHP Fatal error:  Uncaught Error: Call to undefined function mysqli_connect()" in kubectl(
        "logs", "php", "-n", namespace).stdout
    code, _, said = run("wget", "-qO-", f"http://{wordpress}/")
    assert code == 1 and "500 Internal Server Error" in said  # "Error establishing a database connection"


def test_a_containers_environment_as_the_kubelet_builds_it(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "configmap", "settings", "-n", namespace, "--from-literal=MODE=debug", "--from-literal=1st=x")
    kubectl("create", "service", "clusterip", "backend", "-n", namespace, "--tcp=8080:80")
    kubectl("apply", "-n", namespace, "-f", "-", stdin="""
apiVersion: v1
kind: Pod
metadata: {name: env, labels: {tier: web}}
spec:
  containers:
  - name: app
    image: busybox:1.36
    command: [sleep, "3600"]
    resources: {limits: {memory: 64Mi}}
    envFrom: [{configMapRef: {name: settings}, prefix: APP_}, {configMapRef: {name: settings}}]
    env:
    - {name: GREETING, value: "hello $(APP_MODE) $$(kept) $(UNDEFINED)"}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: TIER, valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}}
    - {name: MEMORY_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
""")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/env", "--timeout=60s")
    pod = _pod(kubectl, namespace, "env")
    service = json.loads(kubectl("get", "service", "backend", "-n", namespace, "-o", "json").stdout)
    printed = kubectl("exec", "-n", namespace, "env", "--", "env").stdout.splitlines()
    assert {"APP_MODE=debug", "GREETING=hello debug $(kept) $(UNDEFINED)", "POD_NAME=env", f"POD_IP={pod['status']['podIP']}",
            f"NODE={pod['spec']['nodeName']}", "TIER=web", "MEMORY_MI=64", f"BACKEND_SERVICE_HOST={service['spec']['clusterIP']}",
            "BACKEND_SERVICE_PORT=8080", f"BACKEND_PORT_8080_TCP=tcp://{service['spec']['clusterIP']}:8080",
            "KUBERNETES_SERVICE_PORT=443"} <= set(printed)
    assert "APP_1st=x" in printed and "MODE=debug" in printed
    assert not any(line.startswith("1st=") for line in printed)  # not a variable name without a prefix: the kubelet skips it


def test_redis_answers_its_own_client_and_localhost_is_the_pod_itself(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "deployment", "cache", "-n", namespace, "--image=redis:7.4")
    kubectl("expose", "deployment", "cache", "-n", namespace, "--port=6379")
    kubectl("rollout", "status", "deployment/cache", "-n", namespace, "--timeout=60s")

    def cli(*words: str) -> tuple[int, str]:
        done = kubectl("exec", "-n", namespace, "deploy/cache", "--", "redis-cli", *words, check=False)
        return done.returncode, done.stdout

    assert cli("ping") == (0, "PONG\n")
    assert cli("set", "visits", "41") == (0, "OK\n")
    assert cli("incr", "visits") == (0, "42\n")
    assert cli("rpush", "queue", "a", "b") == (0, "2\n")
    assert cli("lrange", "queue", "0", "-1") == (0, "a\nb\n")
    assert cli("get", "missing") == (0, "\n")
    assert cli("hello", "x") == (0, "ERR unknown command 'hello', with args beginning with: 'x' \n")
    # from another pod, through the Service
    kubectl("run", "other", "-n", namespace, "--image=redis:7.4", "--", "sleep", "3600")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/other", "--timeout=60s")
    assert kubectl("exec", "-n", namespace, "other", "--", "redis-cli", "-h", "cache", "get", "visits").stdout == "42\n"
    refused = kubectl("exec", "-n", namespace, "other", "--", "redis-cli", "ping", check=False)  # its own 6379: sleep listens on nothing
    assert refused.stderr.startswith("Could not connect to Redis at 127.0.0.1:6379: Connection refused")
    # localhost inside a pod is the pod's own network namespace: nginx answers its own curl
    kubectl("run", "web", "-n", namespace, "--image=nginx:1.27")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/web", "--timeout=60s")
    assert "Welcome to nginx!" in kubectl("exec", "-n", namespace, "web", "--", "curl", "-s", "localhost").stdout


def test_environment_and_subpath_files_are_taken_at_the_containers_start(kubectl: Kubectl, namespace: str) -> None:
    """A ConfigMap edited after a container started: its mounted file follows, its env var and
    its subPath file do not until the container is replaced, as on a real kubelet."""
    kubectl("create", "namespace", namespace)
    kubectl("create", "configmap", "colors", "-n", namespace, "--from-literal=COLOR=blue")
    kubectl("apply", "-n", namespace, "-f", "-", stdin="""
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  volumes: [{name: colors, configMap: {name: colors}}]
  containers:
  - name: app
    image: busybox:1.36
    command: [sleep, "3600"]
    envFrom: [{configMapRef: {name: colors}}]
    volumeMounts:
    - {name: colors, mountPath: /etc/colors}
    - {name: colors, mountPath: /etc/color-file, subPath: COLOR}
""")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/app", "--timeout=60s")

    def seen() -> str:
        return kubectl("exec", "-n", namespace, "app", "--", "sh", "-c", 'echo "$COLOR $(cat /etc/colors/COLOR) $(cat /etc/color-file)"').stdout

    assert seen() == "blue blue blue\n"
    kubectl("patch", "configmap", "colors", "-n", namespace, "-p", '{"data":{"COLOR":"green"}}')
    assert seen() == "blue green blue\n"  # env and subPath kept from the start; the mounted file follows
    kubectl("delete", "pod", "app", "-n", namespace, "--wait=false")
