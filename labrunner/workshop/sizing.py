"""How much of the cluster one learner's lab needs, read from the lab's own files (pure).

The quota must never change a lesson: a pod the lab makes Pending on purpose (a request no node
can give) must reach the scheduler, not be refused by the quota. So the limits are read from
what the lab itself writes: every ``cpu:``/``memory:`` quantity and ``--requests``/``--limits``
value in lab.yaml and its manifests, every ``replicas``, and every image. Sizes are generous
(twice what is found, with floors): the quota is there to stop a runaway, not to teach.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_CPU = re.compile(r"""\bcpu["']?\s*[:=]\s*["']?(\d+(?:\.\d+)?)(m?)\b""")
_MEMORY = re.compile(r"""\bmemory["']?\s*[:=]\s*["']?(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?\b""")
_REPLICAS = re.compile(r"""(?:\breplicas["']?\s*:\s*|--replicas[= ])["']?(\d+)""")
_KINDS = re.compile(r"^kind:\s*(Pod|Deployment|StatefulSet|DaemonSet|Job|CronJob|ReplicaSet)\s*$", re.M)
_IMAGE = re.compile(r"""(?:\bimage:\s*|--image[= ])["']?([a-z0-9][\w./-]*(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?)""")

_MEMORY_MIB = {None: 1 / (1024 * 1024), "Ki": 1 / 1024, "Mi": 1.0, "Gi": 1024.0, "Ti": 1024.0 * 1024,
               "K": 1000 / (1024 * 1024), "M": 1000**2 / 1024**2, "G": 1000**3 / 1024**2, "T": 1000**4 / 1024**2}


@dataclass(frozen=True)
class Sizing:
    pods: int
    cpu_millis: int
    """requests.cpu for the whole namespace."""
    memory_mib: int
    container_cpu_millis: int
    """Twice the largest cpu one container of the lab asks for."""
    container_memory_mib: int
    services: int = 20
    claims: int = 10
    default_cpu_millis: int = 50
    """LimitRange defaultRequest: what a container that says nothing requests."""
    default_memory_mib: int = 64

    def quota(self) -> dict[str, str]:
        return {"pods": str(self.pods), "requests.cpu": f"{self.cpu_millis}m", "requests.memory": f"{self.memory_mib}Mi",
                "services": str(self.services), "persistentvolumeclaims": str(self.claims)}

    def limits(self) -> list[dict[str, object]]:
        """Only a default request, which the quota needs a container to have. No ``max``: the API
        would then default every container's limits to it, changing pods' QoS class and what
        ``kubectl describe`` shows the learner."""
        return [{"type": "Container",
                 "defaultRequest": {"cpu": f"{self.default_cpu_millis}m", "memory": f"{self.default_memory_mib}Mi"}}]


FLOOR = Sizing(pods=20, cpu_millis=4000, memory_mib=8192, container_cpu_millis=2000, container_memory_mib=4096)


def size_for(texts: Iterable[str]) -> Sizing:
    """The quota and limits one learner's namespace gets, from the lab's texts (lab.yaml, its
    manifests): twice the largest cpu and memory a container asks for, at least :data:`FLOOR`;
    pods for every workload's replicas twice over."""
    cpu = memory = 0.0
    pods = 0
    for text in texts:
        cpu = max([cpu, *(float(n) * (1 if unit else 1000) for n, unit in _CPU.findall(text))])
        memory = max([memory, *(float(n) * _MEMORY_MIB.get(unit or None, 1.0) for n, unit in _MEMORY.findall(text))])
        replicas = [int(n) for n in _REPLICAS.findall(text)]
        pods += sum(replicas) + max(0, len(_KINDS.findall(text)) - len(replicas))
    container_cpu = max(FLOOR.container_cpu_millis, int(2 * cpu))
    container_memory = max(FLOOR.container_memory_mib, int(2 * memory))
    return Sizing(pods=max(FLOOR.pods, 2 * pods + 5),
                  cpu_millis=max(FLOOR.cpu_millis, 2 * container_cpu),
                  memory_mib=max(FLOOR.memory_mib, 2 * container_memory),
                  container_cpu_millis=container_cpu, container_memory_mib=container_memory)


def images_in(texts: Iterable[str]) -> list[str]:
    """The images a lab's texts name (``image:`` fields, ``--image=``), in the order first met."""
    found: dict[str, None] = {}
    for text in texts:
        for image in _IMAGE.findall(text):
            if "{{" not in image and "$" not in image:
                found.setdefault(image, None)
    return list(found)
