"""Who can reach whom in one namespace, decided and explained by labrunner's NetworkPolicy engine.

The cluster is read in a thread worker (the caller's ``load`` blocks); the grid is the
engine's :class:`~labrunner.topics.networkpolicy.matrix.Matrix` and each explanation is its
:class:`~labrunner.topics.networkpolicy.evaluate.Verdict`, so the screen can never disagree with
``labrunner netpol`` or the sandbox's data plane.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from labrunner.topics.networkpolicy.evaluate import Endpoint, Verdict, selects
from labrunner.topics.networkpolicy.matrix import Matrix, PortKey, default_ports
from labrunner.topics.networkpolicy.model import Cluster, Pod, Policy
from labrunner.topics.networkpolicy.parse import ObjectError, namespace_from_object, pod_from_object, policy_from_object

Load = Callable[[], tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]]

EXTERNAL = ipaddress.ip_address("203.0.113.10")
"""TEST-NET-3 (RFC 5737): an address that is outside every cluster."""
PROBE_LABEL = ("app.kubernetes.io/managed-by", "labrunner")
DNS_NAMESPACE, DNS_LABEL = "kube-system", ("k8s-app", "kube-dns")
DNS_PORTS: tuple[PortKey, ...] = (("UDP", 53), ("TCP", 53))
"""DNS is why kube-dns is a column; its other ports (metrics) would only add noise."""
_NAME_KEYS = ("app.kubernetes.io/name", "app", "run", "k8s-app", "name", "component")
"""The labels people name workloads by, in the order a row label prefers them."""
LEGEND = "rows: from · columns: to · ✓ allowed · ✗ denied · any: no policy isolates either end · enter: explain"


class ReachError(Exception):
    """Objects the engine cannot read; shown as the screen's message."""


@dataclass(frozen=True)
class Side:
    """A row or column: a class of pods the engine cannot tell apart, or an address."""

    key: str
    label: str
    members: tuple[Endpoint, ...]
    ports: tuple[PortKey, ...] = ()


@dataclass(frozen=True)
class Cell:
    pair: tuple[Endpoint, Endpoint] | None
    """One member of each side; None for a lone pod and itself."""
    states: tuple[tuple[PortKey, bool], ...]
    any_port: bool
    """Neither end is isolated in the direction that matters, so every port is allowed."""


@dataclass(frozen=True)
class Reach:
    namespace: str
    header: str
    sources: tuple[Side, ...]
    destinations: tuple[Side, ...]
    cells: Mapping[tuple[str, str], Cell]
    matrix: Matrix

    def explain(self, source: str, destination: str) -> list[Verdict]:
        """The engine's verdict for the cell, one per port of the destination."""
        cell = self.cells[(source, destination)]
        if cell.pair is None:
            return []
        column = next(side for side in self.destinations if side.key == destination)
        return [self.matrix.explain(cell.pair[0], cell.pair[1], port) for port in column.ports]


def describe_error(error: BaseException) -> str:
    """A cluster error's own words and next step (ClusterError has both), else its text."""
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    hint = getattr(error, "hint", "")
    return f"{message}\n{hint}" if hint else str(message)


def port_text(port: PortKey) -> str:
    """kubectl's way: TCP is the default and goes unsaid, others are 53/UDP."""
    return str(port[1]) if port[0] == "TCP" else f"{port[1]}/{port[0]}"


def _parse(kind: str, objects: Sequence[Mapping[str, Any]], parse: Callable[[Any], Any]) -> list[Any]:
    parsed = []
    for obj in objects:
        try:
            parsed.append(parse(obj))
        except ObjectError as error:
            metadata = obj.get("metadata") or {}
            name = f"{metadata.get('namespace', '')}/{metadata.get('name', '?')}".lstrip("/")
            raise ReachError(f"labrunner cannot read {kind} {name}: {error}") from None
    return parsed


def _shown(obj: Mapping[str, Any], namespace: str) -> bool:
    metadata = obj.get("metadata") or {}
    labels = metadata.get("labels") or {}
    if labels.get(PROBE_LABEL[0]) == PROBE_LABEL[1]:
        return False  # labrunner's own probe pods come and go while checks run
    if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False  # finished pods open no connections
    where = metadata.get("namespace") or "default"
    return where == namespace or (where == DNS_NAMESPACE and labels.get(DNS_LABEL[0]) == DNS_LABEL[1])


def _labels(groups: Sequence[Sequence[Endpoint]]) -> list[str]:
    labels: list[str] = []
    for members in groups:
        pod = members[0]
        assert isinstance(pod, Pod)
        label = next((f"{key}={pod.labels[key]}" for key in _NAME_KEYS if key in pod.labels), pod.name)
        if label in labels:  # e.g. two ReplicaSets of one Deployment during a rollout
            label = pod.name
        labels.append(label)
    return [label + (f" ×{len(members)}" if len(members) > 1 else "") for label, members in zip(labels, groups)]


def _header(namespace: str, policies: Sequence[Policy], pods: Sequence[Pod]) -> str:
    applying = [p for p in policies if any(selects(p, pod, d) for pod in pods for d in ("ingress", "egress"))]
    idle = [p.name for p in policies if p.namespace == namespace and p not in applying]
    idle_text = f"; {', '.join(idle)} {'selects' if len(idle) == 1 else 'select'} no pod" if idle else ""
    if not applying:
        what = f"no NetworkPolicy in {namespace}" if not idle else f"no NetworkPolicy in {namespace} selects a pod ({', '.join(idle)})"
        return f"{what}: every connection is allowed"
    names = ", ".join(p.name if p.namespace == namespace else p.ref for p in applying)
    count = f"{len(applying)} NetworkPolic{'y applies' if len(applying) == 1 else 'ies apply'}"
    return f"{namespace}: {count} ({names}){idle_text}"


def build_reach(
    namespace: str, namespaces: Sequence[Mapping[str, Any]], pods: Sequence[Mapping[str, Any]], policies: Sequence[Mapping[str, Any]]
) -> Reach:
    """The grid for ``namespace`` from API objects (pods and policies may span namespaces).

    Raises:
        ReachError: an object the engine cannot read.
    """
    cluster = Cluster(
        namespaces={ns.name: ns for ns in _parse("namespace", namespaces, namespace_from_object)},
        pods=tuple(_parse("pod", [p for p in pods if _shown(p, namespace)], pod_from_object)),
        policies=tuple(_parse("NetworkPolicy", policies, policy_from_object)),
    )

    def ports_of(pod: Pod) -> tuple[PortKey, ...]:
        selecting = tuple(p for p in cluster.policies if selects(p, pod, "ingress"))
        return tuple(default_ports(Cluster(cluster.namespaces, (pod,), selecting)))

    egress_here = tuple(p for p in cluster.policies if p.namespace == namespace and "egress" in p.types)
    external_ports = tuple(default_ports(Cluster(cluster.namespaces, (), egress_here)))
    own = [p for p in cluster.pods if p.namespace == namespace]
    dns = [p for p in cluster.pods if p.namespace != namespace]
    everything = {port for pod in own for port in ports_of(pod)} | set(DNS_PORTS) | set(external_ports)
    matrix = Matrix(cluster, sorted(everything), [EXTERNAL])
    # One row per class of pods no policy can tell apart (the engine's Matrix groups: same
    # namespace, labels and ports), so a Deployment's replicas are one row and the grid keeps
    # its shape while policies change (behaviour groups would merge and split under the learner).
    groups = [g.members for g in matrix.groups if g.is_pod and g.namespace == namespace]
    sources = tuple(
        Side(f"g{i}", label, tuple(members), ports_of(members[0]))  # type: ignore[arg-type]
        for i, (label, members) in enumerate(zip(_labels(groups), groups))
    )
    dns_group = next((g.members for g in matrix.groups if g.is_pod and g.namespace != namespace), None)
    destinations = list(sources)
    if dns_group:
        destinations.append(Side("kube-dns", f"kube-dns ({DNS_NAMESPACE})", tuple(dns_group), DNS_PORTS))
    destinations.append(Side("external", f"{EXTERNAL} (outside)", (EXTERNAL,), external_ports))
    cells = {(s.key, d.key): _cell(matrix, s, d) for s in sources for d in destinations}
    header = _header(namespace, cluster.policies, own + dns)
    if not own:
        header += f". There are no pods in {namespace} yet"
    elif not dns_group and namespace != DNS_NAMESPACE:
        header += f". No kube-dns pod ({DNS_LABEL[0]}={DNS_LABEL[1]}) in {DNS_NAMESPACE}"
    return Reach(namespace, header, sources, tuple(destinations), cells, matrix)


def _cell(matrix: Matrix, source: Side, destination: Side) -> Cell:
    if source is destination:
        if len(source.members) < 2:
            return Cell(None, (), True)
        pair = (source.members[0], source.members[1])
    else:
        pair = (source.members[0], destination.members[0])
    states = tuple((port, matrix.allowed(pair[0], pair[1], *port)) for port in destination.ports)
    policies = matrix.cluster.policies
    isolated = any(selects(p, pair[0], "egress") for p in policies if isinstance(pair[0], Pod)) or any(
        selects(p, pair[1], "ingress") for p in policies if isinstance(pair[1], Pod)
    )
    return Cell(pair, states, not isolated)


class ReachScreen(Screen[None]):
    """Who can reach whom in one namespace, with the engine's reasons.

    | Key | Action |
    | :- | :- |
    | r | Read the cluster again. |
    | escape | Back. |
    """

    DEFAULT_CSS = """
    ReachScreen { layout: vertical; }
    ReachScreen #reach-title { background: $panel; color: $foreground; text-style: bold; padding: 0 1; }
    ReachScreen #reach-header { padding: 0 1; color: $text-muted; }
    ReachScreen #reach-error { display: none; color: $text-error; background: $error-muted; padding: 0 1; margin: 1 1; }
    ReachScreen.-failed #reach-error { display: block; }
    ReachScreen.-failed #reach-grid, ReachScreen.-failed #reach-legend, ReachScreen.-failed #reach-explain-box { display: none; }
    ReachScreen #reach-grid { height: auto; max-height: 50%; margin: 0 1; }
    ReachScreen #reach-legend { color: $text-muted; padding: 0 1; }
    ReachScreen #reach-explain-box { height: 1fr; border-top: solid $panel-lighten-2; padding: 0 1; }
    """

    BINDINGS = [
        Binding("r", "reload", "Reload", id="reach.reload", tooltip="Read pods and NetworkPolicies from the cluster again"),
        Binding("escape", "close", "Back", id="reach.close", tooltip="Close this view"),
    ]

    class Loaded(Message):
        """The worker read the cluster and the engine decided the grid."""

        def __init__(self, generation: int, reach: Reach) -> None:
            super().__init__()
            self.generation = generation
            self.reach = reach

    class LoadFailed(Message):
        """``load()`` raised, or returned objects the engine cannot read."""

        def __init__(self, generation: int, message: str) -> None:
            super().__init__()
            self.generation = generation
            self.message = message

    def __init__(self, namespace: str, load: Load, title: str = "") -> None:
        super().__init__()
        self.namespace = namespace
        self._load = load
        self.title = title or f"Who can reach whom in {namespace}"
        self.reach: Reach | None = None
        """What the grid shows; None before the first answer and after a failure."""
        self._generation = 0
        self._mounted = False
        """Widget.is_mounted turns true only after on_mount, where the first read starts."""

    def compose(self) -> ComposeResult:
        yield Static(self.title or "", id="reach-title", markup=False)
        yield Static(f"Reading pods and NetworkPolicies in {self.namespace}…", id="reach-header", markup=False)
        yield Static("", id="reach-error", markup=False)
        yield DataTable(id="reach-grid", cursor_type="cell")
        yield Static(LEGEND, id="reach-legend", markup=False)
        with VerticalScroll(id="reach-explain-box"):
            yield Static("", id="reach-explanation")
        yield Footer()

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._fill())
        self._mounted = True
        self.reload()

    def reload(self) -> None:
        """Read the cluster again (in a thread); the grid stays until the answer arrives."""
        if not self._mounted:
            return  # on_mount will read it
        self._generation += 1
        if self.reach is not None:
            self.query_one("#reach-header", Static).update(f"{self.reach.header} (reading again…)")
        self._read(self._generation)

    def action_reload(self) -> None:
        self.reload()

    def action_close(self) -> None:
        self.dismiss()

    @work(thread=True, exclusive=True, exit_on_error=False, group="reach", description="reading pods and NetworkPolicies")
    def _read(self, generation: int) -> None:
        try:
            namespaces, pods, policies = self._load()
            reach = build_reach(self.namespace, namespaces, pods, policies)
        except Exception as error:  # whatever the caller's load raises is the learner's to read, not a crash
            self.post_message(self.LoadFailed(generation, describe_error(error)))
            return
        self.post_message(self.Loaded(generation, reach))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.generation != self._generation:
            return  # an older read finished after a newer one started
        self.reach = message.reach
        self.remove_class("-failed")
        self.query_one("#reach-header", Static).update(message.reach.header)
        self._fill()

    @on(LoadFailed)
    def _failed(self, message: LoadFailed) -> None:
        if message.generation != self._generation:
            return
        self.reach = None
        self.add_class("-failed")
        self.query_one("#reach-header", Static).update(f"Could not read {self.namespace}:")
        self.query_one("#reach-error", Static).update(message.message)
        self.query_one("#reach-grid", DataTable).clear(columns=True)
        self.query_one("#reach-explanation", Static).update("")

    def _fill(self) -> None:
        """Rebuild the grid from ``self.reach``, keeping the cursor on the same pair."""
        table = self.query_one("#reach-grid", DataTable)
        reach = self.reach
        if reach is None:
            return
        keys: tuple[str, str] | None = None
        if table.row_count and table.columns:
            cell_key = table.coordinate_to_cell_key(table.cursor_coordinate)
            keys = (str(cell_key.row_key.value), str(cell_key.column_key.value))
        table.clear(columns=True)
        for side in reach.destinations:
            table.add_column(side.label, key=side.key)
        for side in reach.sources:
            table.add_row(*(self._cell_text(reach.cells[(side.key, d.key)]) for d in reach.destinations), key=side.key, label=side.label)
        if keys is not None and keys in reach.cells:
            table.move_cursor(row=table.get_row_index(keys[0]), column=table.get_column_index(keys[1]), animate=False)
        self._explain()

    def _cell_text(self, cell: Cell) -> Text:
        # DataTable renders Rich text, which knows no $variables: take the theme's colours.
        colours = self.app.theme_variables
        allowed, denied = colours.get("text-success", ""), colours.get("text-error", "")
        if cell.pair is None:
            return Text("— itself")
        if cell.any_port:
            return Text("✓ any", style=allowed)
        parts = [(f"{'✓' if ok else '✗'} {port_text(port)}", allowed if ok else denied) for port, ok in cell.states]
        return Text("  ").join(Text(text, style=style) for text, style in parts)

    @on(DataTable.CellHighlighted, "#reach-grid")
    @on(DataTable.CellSelected, "#reach-grid")
    def _cell_chosen(self) -> None:
        self._explain()

    def _explain(self) -> None:
        """The engine's explanation of the cell under the cursor, port by port."""
        table = self.query_one("#reach-grid", DataTable)
        target = self.query_one("#reach-explanation", Static)
        if self.reach is None or not table.row_count:
            target.update("")
            return
        cell_key = table.coordinate_to_cell_key(table.cursor_coordinate)
        source, destination = str(cell_key.row_key.value), str(cell_key.column_key.value)
        target.update(explanation(self.reach, source, destination))


def explanation(reach: Reach, source: str, destination: str) -> Content:
    """Who, then one block per port: the outcome and the engine's sentence for each direction."""
    row = next(side for side in reach.sources if side.key == source)
    column = next(side for side in reach.destinations if side.key == destination)
    cell = reach.cells[(source, destination)]
    if cell.pair is None:
        return Content(f"{row.label} → itself: a pod can always reach itself; policies never block it.")
    lines = [Content.assemble((f"{row.label} → {column.label}", "bold"), f"   ({_name(cell.pair[0])} → {_name(cell.pair[1])})")]
    if len(row.members) > 1 or len(column.members) > 1:
        lines.append(Content.styled("The same holds for every pod of the row and of the column: the engine cannot tell them apart.", "$text-muted"))
    for verdict in reach.explain(source, destination):
        outcome = ("✓ allowed", "$text-success") if verdict.allowed else ("✗ denied", "$text-error")
        lines.append(Content.styled(f"{outcome[0]} on {verdict.protocol} {verdict.port}", f"bold {outcome[1]}"))
        if verdict.same_pod:
            lines.append(Content("    a pod can always reach itself; policies never block it"))
            continue
        for side in (verdict.egress, verdict.ingress):
            glyph = ("✓ ", "$text-success") if side.allowed else ("✗ ", "$text-error")
            sentence, misses = side.sentence(), "; ".join(side.misses)
            if side.allowed or not misses or not sentence.endswith(f"; {misses}"):
                lines.append(Content.assemble("    ", glyph, sentence))
                continue
            # One line per rule that did not admit it: easier to read than the CLI's one sentence.
            lines.append(Content.assemble("    ", glyph, sentence[: -len(misses) - 2]))
            lines += [Content(f"        · {miss}") for miss in side.misses]
    return Content("\n").join(lines)


def _name(endpoint: Endpoint) -> str:
    return endpoint.ref if isinstance(endpoint, Pod) else str(endpoint)
