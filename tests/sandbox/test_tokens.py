"""Service account tokens (labrunner.sandbox.tokens): issued and verified as kube-apiserver does.

First the authenticator on a store of its own: a token is someone only while it is in date, meant
for the API server, untampered, and every object it names still exists with its uid. Then the
legacy token controller filling Secrets in. Last, real kubectl on the shared sandbox: ``kubectl
create token`` and its refusals, a pod's projected token and a legacy Secret's token, each checked
by calling :func:`token_authentication.authenticate` on the sandbox's own store.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labrunner.sandbox import token_authentication, tokens
from labrunner.sandbox.authorization import User
from labrunner.sandbox.controllers import serviceaccounts
from labrunner.sandbox.controllers.shared import Cluster
from labrunner.sandbox.files import SandboxFiles
from labrunner.sandbox.store import Store, now
from tests.sandboxes import Kubectl, eventually

API = "https://kubernetes.default.svc.cluster.local"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A store in a sandbox folder of its own (the key is made there on first use)."""
    opened = Store(tmp_path / "objects.db")
    yield opened
    opened.close()


def _account(store: Store, name: str = "robot", namespace: str = "default") -> dict[str, Any]:
    return store.create(tokens.SERVICE_ACCOUNTS, {"metadata": {"name": name, "namespace": namespace}})


def _pod(store: Store, name: str = "web", account: str = "robot") -> dict[str, Any]:
    return store.create(tokens.PODS, {"metadata": {"name": name, "namespace": "default"},
                                      "spec": {"serviceAccountName": account, "nodeName": "worker"}})


def _token(store: Store, account: dict[str, Any], *, issued: int | None = None, expires_in: int = 3600,
           audiences: list[str] | None = None, **bound: Any) -> str:
    claims = tokens.bound_claims(account, audiences=audiences or [API], issued=int(time.time()) if issued is None else issued,
                                 expires_in=expires_in, jti=str(uuid.uuid4()), **bound)
    return tokens.sign(store.path.parent, claims)


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# -- the authenticator -------------------------------------------------------------------------


def test_a_pod_bound_token_is_its_service_account_with_the_pod_and_node_named(store: Store) -> None:
    account = _account(store)
    pod = _pod(store)
    node = store.create(tokens.NODES, {"metadata": {"name": "worker"}})
    token = _token(store, account, pod=pod, node=node)
    user = token_authentication.authenticate(token, store)
    jti = _claims(token)["jti"]
    assert user == User("system:serviceaccount:default:robot",
                        ("system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"),
                        account["metadata"]["uid"],
                        (("authentication.kubernetes.io/credential-id", (f"JTI={jti}",)),
                         ("authentication.kubernetes.io/node-name", ("worker",)),
                         ("authentication.kubernetes.io/node-uid", (node["metadata"]["uid"],)),
                         ("authentication.kubernetes.io/pod-name", ("web",)),
                         ("authentication.kubernetes.io/pod-uid", (pod["metadata"]["uid"],))))
    assert token_authentication.authenticate(token, store) == user  # the remembered answer


def test_the_token_is_a_jws_as_kube_apiserver_signs_it(store: Store) -> None:
    token = _token(store, _account(store))
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    from cryptography.hazmat.primitives import serialization

    key_file = SandboxFiles(store.path.parent).service_account_key
    assert key_file.stat().st_mode & 0o777 == 0o600
    public = serialization.load_pem_private_key(key_file.read_bytes(), password=None).public_key()
    assert header == {"alg": "RS256", "kid": tokens.key_id(public)}
    assert list(_claims(token)) == ["aud", "exp", "iat", "iss", "jti", "kubernetes.io", "nbf", "sub"]
    tokens._signers.clear()  # a new process reads the kept key: the token still verifies
    assert token_authentication.authenticate(token, store) is not None


def test_an_expired_token_is_no_one_after_the_leeway(store: Store) -> None:
    account = _account(store)
    long_ago = int(time.time()) - 7200
    assert token_authentication.authenticate(_token(store, account, issued=long_ago, expires_in=3600), store) is None
    just_expired = int(time.time()) - 630  # expired 30 s ago: within go-jose's 60 s leeway
    assert token_authentication.authenticate(_token(store, account, issued=just_expired, expires_in=600), store) is not None
    not_yet = int(time.time()) + 600
    assert token_authentication.authenticate(_token(store, account, issued=not_yet), store) is None


def test_a_token_for_another_audience_is_no_one_to_the_api_server(store: Store) -> None:
    account = _account(store)
    assert token_authentication.authenticate(_token(store, account, audiences=["vault"]), store) is None
    assert token_authentication.authenticate(_token(store, account, audiences=["vault", API]), store) is not None


def test_a_tampered_token_or_one_signed_by_another_key_is_no_one(store: Store, tmp_path: Path) -> None:
    account = _account(store)
    token = _token(store, account)
    header, payload, signature = token.split(".")
    claims = _claims(token)
    claims["sub"] = "system:serviceaccount:kube-system:admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert token_authentication.authenticate(f"{header}.{forged}.{signature}", store) is None
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    foreign = tokens.sign(elsewhere, _claims(token))  # the same claims, another sandbox's key
    assert token_authentication.authenticate(foreign, store) is None
    assert token_authentication.authenticate("not-a-jwt", store) is None


def test_a_token_dies_with_its_service_account_and_stays_dead_when_it_is_recreated(store: Store) -> None:
    account = _account(store)
    token = _token(store, account)
    assert token_authentication.authenticate(token, store) is not None
    store.delete(tokens.SERVICE_ACCOUNTS, "default", "robot")
    assert token_authentication.authenticate(token, store) is None
    _account(store)  # same name, new uid
    assert token_authentication.authenticate(token, store) is None


def test_a_pod_bound_token_dies_with_its_pod(store: Store) -> None:
    account = _account(store)
    token = _token(store, account, pod=_pod(store))
    assert token_authentication.authenticate(token, store) is not None
    store.delete(tokens.PODS, "default", "web")
    assert token_authentication.authenticate(token, store) is None
    _pod(store)  # a new pod of the same name is another pod
    assert token_authentication.authenticate(token, store) is None


def test_a_deleting_pod_still_counts_for_the_leeway(store: Store) -> None:
    account = _account(store)
    pod = _pod(store)
    token = _token(store, account, pod=pod)
    pod["metadata"]["deletionTimestamp"] = now()
    pod = store.update(tokens.PODS, pod)
    assert token_authentication.authenticate(token, store) is not None
    pod["metadata"]["deletionTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 120))
    store.update(tokens.PODS, pod)
    assert token_authentication.authenticate(token, store) is None


def test_secret_and_node_bound_tokens_die_with_their_object(store: Store) -> None:
    account = _account(store)
    secret = store.create(tokens.SECRETS, {"metadata": {"name": "key", "namespace": "default"}})
    node = store.create(tokens.NODES, {"metadata": {"name": "worker"}})
    by_secret, by_node = _token(store, account, secret=secret), _token(store, account, node=node)
    assert token_authentication.authenticate(by_secret, store) is not None
    user = token_authentication.authenticate(by_node, store)
    assert user is not None and dict(user.extra)["authentication.kubernetes.io/node-name"] == ("worker",)
    store.delete(tokens.SECRETS, "default", "key")
    store.delete(tokens.NODES, "", "worker")
    assert token_authentication.authenticate(by_secret, store) is None
    assert token_authentication.authenticate(by_node, store) is None


def test_the_kubelets_3607_second_token_lasts_a_year_only_for_the_api_server() -> None:
    assert tokens.lifetime(3607, [API], pod_bound=True) == (365 * 24 * 3600, 3607)
    assert tokens.lifetime(3607, ["vault"], pod_bound=True) == (3607, None)
    assert tokens.lifetime(3607, [API], pod_bound=False) == (3607, None)


# -- the legacy token controller ---------------------------------------------------------------


def _token_secret(store: Store, name: str = "robot-token", account: str = "robot") -> None:
    store.create(tokens.SECRETS, {"metadata": {"name": name, "namespace": "default",
                                               "annotations": {"kubernetes.io/service-account.name": account}},
                                  "type": "kubernetes.io/service-account-token"})


def test_a_token_secret_is_filled_in_and_its_token_is_its_account(store: Store) -> None:
    (store.path.parent / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n")
    account = _account(store)
    _token_secret(store)
    serviceaccounts.reconcile(Cluster(store))
    secret = store.get(tokens.SECRETS, "default", "robot-token")
    data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert data["ca.crt"].startswith("-----BEGIN CERTIFICATE-----") and data["namespace"] == "default"
    assert secret["metadata"]["annotations"]["kubernetes.io/service-account.uid"] == account["metadata"]["uid"]
    assert _claims(data["token"]) == {
        "iss": "kubernetes/serviceaccount", "kubernetes.io/serviceaccount/namespace": "default",
        "kubernetes.io/serviceaccount/secret.name": "robot-token", "kubernetes.io/serviceaccount/service-account.name": "robot",
        "kubernetes.io/serviceaccount/service-account.uid": account["metadata"]["uid"], "sub": "system:serviceaccount:default:robot"}
    user = token_authentication.authenticate(data["token"], store)
    assert user == User("system:serviceaccount:default:robot",
                        ("system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"), account["metadata"]["uid"])
    labels = store.get(tokens.SECRETS, "default", "robot-token")["metadata"]["labels"]
    assert labels["kubernetes.io/legacy-token-last-used"] == time.strftime("%Y-%m-%d", time.gmtime())


def test_a_legacy_token_dies_with_its_secret_or_an_invalid_since_label(store: Store) -> None:
    _account(store)
    _token_secret(store)
    serviceaccounts.reconcile(Cluster(store))
    secret = store.get(tokens.SECRETS, "default", "robot-token")
    token = base64.b64decode(secret["data"]["token"]).decode()
    assert token_authentication.authenticate(token, store) is not None
    secret = store.get(tokens.SECRETS, "default", "robot-token")
    secret["metadata"]["labels"]["kubernetes.io/legacy-token-invalid-since"] = "2026-01-01"
    store.update(tokens.SECRETS, secret)
    assert token_authentication.authenticate(token, store) is None
    store.delete(tokens.SECRETS, "default", "robot-token")
    assert token_authentication.authenticate(token, store) is None


def test_token_secrets_of_a_missing_account_are_deleted(store: Store) -> None:
    _account(store)
    _token_secret(store)
    _token_secret(store, "ghost-token", account="ghost")
    store.create(tokens.SECRETS, {"metadata": {"name": "plain", "namespace": "default"}, "data": {"k": "dg=="}})
    cluster = Cluster(store)
    serviceaccounts.reconcile(cluster)
    assert {s["metadata"]["name"] for s in store.list(tokens.SECRETS, "default")} == {"robot-token", "plain"}
    store.delete(tokens.SERVICE_ACCOUNTS, "default", "robot")
    serviceaccounts.reconcile(cluster)
    assert {s["metadata"]["name"] for s in store.list(tokens.SECRETS, "default")} == {"plain"}


# -- kubectl on the shared sandbox -------------------------------------------------------------


@pytest.fixture
def sandbox_store(sandbox: SandboxFiles) -> Iterator[Store]:
    """The shared sandbox's own objects, read as its API server reads them."""
    opened = Store(sandbox.database)
    yield opened
    opened.close()


def test_kubectl_create_token_prints_a_token_of_the_account(kubectl: Kubectl, namespace: str, sandbox_store: Store) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "robot", "-n", namespace)
    token = kubectl("create", "token", "robot", "-n", namespace).stdout
    account = json.loads(kubectl("get", "serviceaccount", "robot", "-n", namespace, "-o", "json").stdout)
    claims = _claims(token)
    assert claims["iss"] == API and claims["aud"] == [API] and claims["sub"] == f"system:serviceaccount:{namespace}:robot"
    assert claims["kubernetes.io"] == {"namespace": namespace, "serviceaccount": {"name": "robot", "uid": account["metadata"]["uid"]}}
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    user = token_authentication.authenticate(token, sandbox_store)
    assert user is not None and user.name == f"system:serviceaccount:{namespace}:robot" and user.uid == account["metadata"]["uid"]
    request = json.loads(kubectl("create", "token", "robot", "-n", namespace, "--audience=vault", "--duration=20m", "-o", "json").stdout)
    assert request["spec"] == {"audiences": ["vault"], "expirationSeconds": 1200, "boundObjectRef": None}
    assert _claims(request["status"]["token"])["aud"] == ["vault"]
    assert token_authentication.authenticate(request["status"]["token"], sandbox_store) is None  # not meant for the API server


def test_kubectl_create_token_is_refused_in_the_api_servers_words(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "robot", "-n", namespace)
    short = kubectl("create", "token", "robot", "-n", namespace, "--duration=5m", check=False)
    assert short.returncode == 1
    assert short.stderr == ('error: failed to create token: TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: '
                            "Invalid value: 300: may not specify a duration less than 10 minutes\n")
    missing = kubectl("create", "token", "nobody", "-n", namespace, check=False)
    assert missing.stderr == 'error: failed to create token: serviceaccounts "nobody" not found\n'
    kubectl("run", "web", "-n", namespace, "--image=busybox:1.36", "--", "sleep", "3600")
    other = kubectl("create", "token", "robot", "-n", namespace, "--bound-object-kind=Pod", "--bound-object-name=web", check=False)
    assert other.stderr == ('error: failed to create token: cannot bind token for serviceaccount "robot" to pod running with '
                            "different serviceaccount name.\n")
    stale = kubectl("create", "token", "default", "-n", namespace, "--bound-object-kind=Pod", "--bound-object-name=web",
                    "--bound-object-uid=0d4691ed-659b-4935-a832-355f77ee47cc", check=False)
    assert stale.stderr == ('error: failed to create token: Operation cannot be fulfilled on Pod "web": the UID in the bound object '
                            "reference (0d4691ed-659b-4935-a832-355f77ee47cc) does not match the UID in record. "
                            "The object might have been deleted and then recreated\n")


def test_a_pod_bound_token_names_the_pod_and_dies_with_it(kubectl: Kubectl, namespace: str, sandbox_store: Store) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("run", "web", "-n", namespace, "--image=busybox:1.36", "--", "sleep", "3600")
    request = json.loads(kubectl("create", "token", "default", "-n", namespace, "--bound-object-kind=Pod", "--bound-object-name=web",
                                 "--duration=3607s", "-o", "json").stdout)
    pod = json.loads(kubectl("get", "pod", "web", "-n", namespace, "-o", "json").stdout)
    claims = _claims(request["status"]["token"])
    assert claims["kubernetes.io"]["pod"] == {"name": "web", "uid": pod["metadata"]["uid"]}
    assert claims["kubernetes.io"]["node"]["name"] == pod["spec"]["nodeName"]
    # the kubelet's 3607 s: a year, stale after 3607 s; the answer still says the time asked for
    assert claims["exp"] - claims["iat"] == 365 * 24 * 3600 and claims["kubernetes.io"]["warnafter"] - claims["iat"] == 3607
    assert request["spec"]["boundObjectRef"] == {"kind": "Pod", "apiVersion": "v1", "name": "web"}
    user = token_authentication.authenticate(request["status"]["token"], sandbox_store)
    assert user is not None and dict(user.extra)["authentication.kubernetes.io/pod-name"] == ("web",)
    kubectl("delete", "pod", "web", "-n", namespace, "--wait=false")
    eventually(lambda: token_authentication.authenticate(request["status"]["token"], sandbox_store) is None, "the pod-bound token's invalidation")


API_ACCESS = """
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: NAMESPACE}
spec:
  serviceAccountName: robot
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
"""


def test_a_pods_projected_token_authenticates_as_its_service_account(kubectl: Kubectl, namespace: str, sandbox_store: Store) -> None:
    """What ``kubectl --token=$(kubectl exec client -- cat .../token) get pods`` will do once the
    server's authentication asks tokens.authenticate."""
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "robot", "-n", namespace)
    kubectl("apply", "-f", "-", stdin=API_ACCESS.replace("NAMESPACE", namespace))
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/client", "--timeout=60s")
    token = kubectl("exec", "-n", namespace, "client", "--", "cat", "/var/run/secrets/kubernetes.io/serviceaccount/token").stdout
    pod = json.loads(kubectl("get", "pod", "client", "-n", namespace, "-o", "json").stdout)
    user = token_authentication.authenticate(token, sandbox_store)
    assert user is not None and user.name == f"system:serviceaccount:{namespace}:robot"
    assert dict(user.extra)["authentication.kubernetes.io/pod-uid"] == (pod["metadata"]["uid"],)
    kubectl("delete", "serviceaccount", "robot", "-n", namespace)
    assert token_authentication.authenticate(token, sandbox_store) is None


def test_a_legacy_token_secret_gets_filled_and_goes_with_its_account(kubectl: Kubectl, namespace: str, sandbox_store: Store) -> None:
    kubectl("create", "namespace", namespace)
    kubectl("create", "serviceaccount", "robot", "-n", namespace)
    kubectl("apply", "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {"name": "robot-token", "namespace": namespace, "annotations": {"kubernetes.io/service-account.name": "robot"}}}))

    def data() -> dict[str, str]:
        found = kubectl("get", "secret", "robot-token", "-n", namespace, "-o", "json", check=False)
        return json.loads(found.stdout).get("data") or {} if found.returncode == 0 else {}

    eventually(lambda: "token" in data(), "the token controller's filling in of robot-token")
    filled = data()
    assert set(filled) == {"ca.crt", "namespace", "token"} and base64.b64decode(filled["namespace"]).decode() == namespace
    described = kubectl("describe", "secret", "robot-token", "-n", namespace).stdout
    assert "kubernetes.io/service-account.uid:" in described
    user = token_authentication.authenticate(base64.b64decode(filled["token"]).decode(), sandbox_store)
    assert user is not None and user.name == f"system:serviceaccount:{namespace}:robot" and user.extra == ()
    kubectl("delete", "serviceaccount", "robot", "-n", namespace)
    eventually(lambda: kubectl("get", "secret", "robot-token", "-n", namespace, check=False).returncode == 1,
               "the token Secret's deletion with its account")
