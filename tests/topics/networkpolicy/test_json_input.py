"""`kubectl get -o json` files read with the json module, places composed only where named:
the data json.loads gives, and every file:line:column a full marked parse of the text gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labrunner import jsonfast, yamlsource
from labrunner.topics.networkpolicy.files import InputError, cluster_from_sources, read_objects
from labrunner.topics.networkpolicy.lint import lint
from tests.topics.networkpolicy.test_lazy_marks import _pod

BROKEN = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deep", "namespace": "team"},
          "spec": {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}]}],
                   "policyTypes": ["Egress"]}}


def _listing(items: list[dict[str, object]], indent: int | None = 4) -> str:
    return json.dumps({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}, indent=indent)


@pytest.mark.parametrize("indent", [4, None])  # kubectl's pretty print, and all on one line
def test_a_lint_finding_deep_in_a_json_list_names_the_place_a_full_parse_gives(tmp_path: Path, indent: int | None) -> None:
    text = _listing([_pod(index) for index in range(1200)] + [BROKEN] + [_pod(1200)], indent)
    (tmp_path / "cluster.json").write_text(text)
    objects = read_objects([tmp_path / "cluster.json"])
    assert [obj.data for obj in objects] == json.loads(text)["items"]
    findings = [f for f in lint(objects) if "not inside cidr" in f.message]
    root = yamlsource.parse_all(text)[0].root
    assert root is not None
    node = yamlsource.locate(root, ("items", 1200, "spec", "egress", 0, "to", 0, "ipBlock", "except", 0)).node
    assert [(f.line, f.column) for f in findings] == [(node.start_mark.line + 1, node.start_mark.column + 1)]
    cluster, _ = cluster_from_sources(objects)
    item = yamlsource.locate(root, ("items", 1200)).node
    assert cluster.policies[0].source == f"{tmp_path / 'cluster.json'}:{item.start_mark.line + 1}:{item.start_mark.column + 1}"


def test_an_error_in_a_json_list_names_its_line(tmp_path: Path) -> None:
    pods = [_pod(index) for index in range(500)]
    pods[321]["status"] = {"podIP": "not-an-ip"}
    text = _listing(pods)
    (tmp_path / "pods.json").write_text(text)
    line = next(number for number, content in enumerate(text.splitlines(), 1) if "not-an-ip" in content)
    with pytest.raises(InputError) as raised:
        cluster_from_sources(read_objects([tmp_path / "pods.json"]))
    assert raised.value.line == line and str(raised.value).startswith(f"{tmp_path / 'pods.json'}:{line}:")


def test_json_numbers_are_json_s_and_text_that_is_not_json_is_yaml_s(tmp_path: Path) -> None:
    document = jsonfast.read_json('{"kind": "Pod", "n": 1e3, "s": "x"}')
    assert document is not None and document.data["n"] == 1000.0  # YAML 1.1 would read 1e3 as a string
    assert document.items is None and (document.whole.line, document.whole.column) == (1, 1)
    assert jsonfast.read_json("{kind: Pod}") is None  # YAML's flow style, not JSON
    assert jsonfast.read_json('{"a": 1} {"b": 2}') is None  # two values: the YAML reader words what is wrong
    (tmp_path / "flow.yaml").write_text("{apiVersion: v1, kind: Namespace, metadata: {name: team}}\n")
    assert [obj.data["metadata"]["name"] for obj in read_objects([tmp_path / "flow.yaml"])] == ["team"]
