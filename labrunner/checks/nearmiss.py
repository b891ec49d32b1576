"""Near misses: the object a check looked for, found where the learner put it instead.

The most reported loss of exam points is work done in the wrong namespace (a forgotten
``-n``); a check that finds nothing in the namespace it was given asks here whether an
object of that name exists in another.
"""

from __future__ import annotations

from collections.abc import Sequence

from labrunner.cluster import errors
from labrunner.cluster.port import ClusterPort


def found_elsewhere(cluster: ClusterPort, resources: Sequence[str], name: str, namespace: str) -> list[tuple[str, str]]:
    """(kind, namespace) of each object named ``name`` of ``resources`` outside ``namespace``,
    from the first resource that has any (one list per resource, across namespaces). Nothing
    when such an object exists in ``namespace`` itself: then it is there and wrong, not misplaced."""
    from labrunner.registry import registry

    for plural in resources:
        try:
            resource = registry().resource(plural)
        except KeyError:
            continue
        if not resource.namespaced:
            continue
        try:
            items = cluster.list(plural, None, fields=f"metadata.name={name}")
        except errors.ClusterError:
            continue
        found = {str((item.get("metadata") or {}).get("namespace")) for item in items if (item.get("metadata") or {}).get("name") == name}
        if namespace in found:
            return []
        places = sorted(found)
        if places:
            return [(resource.kind, place) for place in places]
    return []
