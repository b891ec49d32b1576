"""A container's files over kubectl exec (issue 13 item 4): ConfigMap and Secret volumes as
read-only files (items, subPath, edits showing), an emptyDir shared by a pod's containers, a
writable layer every exec into the container sees; downward API and projected volumes, a
hostPath shared by the pods of one node, a claim's folder outliving its pod, and the kubelet's
FailedMount when a volume cannot be set up."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from labrunner.sandbox.filesystem import ContainerFiles
from tests.sandboxes import Kubectl, eventually

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


def _exec(kubectl: Kubectl, namespace: str, pod: str, script: str, container: str = "") -> tuple[int, str, str]:
    choice = ["-c", container] if container else []
    done = kubectl("exec", "-n", namespace, pod, *choice, "--", "sh", "-c", script, check=False)
    return done.returncode, done.stdout, done.stderr


def _events(kubectl: Kubectl, namespace: str, reason: str) -> list[str]:
    listed = kubectl("get", "events", "-n", namespace, "--field-selector", f"reason={reason}", "-o", "json").stdout
    return [item["message"] for item in json.loads(listed)["items"]]


DOWNWARD = """
apiVersion: v1
kind: Pod
metadata:
  name: podinfo
  namespace: NAMESPACE
  labels: {app: web, tier: front end}
  annotations: {build: "two", note: 'say "hi"'}
spec:
  containers:
  - name: client
    image: busybox:1.36
    command: [sleep, "3600"]
    resources:
      limits: {cpu: 500m, memory: 64Mi}
    volumeMounts: [{name: podinfo, mountPath: /etc/podinfo}]
  - name: sidecar
    image: busybox:1.36
    command: [sleep, "3600"]
  volumes:
  - name: podinfo
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}
      - {path: name, fieldRef: {fieldPath: metadata.name}}
      - {path: cpu_limit, resourceFieldRef: {containerName: client, resource: limits.cpu, divisor: 1m}}
      - {path: mem_limit, resourceFieldRef: {containerName: client, resource: limits.memory, divisor: 1Mi}}
      - {path: sidecar_mem_limit, resourceFieldRef: {containerName: sidecar, resource: limits.memory, divisor: 1Mi}}
"""


def test_a_downward_api_volume_shows_the_pods_labels_and_limits(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-f", "-", stdin=DOWNWARD.replace("NAMESPACE", namespace))
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/podinfo", "--timeout=60s")
    # the kubelet's format: key="value" lines sorted by key, values quoted as Go's %q, no newline at the end
    assert _exec(kubectl, namespace, "podinfo", container="client", script="cat /etc/podinfo/labels") == (0, 'app="web"\ntier="front end"', "")
    annotations = _exec(kubectl, namespace, "podinfo", container="client", script="cat /etc/podinfo/annotations")[1].split("\n")
    assert annotations == sorted(annotations) and {'build="two"', 'note="say \\"hi\\""'} <= set(annotations)
    assert _exec(kubectl, namespace, "podinfo", container="client", script="cat /etc/podinfo/name") == (0, "podinfo", "")
    assert _exec(kubectl, namespace, "podinfo", container="client", script="cat /etc/podinfo/cpu_limit") == (0, "500", "")
    assert _exec(kubectl, namespace, "podinfo", container="client", script="cat /etc/podinfo/mem_limit") == (0, "64", "")
    # a container with no limit gets the node's allocatable memory
    node = kubectl("get", "pod", "podinfo", "-n", namespace, "-o", "jsonpath={.spec.nodeName}").stdout
    allocatable = kubectl("get", "node", node, "-o", "jsonpath={.status.allocatable.memory}").stdout
    assert allocatable == "4Gi" and _exec(kubectl, namespace, "podinfo", container="client", script="cat /etc/podinfo/sidecar_mem_limit") == (0, "4096", "")
    # a label edit shows in the file
    kubectl("label", "pod", "podinfo", "-n", namespace, "tier=back", "--overwrite")
    assert _exec(kubectl, namespace, "podinfo", container="client", script="cat /etc/podinfo/labels") == (0, 'app="web"\ntier="back"', "")


HOST = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  nodeName: {node}
  containers:
  - name: box
    image: busybox:1.36
    command: [sleep, "3600"]
    volumeMounts: [{{name: node-data, mountPath: /shared}}]
  volumes:
  - name: node-data
    hostPath: {{path: {path}, type: {type}}}
"""
WORKER, CONTROL_PLANE = "labrunner-sandbox-worker", "labrunner-sandbox-control-plane"


def test_a_host_path_is_shared_by_the_pods_of_one_node_only(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    path = f"/srv/{namespace}"  # each test's own folder on the node
    for name, node in (("one", WORKER), ("two", WORKER), ("elsewhere", CONTROL_PLANE)):
        kubectl("apply", "-f", "-", stdin=HOST.format(name=name, namespace=namespace, node=node, path=path, type="DirectoryOrCreate"))
    for name in ("one", "two", "elsewhere"):
        kubectl("wait", "-n", namespace, "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
    assert _exec(kubectl, namespace, "one", "echo written by one > /shared/note")[0] == 0
    assert _exec(kubectl, namespace, "two", "cat /shared/note") == (0, "written by one\n", "")
    code, _, said = _exec(kubectl, namespace, "elsewhere", "cat /shared/note")
    assert code == 1 and "No such file or directory" in said


def test_a_host_path_that_fails_its_type_check_holds_the_pod_in_container_creating(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    path = f"/srv/{namespace}-later"
    kubectl("apply", "-f", "-", stdin=HOST.format(name="waits", namespace=namespace, node=WORKER, path=path, type="Directory"))
    expected = f'MountVolume.SetUp failed for volume "node-data" : hostPath type check failed: {path} is not a directory'
    eventually(lambda: expected in _events(kubectl, namespace, "FailedMount"), "a FailedMount event")
    pod = json.loads(kubectl("get", "pod", "waits", "-n", namespace, "-o", "json").stdout)
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"
    assert "podIP" not in pod["status"]
    assert expected in kubectl("describe", "pod", "waits", "-n", namespace).stdout
    # another pod on the node creates the folder; the kubelet's next try mounts it
    kubectl("apply", "-f", "-", stdin=HOST.format(name="creates", namespace=namespace, node=WORKER, path=path, type="DirectoryOrCreate"))
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/waits", "--timeout=60s")


CLAIMED = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: db-data, namespace: NAMESPACE}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: NAMESPACE}
spec:
  containers:
  - name: box
    image: busybox:1.36
    command: [sleep, "3600"]
    volumeMounts: [{name: data, mountPath: /var/lib/data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: db-data}
"""


def test_what_a_pod_writes_to_its_claim_outlives_the_pod(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    manifest = CLAIMED.replace("NAMESPACE", namespace)
    kubectl("apply", "-f", "-", stdin=manifest)
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/db", "--timeout=60s")
    assert _exec(kubectl, namespace, "db", "echo kept > /var/lib/data/row; echo lost > /tmp/row")[0] == 0
    kubectl("delete", "pod", "db", "-n", namespace, "--wait=true")
    kubectl("apply", "-f", "-", stdin=manifest)  # the claim is there still, bound to its volume
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/db", "--timeout=60s")
    assert _exec(kubectl, namespace, "db", "cat /var/lib/data/row") == (0, "kept\n", "")
    assert _exec(kubectl, namespace, "db", "cat /tmp/row")[0] == 1  # the container's own layer went with it


API_ACCESS = """
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: NAMESPACE}
spec:
  containers:
  - name: box
    image: busybox:1.36
    command: [sleep, "3600"]
    volumeMounts: [{name: api-access, mountPath: /var/run/secrets/kubernetes.io/serviceaccount, readOnly: true}]
  volumes:
  - name: api-access
    projected:
      sources:
      - serviceAccountToken: {expirationSeconds: 3607, path: token}
      - configMap: {name: kube-root-ca.crt, items: [{key: ca.crt, path: ca.crt}]}
      - downwardAPI: {items: [{path: namespace, fieldRef: {apiVersion: v1, fieldPath: metadata.namespace}}]}
"""


def test_a_projected_volume_of_the_kube_api_access_shape(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("apply", "-f", "-", stdin=API_ACCESS.replace("NAMESPACE", namespace))
    # the root CA publisher gives every namespace kube-root-ca.crt: the volume has the cluster's CA
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/client", "--timeout=60s")
    folder = "/var/run/secrets/kubernetes.io/serviceaccount"
    assert _exec(kubectl, namespace, "client", f"cat {folder}/namespace") == (0, namespace, "")
    published = json.loads(kubectl("get", "configmap", "kube-root-ca.crt", "-n", namespace, "-o", "json").stdout)["data"]["ca.crt"]
    assert _exec(kubectl, namespace, "client", f"cat {folder}/ca.crt") == (0, published, "")
    assert published.startswith("-----BEGIN CERTIFICATE-----")
    code, token, _ = _exec(kubectl, namespace, "client", f"cat {folder}/token")
    assert code == 0 and token.count(".") == 2
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    pod = json.loads(kubectl("get", "pod", "client", "-n", namespace, "-o", "json").stdout)
    account = json.loads(kubectl("get", "serviceaccount", "default", "-n", namespace, "-o", "json").stdout)
    assert claims["iss"] == "https://kubernetes.default.svc.cluster.local"
    assert claims["aud"] == ["https://kubernetes.default.svc.cluster.local"]
    assert claims["sub"] == f"system:serviceaccount:{namespace}:default"
    assert claims["kubernetes.io"]["pod"] == {"name": "client", "uid": pod["metadata"]["uid"]}
    assert claims["kubernetes.io"]["serviceaccount"] == {"name": "default", "uid": account["metadata"]["uid"]}
    assert claims["kubernetes.io"]["namespace"] == namespace
    assert claims["exp"] > claims["iat"] == claims["nbf"]
    code, _, said = _exec(kubectl, namespace, "client", f"echo x > {folder}/token")
    assert code == 1 and "Read-only file system" in said


def test_a_missing_config_map_volume_waits_for_the_config_map(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("run", "web", "-n", namespace, "--image=busybox", "--overrides", json.dumps({"spec": {
        "volumes": [{"name": "config", "configMap": {"name": "settings"}}],
        "containers": [{"name": "web", "image": "busybox", "command": ["sleep", "3600"],
                        "volumeMounts": [{"name": "config", "mountPath": "/etc/settings"}]}]}}))
    expected = 'MountVolume.SetUp failed for volume "config" : configmap "settings" not found'
    eventually(lambda: expected in _events(kubectl, namespace, "FailedMount"), "a FailedMount event")
    assert "ContainerCreating" in kubectl("get", "pod", "web", "-n", namespace).stdout
    kubectl("create", "configmap", "settings", "-n", namespace, "--from-literal=mode=fast")
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/web", "--timeout=60s")
    assert _exec(kubectl, namespace, "web", "cat /etc/settings/mode") == (0, "fast", "")


def test_the_kubelets_formats_and_host_path_types(tmp_path: Path) -> None:
    from labrunner.sandbox.volumes import container_mounts, go_quote, resource_value, volume_problems

    assert go_quote('tab\there "q" \\ é \x01 \u00a0') == '"tab\\there \\"q\\" \\\\ é \\x01 \\u00a0"'
    pod: dict[str, Any] = {"metadata": {"name": "p", "namespace": "ns", "uid": "u"},
           "spec": {"nodeName": "n", "containers": [{"name": "c", "resources": {"limits": {"cpu": "250m"}, "requests": {"memory": "100M"}}}]}}
    no_node = None
    assert resource_value(pod, {"containerName": "c", "resource": "limits.cpu"}, no_node) == "1"  # rounded up to whole cpus
    assert resource_value(pod, {"containerName": "c", "resource": "requests.cpu", "divisor": "1m"}, no_node) == "250"  # defaulted to the limit
    assert resource_value(pod, {"containerName": "c", "resource": "requests.memory", "divisor": "1Mi"}, no_node) == "96"
    assert resource_value(pod, {"containerName": "c", "resource": "limits.memory"}, no_node) is None  # the node's, unreadable here

    def host(path: str, kind: str) -> dict:
        return {**pod, "spec": {**pod["spec"], "volumes": [{"name": "h", "hostPath": {"path": path, "type": kind}}],
                                "containers": [{"name": "c", "volumeMounts": [{"name": "h", "mountPath": "/mnt/h"}]}]}}

    def no_objects(kind: str, name: str) -> None:
        return None

    assert volume_problems(host("/var/log", "Directory"), tmp_path, no_objects) == {}  # every node has it
    assert volume_problems(host("/var/log", "File"), tmp_path, no_objects) == {"h": "hostPath type check failed: /var/log is not a file"}
    assert volume_problems(host("/run/containerd/containerd.sock", "Socket"), tmp_path, no_objects) == \
        {"h": "hostPath type check failed: /run/containerd/containerd.sock is not a socket file"}
    assert volume_problems(host("/no/such/app.conf", "FileOrCreate"), tmp_path, no_objects) == {"h": "open /no/such/app.conf: no such file or directory"}
    assert volume_problems(host("/etc/app.conf", "FileOrCreate"), tmp_path, no_objects) == {}
    mounted = host("/etc/app.conf", "FileOrCreate")
    files = ContainerFiles({}, None, container_mounts(mounted, mounted["spec"]["containers"][0], tmp_path / "ns" / "p", no_objects))
    files["/mnt/h"] = b"setting=1\n"
    assert (tmp_path / ".nodes" / "n" / "etc" / "app.conf").read_bytes() == b"setting=1\n" and not files.is_dir("/mnt/h")
