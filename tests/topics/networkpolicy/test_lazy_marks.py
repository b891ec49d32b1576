"""Reading YAML fast and composing marks only where a place is named (issue 21):
the data and every file:line:column must be what a full marked parse gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from labrunner import yamlfast, yamlsource
from labrunner.topics.networkpolicy.files import InputError, cluster_from_sources, read_objects
from labrunner.topics.networkpolicy.lint import lint
from tests.conftest import REPO


def _pod(index: int) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"web-{index}", "namespace": "team", "labels": {"app": "web", "on": "yes"}},
            "spec": {"containers": [{"name": "main", "ports": [{"containerPort": 8080, "name": "http"}]}]},
            "status": {"podIP": f"10.0.{index // 200}.{index % 200 + 1}"}}


def _listing(items: list[dict[str, object]]) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}, sort_keys=True)


def test_a_lint_finding_deep_in_a_large_list_names_its_own_line(tmp_path: Path) -> None:
    broken = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deep", "namespace": "team"},
              "spec": {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}]}],
                       "policyTypes": ["Egress"]}}
    text = _listing([_pod(index) for index in range(1500)] + [broken] + [_pod(index) for index in range(1500, 1600)])
    (tmp_path / "cluster.yaml").write_text(text)
    lines = text.splitlines()
    line = next(number for number, content in enumerate(lines, 1) if "192.168.0.0/16" in content)
    assert line > 20_000
    findings = [f for f in lint(read_objects([tmp_path / "cluster.yaml"])) if "not inside cidr" in f.message]
    assert [(f.line, f.column) for f in findings] == [(line, lines[line - 1].index("192.168") + 1)]
    # the same places as a full marked parse gives
    root = yamlsource.parse_all(text)[0].root
    assert root is not None
    node = yamlsource.locate(root, ("items", 1500, "spec", "egress", 0, "to", 0, "ipBlock", "except", 0)).node
    assert (findings[0].line, findings[0].column) == (node.start_mark.line + 1, node.start_mark.column + 1)


def test_an_error_deep_in_a_large_multi_document_file_names_its_line(tmp_path: Path) -> None:
    documents = [yaml.safe_dump(_pod(index), sort_keys=False) for index in range(800)]
    documents[777] = documents[777].replace("podIP: ", "podIP: not-an-ip-")
    text = "---\n" + "---\n".join(documents)
    (tmp_path / "pods.yaml").write_text(text)
    line = next(number for number, content in enumerate(text.splitlines(), 1) if "not-an-ip-" in content)
    with pytest.raises(InputError) as raised:
        cluster_from_sources(read_objects([tmp_path / "pods.yaml"]))
    assert (raised.value.line, raised.value.column) == (line, 10)
    assert str(raised.value).startswith(f"{tmp_path / 'pods.yaml'}:{line}:10: status.podIP")


def test_every_policy_keeps_the_source_a_full_parse_gives(tmp_path: Path) -> None:
    items = [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": f"p{index}", "namespace": "team"},
              "spec": {"podSelector": {"matchLabels": {"app": "web"}}}} for index in range(300)]
    text = "# made by hand\n\n" + _listing(items[:150]) + "---\n" + "---\n".join(yaml.safe_dump(item) for item in items[150:])
    (tmp_path / "policies.yaml").write_text(text)
    cluster, _ = cluster_from_sources(read_objects([tmp_path / "policies.yaml"]))
    full: list[str] = []
    for document in yamlsource.parse_all(text):
        assert document.root is not None
        nodes = yamlsource.locate(document.root, ("items",)).node.value if "items" in document.data else [document.root]
        full += [f"{tmp_path / 'policies.yaml'}:{node.start_mark.line + 1}:{node.start_mark.column + 1}" for node in nodes]
    assert [policy.source for policy in cluster.policies] == full


SAMPLES = [
    "a: 1\nb:\n- x\n- 'it''s'\n- \"q\"\nc: {}\nd: []\ne:\nf: ~\n",
    "on: yes\noff: 0o17\nt: 2024-01-02\nf: 1_000\ng: .inf\nh: 0777\ni: 1:30\nj: -1\nk: -x\n",
    "- a: 1\n  b:\n    c: 2\n-\n  d: 3\n-\n- e\n",
    "items:\n- a: 1\n  l:\n  - 1\n  - 2\n  m: 3\n- b: 2\n",
    "a: 1\na: 2\nb: 3\n",
    "---\n---\na: 1\n---\n# only a comment\n",
    "  a: 1\n  b: 2\n",
    "-   a: 1\n    b: 2\n",
    "url: http://x:80/y\nkey:with:colons: v\nk: a#b\n",
    # outside the fast reader's style: parse_all reads these (and says what is wrong)
    "a: &x 1\nb: *x\n",
    "a: |\n  text\n",
    "a: b\n  c\n",
    "a: 1 # comment\n",
    "a: [1, 2]\n",
    "a:\n\tb: 1\n",
    "a: 1\n b: 2\n",
    "'a': 1\n",
    "a: \"x\\ty\"\n",
    "<<: {a: 1}\n",
    "a: !!int x\n",
    "a: 2024-13-45\n",
    "a: b: c\n",
    "a\n",
    "- - a\n",
    "a: 1\n- b\n",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_the_fast_reader_reads_as_parse_all_or_not_at_all(text: str) -> None:
    _same_as_parse_all(text)


def test_the_fast_reader_reads_the_repository_s_yaml_as_parse_all() -> None:
    read = 0
    for path in sorted([*REPO.glob("assets/**/*.yaml"), *REPO.glob("labs/**/*.yaml"), *REPO.glob("tests/**/*.yaml")]):
        read += _same_as_parse_all(path.read_text(encoding="utf-8"))
    assert read > 5


def _same_as_parse_all(text: str) -> int:
    fast = yamlfast.fast_parse_all(text)
    if fast is None:
        return 0
    full = [document for document in yamlsource.parse_all(text) if document.data is not None]
    assert json.dumps([d.data for d in fast], default=repr) == json.dumps([d.data for d in full], default=repr)
    assert [d.data for d in fast] == [d.data for d in full]
    lines = text.split("\n")
    for fast_document, document in zip(fast, full):
        assert document.root is not None
        for path, span in [((), fast_document.span), *fast_document.parts.items()]:
            node = yamlsource.locate(document.root, path).node
            assert (span.line, span.column) == (node.start_mark.line + 1, node.start_mark.column + 1), path
            composed = yamlfast.compose_span(lines, span)
            assert [(n.start_mark.line, n.start_mark.column) for _, n in yamlsource.scalar_nodes(composed)] == [
                (n.start_mark.line, n.start_mark.column) for _, n in yamlsource.scalar_nodes(node)
            ]
    return 1
