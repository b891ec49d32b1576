"""Storage with real kubectl on the shared sandbox (issue 16, storage): StorageClasses,
PersistentVolumes and claims as the API server serves, validates and prints them; binding,
reclaiming and protection as the PV controller does them; kind's default class and its
local-path provisioner; data that outlives the pod until the volume goes; expansion.

Volumes and classes are cluster-wide, so each test names its own (``fresh_name``)."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from tests.sandboxes import Kubectl, eventually, fresh_name

WORKER = "labrunner-sandbox-worker"


def _get(kubectl: Kubectl, *what: str) -> Any:
    return json.loads(kubectl("get", *what, "-o", "json").stdout)


def _apply(kubectl: Kubectl, manifest: str, *flags: str, check: bool = True) -> Any:
    return kubectl("apply", *flags, "-f", "-", stdin=textwrap.dedent(manifest), check=check)


def _phase(kubectl: Kubectl, *what: str) -> str:
    found = kubectl("get", *what, "-o", "jsonpath={.status.phase}", check=False)
    return found.stdout if found.returncode == 0 else "<gone>"


def _events(kubectl: Kubectl, namespace: str, name: str) -> list[tuple[str, str, str]]:
    items = _get(kubectl, "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}")["items"]
    return [(e["reason"], e["message"], e["source"]["component"]) for e in sorted(items, key=lambda e: e["metadata"]["name"])]


def _pv(name: str, cls: str, size: str = "1Gi", policy: str = "Retain", path: str | None = None, modes: str = "[ReadWriteOnce]",
        node: str | None = None) -> str:
    affinity = ("\n      nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: "
                f"[{{key: kubernetes.io/hostname, operator: In, values: [{node}]}}]}}]}}}}") if node else ""
    return f"""
    apiVersion: v1
    kind: PersistentVolume
    metadata: {{name: {name}}}
    spec:
      capacity: {{storage: {size}}}
      accessModes: {modes}
      storageClassName: "{cls}"
      persistentVolumeReclaimPolicy: {policy}
      hostPath: {{path: {path or '/mnt/' + name}}}{affinity}
    """


def _pvc(name: str, namespace: str, size: str = "1Gi", cls: str | None = None, extra: str = "") -> str:
    class_line = f'\n      storageClassName: "{cls}"' if cls is not None else ""
    return f"""
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {{name: {name}, namespace: {namespace}}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: {size}}}}}{class_line}{extra}
    """


def _pod(name: str, namespace: str, claim: str, command: str = "sleep 3600", node: str | None = None) -> str:
    pinned = f"\n      nodeName: {node}" if node else ""
    return f"""
    apiVersion: v1
    kind: Pod
    metadata: {{name: {name}, namespace: {namespace}}}
    spec:
      terminationGracePeriodSeconds: 0{pinned}
      containers:
      - name: box
        image: busybox:1.36
        command: [sh, -c, "{command}"]
        volumeMounts: [{{name: data, mountPath: /data}}]
      volumes:
      - name: data
        persistentVolumeClaim: {{claimName: {claim}}}
    """


def test_the_default_class_is_kinds_standard_and_the_columns_are_the_api_servers(kubectl: Kubectl, namespace: str) -> None:
    lines = kubectl("get", "sc").stdout.splitlines()
    assert lines[0].split() == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"]
    standard = next(line for line in lines if line.startswith("standard"))
    assert standard.split()[:6] == ["standard", "(default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", "false"]
    assert kubectl("get", "deploy", "-n", "local-path-storage", "local-path-provisioner", "-o", "name").stdout == \
        "deployment.apps/local-path-provisioner\n"
    kubectl("create", "namespace", namespace)
    pv = fresh_name("pv")
    _apply(kubectl, _pv(pv, cls="", size="1536Mi", modes="[ReadWriteOnce, ReadOnlyMany]"))
    try:
        _apply(kubectl, _pvc("claim", namespace, size="1Gi", cls=""))
        eventually(lambda: _phase(kubectl, "pvc", "claim", "-n", namespace) == "Bound", "the claim bound")
        printed = kubectl("get", "pv", pv).stdout.split()  # one listing: its AGE is read once, not across two
        assert printed[:-1] == [
            "NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE",
            pv, "1536Mi", "RWO,ROX", "Retain", "Bound", f"{namespace}/claim", "<unset>"] and printed[-1].endswith("s")
        wide = kubectl("get", "pvc", "claim", "-n", namespace, "-o", "wide").stdout.split()
        assert wide[:9] == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"]
        assert wide[10:14] == ["claim", "Bound", pv, "1536Mi"] and wide[14] == "RWO,ROX" and wide[-1] == "Filesystem"
        stored = _get(kubectl, "pv", pv)
        assert stored["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
        assert stored["spec"]["claimRef"]["name"] == "claim" and stored["spec"]["hostPath"] == {"path": f"/mnt/{pv}", "type": ""}
        claim = _get(kubectl, "pvc", "claim", "-n", namespace)
        assert claim["metadata"]["annotations"] == {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
                                                    "kubectl.kubernetes.io/last-applied-configuration": claim["metadata"]["annotations"][
                                                        "kubectl.kubernetes.io/last-applied-configuration"]}
        assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
        assert claim["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce", "ReadOnlyMany"], "capacity": {"storage": "1536Mi"}}
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")
        kubectl("delete", "pv", pv, "--wait=false", check=False)


def test_the_api_server_refuses_the_common_mistakes_in_its_words(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    refused = _apply(kubectl, "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: nothing-said}\nspec: {hostPath: {path: /x}}\n", check=False)
    assert refused.returncode == 1
    assert refused.stderr == ('The PersistentVolume "nothing-said" is invalid: \n* spec.accessModes: Required value\n'
                              "* spec.capacity: Required value\n"
                              '* spec.capacity: Unsupported value: core.ResourceList(nil): supported values: "storage"\n')
    refused = _apply(kubectl, f"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: c, namespace: {namespace}}}\n"
                              "spec: {accessModes: [ReadWriteSometimes]}\n", check=False)
    assert refused.stderr == ('The PersistentVolumeClaim "c" is invalid: \n'
                              '* spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", '
                              '"ReadWriteOnce", "ReadWriteOncePod"\n* spec.resources[storage]: Required value\n')
    _apply(kubectl, _pvc("c", namespace, cls="standard"))
    refused = kubectl("patch", "pvc", "c", "-n", namespace, "-p", '{"spec":{"accessModes":["ReadWriteMany"]}}', check=False)
    assert refused.stderr.startswith('The PersistentVolumeClaim "c" is invalid: spec: Forbidden: spec is immutable after creation except '
                                     "resources.requests and volumeAttributesClassName for bound claims\n  core.PersistentVolumeClaimSpec{\n")
    assert '- \tAccessModes: ["ReadWriteOnce"],\n+ \tAccessModes: ["ReadWriteMany"],' in refused.stderr
    grown = kubectl("patch", "pvc", "c", "-n", namespace, "-p", '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}', check=False)
    assert "spec: Forbidden: spec is immutable after creation" in grown.stderr  # a Pending claim's request is spec like the rest
    cls = fresh_name("sc")
    _apply(kubectl, f"apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {{name: {cls}}}\nprovisioner: example.com/fast\n")
    try:
        stored = _get(kubectl, "sc", cls)
        assert (stored["reclaimPolicy"], stored["volumeBindingMode"]) == ("Delete", "Immediate")
        refused = kubectl("patch", "sc", cls, "-p", '{"provisioner":"example.com/slow","volumeBindingMode":"WaitForFirstConsumer"}', check=False)
        assert refused.stderr == (f'The StorageClass "{cls}" is invalid: \n* provisioner: Forbidden: updates to provisioner are forbidden.\n'
                                  '* volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable\n')
        kubectl("patch", "sc", cls, "-p", '{"allowVolumeExpansion":true}')
    finally:
        kubectl("delete", "sc", cls)


def test_a_claim_of_the_default_class_waits_for_its_pod_then_holds_data_until_the_volume_goes(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, _pvc("data", namespace))
    claim = _get(kubectl, "pvc", "data", "-n", namespace)
    assert claim["spec"]["storageClassName"] == "standard"  # the DefaultStorageClass admission plugin
    eventually(lambda: ("WaitForFirstConsumer", "waiting for first consumer to be created before binding", "persistentvolume-controller")
               in _events(kubectl, namespace, "data"), "the claim waits for its first consumer")
    assert _phase(kubectl, "pvc", "data", "-n", namespace) == "Pending"
    _apply(kubectl, _pod("writer", namespace, "data", "echo kept > /data/row; sleep 3600"))
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/writer", "--timeout=60s")
    claim = _get(kubectl, "pvc", "data", "-n", namespace)
    volume = claim["spec"]["volumeName"]
    assert volume == f"pvc-{claim['metadata']['uid']}" and claim["status"]["phase"] == "Bound"
    node = _get(kubectl, "pod", "writer", "-n", namespace)["spec"]["nodeName"]
    assert claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
    assert claim["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] == "rancher.io/local-path"
    pv = _get(kubectl, "pv", volume)
    assert pv["metadata"]["annotations"] == {"pv.kubernetes.io/provisioned-by": "rancher.io/local-path"}
    assert pv["spec"]["hostPath"] == {"path": f"/var/local-path-provisioner/{volume}_{namespace}_data", "type": "DirectoryOrCreate"}
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == [node]
    said = _events(kubectl, namespace, "data")
    reasons = [reason for reason, _, _ in said]
    assert reasons.index("ExternalProvisioning") < reasons.index("Provisioning") < reasons.index("ProvisioningSucceeded")
    provisioning = next(event for event in said if event[0] == "ProvisioningSucceeded")
    assert provisioning[1] == f"Successfully provisioned volume {volume}"
    assert provisioning[2].startswith("rancher.io/local-path_local-path-provisioner-")
    described = kubectl("describe", "pvc", "data", "-n", namespace).stdout
    assert "Used By:       writer\n" in described and f"Volume:        {volume}\n" in described
    kubectl("delete", "pod", "writer", "-n", namespace, "--wait=true")
    _apply(kubectl, _pod("reader", namespace, "data"))
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/reader", "--timeout=60s")
    assert _get(kubectl, "pod", "reader", "-n", namespace)["spec"]["nodeName"] == node  # where its volume is (VolumeBinding)
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/reader", "--timeout=60s")
    assert kubectl("exec", "reader", "-n", namespace, "--", "cat", "/data/row").stdout == "kept\n"
    # in use: the claim waits, Terminating, until its pod goes (kubernetes.io/pvc-protection)
    kubectl("delete", "pvc", "data", "-n", namespace, "--wait=false")
    assert kubectl("get", "pvc", "data", "-n", namespace).stdout.split()[9:11] == ["data", "Terminating"]
    assert _phase(kubectl, "pv", volume) == "Bound"
    kubectl("delete", "pod", "reader", "-n", namespace, "--wait=false")
    eventually(lambda: _phase(kubectl, "pv", volume) == "<gone>", "the volume deleted with its claim (reclaim policy Delete)")
    _apply(kubectl, _pvc("data", namespace))
    _apply(kubectl, _pod("again", namespace, "data"))
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/again", "--timeout=60s")
    assert kubectl("exec", "again", "-n", namespace, "--", "ls", "/data").stdout == ""  # a new volume, empty


def test_a_static_volume_retained_is_released_then_rescued_by_clearing_its_claim_ref(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    cls, small, big = fresh_name("manual"), fresh_name("pv"), fresh_name("pv")
    # a hostPath volume is a folder of one node: its node affinity says which, and pods go there
    _apply(kubectl, _pv(small, cls, "1Gi", node=WORKER) + "---" + _pv(big, cls, "5Gi", node=WORKER))
    try:
        _apply(kubectl, _pvc("first", namespace, "500Mi", cls=cls))
        eventually(lambda: _phase(kubectl, "pvc", "first", "-n", namespace) == "Bound", "the claim bound")
        assert _get(kubectl, "pvc", "first", "-n", namespace)["spec"]["volumeName"] == small  # the smallest that fits
        assert _phase(kubectl, "pv", big) == "Available"
        _apply(kubectl, _pod("writer", namespace, "first", "echo precious > /data/file; sleep 3600"))
        kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/writer", "--timeout=60s")
        kubectl("delete", "pod", "writer", "-n", namespace, "--wait=true")
        kubectl("delete", "pvc", "first", "-n", namespace)
        eventually(lambda: _phase(kubectl, "pv", small) == "Released", "the volume Released")
        assert kubectl("get", "pv", small).stdout.split()[16:18] == ["Released", f"{namespace}/first"]
        _apply(kubectl, _pvc("second", namespace, "500Mi", cls=cls, extra=f"\n      volumeName: {small}"))
        eventually(lambda: _phase(kubectl, "pvc", "second", "-n", namespace) == "Pending", "the new claim Pending")
        assert _phase(kubectl, "pv", small) == "Released"  # still the deleted claim's
        kubectl("patch", "pv", small, "--type", "json", "-p", '[{"op": "remove", "path": "/spec/claimRef"}]')
        eventually(lambda: _phase(kubectl, "pvc", "second", "-n", namespace) == "Bound", "the rescued volume bound again")
        _apply(kubectl, _pod("reader", namespace, "second"))
        kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/reader", "--timeout=60s")
        assert kubectl("exec", "reader", "-n", namespace, "--", "cat", "/data/file").stdout == "precious\n"
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")
        kubectl("delete", "pv", small, big, "--wait=false", check=False)


def test_delete_on_a_hostpath_volume_fails_as_the_hostpath_deleter_does(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    cls, pv = fresh_name("manual"), fresh_name("pv")
    _apply(kubectl, _pv(pv, cls, policy="Delete", path="/mnt/web-data"))
    try:
        _apply(kubectl, _pvc("web", namespace, cls=cls))
        eventually(lambda: _phase(kubectl, "pvc", "web", "-n", namespace) == "Bound", "the claim bound")
        kubectl("delete", "pvc", "web", "-n", namespace)
        eventually(lambda: _phase(kubectl, "pv", pv) == "Failed", "the volume Failed")
        described = kubectl("describe", "pv", pv).stdout
        why = "host_path deleter only supports /tmp/.+ but received provided /mnt/web-data"
        assert f"Message:         {why}\n" in described
        assert f"Warning  VolumeFailedDelete" in described and described.rstrip().endswith(f"persistentvolume-controller  {why}")
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")
        kubectl("delete", "pv", pv, "--wait=false", check=False)


def test_a_claim_that_cannot_bind_says_why(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    pv = fresh_name("pv")
    _apply(kubectl, _pv(pv, cls="", size="1Gi"))
    try:
        _apply(kubectl, _pvc("no-class", namespace, "5Gi", cls=""))
        _apply(kubectl, _pvc("typo", namespace, cls="standrad"))
        _apply(kubectl, _pvc("too-big", namespace, "5Gi", cls="", extra=f"\n      volumeName: {pv}"))
        eventually(lambda: ("FailedBinding", "no persistent volumes available for this claim and no storage class is set",
                            "persistentvolume-controller") in _events(kubectl, namespace, "no-class"), "FailedBinding")
        eventually(lambda: ("ProvisioningFailed", 'storageclass.storage.k8s.io "standrad" not found', "persistentvolume-controller")
                   in _events(kubectl, namespace, "typo"), "ProvisioningFailed")
        eventually(lambda: ("VolumeMismatch", f'Cannot bind to requested volume "{pv}": requested PV is too small', "persistentvolume-controller")
                   in _events(kubectl, namespace, "too-big"), "VolumeMismatch")
        assert {_phase(kubectl, "pvc", name, "-n", namespace) for name in ("no-class", "typo", "too-big")} == {"Pending"}
        assert _phase(kubectl, "pv", pv) == "Available"
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")
        kubectl("delete", "pv", pv, "--wait=false", check=False)


def test_a_claim_grows_only_where_its_class_allows_expansion(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    cls = fresh_name("expandable")
    _apply(kubectl, f"""
    apiVersion: storage.k8s.io/v1
    kind: StorageClass
    metadata: {{name: {cls}}}
    provisioner: rancher.io/local-path
    volumeBindingMode: WaitForFirstConsumer
    allowVolumeExpansion: true
    """)
    try:
        _apply(kubectl, _pvc("fixed", namespace) + "---" + _pvc("growing", namespace, cls=cls))
        _apply(kubectl, _pod("a", namespace, "fixed") + "---" + _pod("b", namespace, "growing"))
        for name in ("fixed", "growing"):
            eventually(lambda name=name: _phase(kubectl, "pvc", name, "-n", namespace) == "Bound", f"{name} bound")
        refused = kubectl("patch", "pvc", "fixed", "-n", namespace, "-p", '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}', check=False)
        assert refused.stderr == ('Error from server (Forbidden): persistentvolumeclaims "fixed" is forbidden: only dynamically provisioned pvc '
                                  "can be resized and the storageclass that provisions the pvc must support resize\n")
        kubectl("patch", "pvc", "growing", "-n", namespace, "-p", '{"spec":{"resources":{"requests":{"storage":"3Gi"}}}}')
        eventually(lambda: _get(kubectl, "pvc", "growing", "-n", namespace)["status"]["capacity"] == {"storage": "3Gi"}, "the claim grown")
        volume = _get(kubectl, "pvc", "growing", "-n", namespace)["spec"]["volumeName"]
        assert _get(kubectl, "pv", volume)["spec"]["capacity"] == {"storage": "3Gi"}
        reasons = [reason for reason, _, _ in _events(kubectl, namespace, "growing")]
        assert reasons[-2:] == ["Resizing", "VolumeResizeSuccessful"]
        shrink = kubectl("patch", "pvc", "growing", "-n", namespace, "-p", '{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}', check=False)
        assert "spec.resources.requests.storage: Forbidden: field can not be less than previous value" in shrink.stderr
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")
        kubectl("delete", "sc", cls, check=False)


def test_with_two_default_classes_the_newest_is_given(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    cls = fresh_name("newer")
    _apply(kubectl, f"""
    apiVersion: storage.k8s.io/v1
    kind: StorageClass
    metadata:
      name: {cls}
      annotations: {{storageclass.kubernetes.io/is-default-class: "true"}}
    provisioner: rancher.io/local-path
    volumeBindingMode: WaitForFirstConsumer
    """)
    try:
        assert f"{cls} (default)" in kubectl("get", "sc").stdout and "standard (default)" in kubectl("get", "sc").stdout
        _apply(kubectl, _pvc("which", namespace))
        assert _get(kubectl, "pvc", "which", "-n", namespace)["spec"]["storageClassName"] == cls
    finally:
        kubectl("delete", "sc", cls)
    _apply(kubectl, _pvc("after", namespace))
    assert _get(kubectl, "pvc", "after", "-n", namespace)["spec"]["storageClassName"] == "standard"


def test_a_sandbox_made_before_storage_gets_kinds_default_class_once(tmp_path: Any) -> None:
    from labrunner.sandbox.storage.kinds import STORAGE_CLASSES
    from labrunner.sandbox.storage.localpath import MARKER, ensure_local_path
    from labrunner.sandbox.store import Store

    store = Store(tmp_path / "cluster.db")  # an older sandbox: no storage objects, no marker
    ensure_local_path(store)
    assert [c["metadata"]["name"] for c in store.list(STORAGE_CLASSES)] == ["standard"]
    assert (tmp_path / MARKER).exists()
    store.delete_raw("storage.k8s.io", "storageclasses", "", "standard")  # the learner's choice, kept at the next start
    ensure_local_path(store)
    assert store.list(STORAGE_CLASSES) == []


def test_the_local_path_provisioner_refuses_what_it_cannot_make(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    _apply(kubectl, _pvc("shared", namespace).replace("[ReadWriteOnce]", "[ReadWriteMany]") + "---" + _pod("user", namespace, "shared"))
    why = ('failed to provision volume with StorageClass "standard": NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) '
           "access modes")
    eventually(lambda: any(reason == "ProvisioningFailed" and message == why and source.startswith("rancher.io/local-path_")
                           for reason, message, source in _events(kubectl, namespace, "shared")), "ProvisioningFailed")
    assert _phase(kubectl, "pvc", "shared", "-n", namespace) == "Pending"
    assert all(v["spec"].get("claimRef", {}).get("namespace") != namespace for v in _get(kubectl, "pv")["items"])


def _failed_scheduling(kubectl: Kubectl, namespace: str, pod: str) -> list[str]:
    return [message for reason, message, _ in _events(kubectl, namespace, pod) if reason == "FailedScheduling"]


NOT_HELPFUL = "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."


def test_the_scheduler_places_a_pod_only_where_its_volumes_can_be(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    cls, pv = fresh_name("immediate"), fresh_name("pv")
    _apply(kubectl, f"apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {{name: {cls}}}\nprovisioner: example.com/none\n")
    _apply(kubectl, _pv(pv, cls="", node="labrunner-sandbox-control-plane"))
    try:
        _apply(kubectl, _pod("orphan", namespace, "nope"))
        eventually(lambda: _failed_scheduling(kubectl, namespace, "orphan") == [
            f'0/3 nodes are available: persistentvolumeclaim "nope" not found. {NOT_HELPFUL}'], "the missing claim said")
        _apply(kubectl, _pvc("waits", namespace, cls=cls) + "---" + _pod("early", namespace, "waits"))
        eventually(lambda: _failed_scheduling(kubectl, namespace, "early") == [
            f"0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. {NOT_HELPFUL}"], "the unbound claim said")
        _apply(kubectl, _pvc("pinned", namespace, cls="", extra=f"\n      volumeName: {pv}") + "---" + _pod("stuck", namespace, "pinned"))
        eventually(lambda: _phase(kubectl, "pvc", "pinned", "-n", namespace) == "Bound", "the claim bound to the control plane's volume")
        eventually(lambda: _failed_scheduling(kubectl, namespace, "stuck") == [
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
            f"2 node(s) had volume node affinity conflict. {NOT_HELPFUL}"], "the volume's node said")
        assert {_phase(kubectl, "pod", name, "-n", namespace) for name in ("orphan", "early", "stuck")} == {"Pending"}
        _apply(kubectl, _pvc("nope", namespace))  # the claim it waited for: it is scheduled, with its volume
        kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/orphan", "--timeout=60s")
        node = _get(kubectl, "pod", "orphan", "-n", namespace)["spec"]["nodeName"]
        assert _get(kubectl, "pvc", "nope", "-n", namespace)["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")
        kubectl("delete", "pv", pv, "--wait=false", check=False)
        kubectl("delete", "sc", cls, check=False)


def test_a_pod_given_a_node_past_the_scheduler_cannot_mount_a_volume_of_another_node(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    pv = fresh_name("pv")
    _apply(kubectl, _pv(pv, cls="", node="labrunner-sandbox-worker2"))
    try:
        _apply(kubectl, _pvc("data", namespace, cls="", extra=f"\n      volumeName: {pv}") + "---" + _pod("forced", namespace, "data", node=WORKER))
        eventually(lambda: (f'MountVolume.NodeAffinity check failed for volume "{pv}" : no matching NodeSelectorTerms')
                   in [message for reason, message, _ in _events(kubectl, namespace, "forced") if reason == "FailedMount"], "FailedMount")
        assert kubectl("get", "pod", "forced", "-n", namespace).stdout.split()[7] == "ContainerCreating"
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")
        kubectl("delete", "pv", pv, "--wait=false", check=False)
