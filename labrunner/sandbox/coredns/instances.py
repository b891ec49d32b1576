"""CoreDNS processes: what a container of the coredns image does when it starts, while it runs
(its reload plugin re-reading the Corefile) and which configuration answers its queries.

Starting: the flags (``-conf FILE``), the Corefile read from the container's files (a ConfigMap
volume, as kubeadm mounts it), loaded as CoreDNS loads it. A Corefile CoreDNS refuses ends the
process at once with its error and exit code 1, as ``log.Fatal`` does, so the kubelet restarts
it into CrashLoopBackOff with the error in ``kubectl logs --previous``. Otherwise it logs
CoreDNS 1.11.3's start-up lines and answers with that configuration until it ends.

Reloading: every reload interval (30 s, jittered by up to 15 s, scaled as every simulated wait)
the Corefile is read again; when its digest changed, the new one replaces the running one, or,
when refused, the running one stays and the error is logged, as the reload plugin does.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from labrunner.sandbox.coredns.corefile import CorefileError
from labrunner.sandbox.coredns.messages import Query, Reply
from labrunner.sandbox.coredns.plugins.base import Context
from labrunner.sandbox.coredns.plugins.lifecycle import Reload
from labrunner.sandbox.coredns.server import answer
from labrunner.sandbox.coredns.setup import Config, Files, StartError, digest_of, load
from labrunner.sandbox.coredns.upstreams import NODE_RESOLV_CONF
from labrunner.sandbox.timescale import TIME_SCALE

VERSION_LINES = ["CoreDNS-1.11.3", "linux/amd64, go1.21.11, a6338e9"]
DEFAULT_COREFILE = ".:53 {\nwhoami\nlog\n}\n"
"""What CoreDNS runs when no Corefile is given or found (its DNS server type's default input)."""
USAGE = ["Usage of /coredns:", "  -conf string", '    \tCorefile to load (default "Corefile")', "  -dns.port string",
         '    \tDefault port (default "53")', "  -p string", '    \tDefault port (default "53")', "  -pidfile string",
         "    \tPath to write pid file", "  -plugins", "    \tList installed plugins", "  -quiet",
         "    \tQuiet mode (no initialization output)", "  -version", "    \tShow version"]
Log = Callable[[list[str]], None]


@dataclass
class Instance:
    """One run of a CoreDNS container."""

    pod_uid: str
    pod_namespace: str
    pod_name: str
    conf: str
    files: Files
    container_files: Mapping[str, bytes]
    refresh: Callable[[], Mapping[str, bytes]]
    """The container's files as the kubelet has them now (a ConfigMap volume's edited keys)."""
    environment: Mapping[str, str]
    config: Config
    digest: str
    """What the reload plugin compares the Corefile against: the last one it tried, loaded or not."""
    port: int
    stopped: threading.Event
    log: Log
    end: Callable[[int], None]
    loop: asyncio.AbstractEventLoop
    network: Any
    interval: float = 30.0

    def context(self, pod: Mapping[str, Any], network: Any) -> Context:
        return Context(network, pod, self.container_files, self.log, ask_server=lambda server, query: ask(server, query, network))

    def answer(self, pod: Mapping[str, Any], query: Query, network: Any) -> Reply:
        return answer(self.config, query, self.context(pod, network), self.port)


INSTANCES: dict[str, Instance] = {}
"""The running CoreDNS processes, by pod uid."""


def running(pod: Mapping[str, Any]) -> Instance | None:
    found = INSTANCES.get(str(pod.get("metadata", {}).get("uid", "")))
    if found is not None and found.stopped.is_set():
        INSTANCES.pop(found.pod_uid, None)
        return None
    return found


def ask(pod: Mapping[str, Any], query: Query, network: Any) -> Reply | None:
    """``pod``'s CoreDNS answering ``query``; None when it runs none."""
    instance = running(pod)
    return None if instance is None else instance.answer(pod, query, network)


def ports(pod: Mapping[str, Any]) -> set[tuple[str, int]] | None:
    """Where ``pod``'s CoreDNS listens; None when it runs none (the image's ports then)."""
    instance = running(pod)
    return None if instance is None else instance.config.ports()


def files_for(pod: Mapping[str, Any], container_files: Mapping[str, bytes], environment: Mapping[str, str]) -> Files:
    """The container's files as CoreDNS reads them; /etc/resolv.conf is the node's under ``dnsPolicy: Default``."""
    def read(path: str) -> str | None:
        path = path if path.startswith("/") else "/" + path
        if path == "/etc/resolv.conf" and (pod.get("spec") or {}).get("dnsPolicy") == "Default":
            return NODE_RESOLV_CONF
        content = container_files.get(path)
        return None if content is None else content.decode(errors="replace")

    return Files(read, lambda: [str(name) for name in container_files], environment)


def flags(argv: list[str]) -> tuple[dict[str, str], list[str]] | list[str]:
    """Go's flag package over CoreDNS's flags: the values by name, or the lines it prints for a bad one."""
    known_values, known_bools = {"conf", "dns.port", "p", "pidfile"}, {"plugins", "quiet", "version"}
    found: dict[str, str] = {}
    index = 0
    while index < len(argv):
        word = argv[index]
        if not word.startswith("-") or word in ("-", "--"):
            return [f"extra command line arguments: [{' '.join(argv[index + (word == '--'):])}]"]
        name, equals, value = word.lstrip("-").partition("=")
        if name in known_bools:
            found[name] = value or "true"
        elif name in known_values:
            if not equals:
                if index + 1 >= len(argv):
                    return [f"flag needs an argument: -{name}", *USAGE]
                index += 1
                value = argv[index]
            found[name] = value
        else:
            return [f"flag provided but not defined: -{name}", *USAGE]
        index += 1
    return found, []


def start(pod: Mapping[str, Any], argv: list[str], refresh: Callable[[], Mapping[str, bytes]], environment: Mapping[str, str],
          network: Any, stopped: threading.Event, loop: asyncio.AbstractEventLoop, log: Log, end: Callable[[int], None]) -> int | None:
    """Start CoreDNS in a container: None while it runs, or the exit code it ended with at once.
    ``refresh`` gives the container's files as they are when called; ``end`` ends the process
    later (the loop plugin's fatal error after a reload)."""
    container_files = refresh()
    parsed = flags(argv[1:])
    if isinstance(parsed, list):
        log(parsed)
        return 2 if parsed[0].startswith("flag") else 1
    given, _ = parsed
    if given.get("version"):
        log(VERSION_LINES)
        return 0
    files = files_for(pod, container_files, environment)
    conf = given.get("conf", "")
    path = conf or "Corefile"
    text = files.read(conf) if conf else files.read("/Corefile")
    if text is None and conf:
        log([f"open {conf}: no such file or directory"])
        return 1
    if text is None:
        text = DEFAULT_COREFILE
    port = int(given.get("dns.port") or given.get("p") or 53)
    try:
        config = load(text, path, files, port)
    except StartError as error:
        log([str(error)])
        return 1
    lines = [*config.warnings]
    if not given.get("quiet"):
        for (scheme, listen), zones in sorted(config.servers().items(), key=lambda item: item[0][1]):
            prefix = "" if scheme == "dns" else f"{scheme}://"
            lines += [f"{prefix}{zone}:{listen}" for zone in sorted(zones)]
    metadata = pod["metadata"]
    instance = Instance(str(metadata["uid"]), str(metadata.get("namespace", "")), str(metadata.get("name", "")), conf or "/Corefile",
                        files, container_files, refresh, environment, config, config.digest, port, stopped, log, end, loop, network)
    if config.reload is not None:
        lines.append(f"[INFO] plugin/reload: Running configuration SHA512 = {config.digest}")
    if not given.get("quiet"):
        lines += VERSION_LINES
    fatal = loop_detected(config, pod, network)
    if fatal:
        log([*lines, fatal])
        return 1
    log(lines)
    INSTANCES[instance.pod_uid] = instance
    _schedule(instance)
    return None


def _schedule(instance: Instance) -> None:
    """Start the reload plugin's ticker: its interval jittered once, at setup, as reload's setup does."""
    settings = instance.config.reload
    if settings is None:
        return
    instance.interval = settings.interval + random.uniform(-settings.jitter / 2, settings.jitter / 2)
    instance.loop.call_later(instance.interval * TIME_SCALE, _tick, instance, settings)


def _tick(instance: Instance, settings: Reload) -> None:
    """One tick of the reload plugin's ticker."""
    if instance.stopped.is_set() or INSTANCES.get(instance.pod_uid) is not instance:
        return
    if instance.config.reload is not settings:
        return  # a successful reload started a ticker of its own
    instance.container_files = instance.refresh()
    instance.files = files_for(_pod_of(instance), instance.container_files, instance.environment)
    text = instance.files.read(instance.conf)
    if text is None:
        _again(instance, settings)
        return
    try:
        digest = digest_of(text, instance.config.path, instance.files)
    except CorefileError as error:
        instance.log([f"[WARNING] plugin/reload: Corefile parse failed: {error}"])
        _again(instance, settings)
        return
    if digest == instance.digest:
        _again(instance, settings)
        return
    instance.digest = digest  # a broken Corefile is not tried again until it changes
    try:
        config = load(text, instance.config.path, instance.files, instance.port)
    except StartError as error:
        instance.log(["[INFO] Reloading", f"[ERROR] Restart failed: {error}",
                      f"[ERROR] plugin/reload: Corefile changed but reload failed: starting with listener file descriptors: {error}"])
        _again(instance, settings)
        return
    lines = ["[INFO] Reloading", *config.warnings]
    lines += [f"[INFO] plugin/health: Going into lameduck mode for {_go_seconds(seconds)}" for seconds in instance.config.lameduck]
    instance.config = config
    if config.reload is not None:
        lines.append(f"[INFO] plugin/reload: Running configuration SHA512 = {digest}")
    lines.append("[INFO] Reloading complete")
    pod = instance.network.objects.get("", "pods", instance.pod_namespace, instance.pod_name)
    fatal = loop_detected(config, pod, instance.network) if pod is not None else ""
    instance.log([*lines, fatal] if fatal else lines)
    if fatal:
        INSTANCES.pop(instance.pod_uid, None)
        instance.end(1)
        return
    _schedule(instance)


def _pod_of(instance: Instance) -> Mapping[str, Any]:
    found = instance.network.objects.get("", "pods", instance.pod_namespace, instance.pod_name)
    return found if isinstance(found, dict) else {}


def _again(instance: Instance, settings: Reload) -> None:
    instance.loop.call_later(instance.interval * TIME_SCALE, _tick, instance, settings)


def _go_seconds(seconds: float) -> str:
    """time.Duration's String for whole and fractional seconds (``5s``, ``1.5s``, ``1m0s``)."""
    if seconds >= 60:
        minutes, rest = divmod(seconds, 60)
        return f"{int(minutes)}m{rest:g}s"
    return f"{seconds:g}s"


def loop_detected(config: Config, pod: Mapping[str, Any], network: Any) -> str:
    """The loop plugin's fatal line when a block with ``loop`` forwards its zone back to this very
    server (a loopback address, the pod's own, or a Service selecting it, such as kube-dns when
    /etc/resolv.conf names the cluster DNS); empty when there is no loop."""
    from labrunner.sandbox.coredns.plugins.forward import Forward

    from labrunner.sandbox.coredns.names import is_subdomain

    address = str((pod.get("status") or {}).get("podIP", ""))
    labels = (pod.get("metadata") or {}).get("labels") or {}
    for index, block in enumerate(config.plugins):
        if not any(plugin.name == "loop" for plugin in block):
            continue
        zone = next((z.zone for z in config.zones if z.block == index), ".")
        qname = f"{random.getrandbits(63)}.{random.getrandbits(63)}.{'' if zone == '.' else zone}"
        for plugin in block:
            if not isinstance(plugin, Forward) or not is_subdomain(plugin.origin, qname):
                continue
            for target, port in plugin.upstreams:
                if _back_to_itself(target, address, labels, pod, network):
                    source = "127.0.0.1" if target.startswith("127.") else address
                    return (f'[FATAL] plugin/loop: Loop ({source}:{random.randint(32768, 60999)} -> :{port}) detected for zone '
                            f'"{zone}", see https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO {qname}"')
    return ""


def _back_to_itself(target: str, address: str, labels: Mapping[str, str], pod: Mapping[str, Any], network: Any) -> bool:
    if target.startswith("127.") or target == address:
        return True
    if network is None:
        return False
    service = network.service_by_ip(target)
    if service is None or service["metadata"]["namespace"] != (pod.get("metadata") or {}).get("namespace"):
        return False
    selector = (service.get("spec") or {}).get("selector") or {}
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())
