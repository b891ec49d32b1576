"""A container's files over kubectl exec (issue 13 item 4): ConfigMap and Secret volumes as
read-only files (items, subPath, edits showing), an emptyDir shared by a pod's containers, and a
writable layer every exec into the container sees."""

from __future__ import annotations

from tests.sandboxes import Kubectl

POD = """
apiVersion: v1
kind: Pod
metadata: {name: files, namespace: NAMESPACE}
spec:
  volumes:
  - {name: config, configMap: {name: site}}
  - {name: one-key, configMap: {name: site, items: [{key: greeting, path: hello/greeting.txt}]}}
  - {name: secret, secret: {secretName: creds}}
  - {name: shared, emptyDir: {}}
  containers:
  - name: writer
    image: busybox:1.36
    command: [sleep, "3600"]
    volumeMounts:
    - {name: config, mountPath: /etc/site}
    - {name: one-key, mountPath: /etc/one}
    - {name: config, mountPath: /etc/motd, subPath: greeting}
    - {name: secret, mountPath: /etc/creds, readOnly: true}
    - {name: shared, mountPath: /data}
  - name: reader
    image: busybox:1.36
    command: [sleep, "3600"]
    volumeMounts:
    - {name: shared, mountPath: /shared}
"""


def test_volumes_and_the_writable_layer_as_exec_sees_them(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "configmap", "site", "-n", namespace, "--from-literal=greeting=hello from a ConfigMap",
            "--from-literal=index.html=<h1>mine</h1>")
    kubectl("create", "secret", "generic", "creds", "-n", namespace, "--from-literal=password=s3cret")
    kubectl("apply", "-f", "-", stdin=POD.replace("NAMESPACE", namespace))
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/files", "--timeout=60s")

    def run(container: str, script: str) -> tuple[int, str, str]:
        done = kubectl("exec", "-n", namespace, "files", "-c", container, "--", "sh", "-c", script, check=False)
        return done.returncode, done.stdout, done.stderr

    assert run("writer", "cat /etc/site/greeting; echo; cat /etc/site/index.html") == (0, "hello from a ConfigMap\n<h1>mine</h1>", "")
    assert run("writer", "cat /etc/one/hello/greeting.txt; [ -f /etc/one/greeting ] || echo ' only the item'") == \
        (0, "hello from a ConfigMap only the item\n", "")
    assert run("writer", "cat /etc/motd") == (0, "hello from a ConfigMap", "")
    assert run("writer", "cat /etc/creds/password") == (0, "s3cret", "")
    code, _, said = run("writer", "echo x > /etc/site/new")
    assert code == 1 and said.startswith("sh: can't create /etc/site/new: Read-only file system\n")
    # an emptyDir: what one container writes, the other reads
    assert run("writer", "echo from the writer >> /data/log; echo again >> /data/log")[0] == 0
    assert run("reader", "cat /shared/log") == (0, "from the writer\nagain\n", "")
    # the container's own files last between execs, and are its alone
    assert run("writer", "echo kept > /tmp/note")[0] == 0
    assert run("writer", "cat /tmp/note") == (0, "kept\n", "")
    assert run("reader", "cat /tmp/note")[0] == 1
    # an edit to the ConfigMap shows in the files (read when a process looks)
    kubectl("patch", "configmap", "site", "-n", namespace, "--type=merge", "-p", '{"data":{"greeting":"edited"}}')
    assert run("writer", "cat /etc/site/greeting") == (0, "edited", "")


def test_a_web_server_serves_the_files_mounted_in_its_docroot(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "configmap", "page", "-n", namespace, "--from-literal=index.html=<h1>my own page</h1>",
            "--from-literal=about.html=about us")
    site = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: site, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: site}}}}
  template:
    metadata: {{labels: {{app: site}}}}
    spec:
      volumes: [{{name: html, configMap: {{name: page}}}}]
      containers:
      - name: nginx
        image: nginx:1.27
        volumeMounts: [{{name: html, mountPath: /usr/share/nginx/html}}]
"""
    kubectl("apply", "-f", "-", stdin=site)
    kubectl("create", "deployment", "plain", "--image=nginx:1.27", "-n", namespace)
    kubectl("expose", "deployment", "site", "--port=80", "-n", namespace)
    kubectl("expose", "deployment", "plain", "--port=80", "-n", namespace)
    kubectl("run", "client", "-n", namespace, "--image=busybox", "--", "sleep", "3600")
    for target in ("deployment/site", "deployment/plain"):
        kubectl("rollout", "status", target, "-n", namespace, "--timeout=60s")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/client", "--timeout=60s")

    def fetch(url: str) -> tuple[int, str]:
        done = kubectl("exec", "-n", namespace, "client", "--", "wget", "-qO-", url, check=False)
        return done.returncode, done.stdout

    assert fetch("http://site") == (0, "<h1>my own page</h1>")
    assert fetch("http://site/about.html") == (0, "about us")
    assert fetch("http://site/index.php")[0] == 1
    assert "Welcome to nginx!" in fetch("http://plain")[1]  # the image's own page where nothing is mounted
