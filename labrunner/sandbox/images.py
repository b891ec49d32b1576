"""The images the sandbox can "pull": a catalogue of simulated images.

A known image's container starts and becomes ready; any other image fails the
way a real pull does (ErrImagePull, then ImagePullBackOff, with the kubelet's
event text). Workload behaviour inside containers (mysql speaking SQL, the PHP
page, busybox's applets) is the sandbox's next part; here they only run.
"""

from __future__ import annotations

KNOWN_REPOSITORIES = frozenset({
    "mysql", "mariadb", "postgres", "redis", "memcached",
    "webdevops/php-apache", "php", "httpd", "nginx", "traefik/whoami",
    "busybox", "alpine", "debian", "ubuntu", "curlimages/curl", "nicolaka/netshoot",
    "calico/node", "calico/kube-controllers", "calico/cni", "calico/typha", "calico/apiserver",
    "coredns/coredns", "coredns", "pause", "kube-proxy",
})


def repository(image: str) -> str:
    """``docker.io/library/mysql:8.4`` -> ``mysql``; ``registry.k8s.io/coredns/coredns:v1.11.3`` -> ``coredns/coredns``."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name[: len(name) - len(last[-1]) + last[-1].index(":")]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # a registry host
    if parts[:1] == ["library"]:
        parts = parts[1:]
    return "/".join(parts)


def known(image: str) -> bool:
    return repository(image) in KNOWN_REPOSITORIES


def pull_failure(image: str) -> str:
    """The kubelet's message for an image that cannot be pulled."""
    reference = image if "/" in image else f"docker.io/library/{image}"
    if ":" not in image.rsplit("/", 1)[-1]:
        reference += ":latest"
    return (
        f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and unpack image '
        f'"{reference}": failed to resolve reference "{reference}": {reference}: not found '
        "(the labrunner sandbox simulates a catalogue of common images; this is not one of them)"
    )
