"""`labrunner netpol` as a script uses it: JSON shapes, exit codes, errors with places."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from labrunner.cli import main
from tests.conftest import REPO

ASSETS = REPO / "assets" / "networkpolicies"

CLUSTER = """\
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: networkdemo}}
- {apiVersion: v1, kind: Pod, metadata: {namespace: networkdemo, name: mysql-0, labels: {app: mysql}}, spec: {containers: [{name: m, ports: [{containerPort: 3306, name: mysql}]}]}, status: {podIP: 10.244.0.5}}
- {apiVersion: v1, kind: Pod, metadata: {namespace: networkdemo, name: web-a, labels: {app: interpoddemo}}, spec: {containers: [{name: w, ports: [{containerPort: 80, name: http}]}]}, status: {podIP: 10.244.0.6}}
- {apiVersion: v1, kind: Pod, metadata: {namespace: networkdemo, name: web-b, labels: {app: interpoddemo}}, spec: {containers: [{name: w, ports: [{containerPort: 80, name: http}]}]}, status: {podIP: 10.244.0.7}}
- {apiVersion: v1, kind: Pod, metadata: {namespace: networkdemo, name: demopod, labels: {run: demopod}}, spec: {containers: [{name: d}]}, status: {podIP: 10.244.0.8}}
"""


def policy_file(folder: Path, name: str) -> Path:
    """A lab reference policy placed in networkdemo."""
    text = (ASSETS / f"{name}.yaml").read_text().replace("metadata:\n", "metadata:\n  namespace: networkdemo\n", 1)
    target = folder / f"{name}.yaml"
    target.write_text(text)
    return target


@pytest.fixture
def world(tmp_path: Path) -> Path:
    (tmp_path / "cluster.yaml").write_text(CLUSTER)
    for name in ("deny-ingress-db", "allow-ingress-db"):
        policy_file(tmp_path, name)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_matrix_json_lists_every_verdict_with_a_reason(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "netpol", "matrix", str(world), "--port", "TCP/3306", "--external", "192.0.2.1", "--json")
    verdicts = json.loads(out)["verdicts"]
    assert code == 0
    assert len(verdicts) == 4 * 3 + 2 * 4 * 1  # ordered pairs of distinct pods, then external <-> pods
    assert set(verdicts[0]) == {"src", "dst", "protocol", "port", "allowed", "reason"}
    by_pair = {(v["src"], v["dst"]): v for v in verdicts}
    assert by_pair[("networkdemo/web-a", "networkdemo/mysql-0")]["allowed"] is True
    assert by_pair[("networkdemo/web-a", "networkdemo/mysql-0")]["reason"] == "ingress allowed by allow-ingress-db rule 1"
    assert by_pair[("networkdemo/demopod", "networkdemo/mysql-0")]["allowed"] is False
    assert by_pair[("192.0.2.1", "networkdemo/mysql-0")]["allowed"] is False
    assert by_pair[("networkdemo/mysql-0", "192.0.2.1")]["allowed"] is True


def test_matrix_summary_counts_without_listing(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "netpol", "matrix", str(world), "--port", "TCP/3306", "--port", "TCP/80", "--summary")
    assert json.loads(out) == {"pods": 4, "externals": 0, "groups": 3, "ports": 2, "verdicts": 24, "allowed": 20}


def test_matrix_text_groups_alike_pods(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "netpol", "matrix", str(world), "--port", "TCP/3306")
    assert "networkdemo/web-a, networkdemo/web-b  (app=interpoddemo)" in out
    assert "TCP 3306" in out and "✗" in out and "✓" in out


def test_explain_says_why_and_exits_1_when_denied(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "netpol", "explain", str(world), "--from", "networkdemo/demopod", "--to", "networkdemo/mysql-0", "--port", "TCP/3306")
    assert code == 1
    assert "allow-ingress-db rule 1 admits pods app=interpoddemo on TCP 3306, but demopod has run=demopod" in out
    code, out, _ = run(capsys, "netpol", "explain", str(world), "--from", "networkdemo/web-a", "--to", "networkdemo/mysql-0", "--port", "TCP/3306", "--json")
    data = json.loads(out)
    assert code == 0 and data["allowed"] is True
    assert data["ingress"]["admitted_by"] == {"policy": "networkdemo/allow-ingress-db", "rule": 1, "peer": 1, "port": 1}
    assert sorted(data["ingress"]["isolated_by"]) == ["networkdemo/allow-ingress-db", "networkdemo/deny-ingress-db"]


def test_explain_unknown_pod_suggests(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "netpol", "explain", str(world), "--from", "networkdemo/demopd", "--to", "networkdemo/mysql-0", "--port", "TCP/3306")
    assert code == 2 and "no pod 'networkdemo/demopd'; did you mean networkdemo/demopod?" in err


def test_diff_accepts_an_equivalent_policy_and_explains_a_wrong_one(world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "db.yaml").write_text(textwrap.dedent("""\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: only-web-to-db, namespace: networkdemo}
        spec:
          podSelector: {matchExpressions: [{key: app, operator: In, values: [mysql]}]}
          ingress:
          - from: [{podSelector: {matchLabels: {app: interpoddemo}}}]
            ports: [{protocol: TCP, port: 3306}]
        """))
    reference = [str(world / "deny-ingress-db.yaml"), str(world / "allow-ingress-db.yaml")]
    code, out, _ = run(capsys, "netpol", "diff", "--mine", str(world / "cluster.yaml"), str(mine), "--reference", *reference)
    assert code == 0 and out.startswith("Same meaning")
    (mine / "db.yaml").write_text((mine / "db.yaml").read_text().replace("{matchLabels: {app: interpoddemo}}", "{}"))
    code, out, _ = run(capsys, "netpol", "diff", "--mine", str(world / "cluster.yaml"), str(mine), "--reference", *reference, "--json")
    data = json.loads(out)
    assert code == 1 and data["same"] is False
    assert "yours also allows networkdemo/demopod -> networkdemo/mysql-0 on TCP 3306" in data["summary"]
    # Why, before the connections: the field responsible, with its place in the file.
    [mistake] = data["mistakes"]
    assert mistake["policy"] == "only-web-to-db" and mistake["field"] == "spec.ingress.0.from.0.podSelector"
    assert mistake["where"] == f"{mine / 'db.yaml'}:7:26"
    assert mistake["sentence"] == (f"only-web-to-db's ingress rule 1 allows from podSelector {{}} ({mine / 'db.yaml'}:7:26); "
                                   "the reference allows app=interpoddemo")
    code, out, _ = run(capsys, "netpol", "diff", "--mine", str(world / "cluster.yaml"), str(mine), "--reference", *reference)
    assert code == 1 and out.startswith(f"Why:\n  - {mistake['sentence']}\nDifferent meaning:\n")


def test_lint_exit_codes(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "netpol", "lint", str(ASSETS / "ingress-egress-policy-broken.yaml"))
    assert code == 1 and "The manifest most likely meant:" in out
    code, out, _ = run(capsys, "netpol", "lint", "--json", str(world))
    assert code == 0 and json.loads(out) == {"findings": []}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kind: NetworkPolicy\nmetadata: {name: x}\nspec:\n  podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/33}}]\n",
         "bad.yaml:6:29: spec.ingress[0].from[0].ipBlock.cidr: '10.0.0.0/33' is not a valid CIDR"),
        ("kind: Deployment\nmetadata: {name: x}\n", "bad.yaml:1:7: kind 'Deployment' is not one the engine reads"),
        ("kind: NetworkPolicy\n  metadata: x\n", "bad.yaml:2:11: YAML syntax error"),
        ("kind: NetworkPolicy\nmetadata: {name: x}\nspec:\n  podSelector:\n    matchExpressions: [{key: a, operator: Has}]\n",
         "bad.yaml:5:43: spec.podSelector.matchExpressions[0].operator: unknown operator 'Has'"),
    ],
)
def test_bad_input_names_file_and_line_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    code, out, err = run(capsys, "netpol", "matrix", str(tmp_path / "bad.yaml"))
    assert code == 2 and out == ""
    assert expected in err and "Traceback" not in err


def test_diff_of_a_policy_right_only_for_todays_pods(world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Selecting "not demopod" instead of "app=interpoddemo" is right for today's pods only."""
    mine = tmp_path / "mine.yaml"
    mine.write_text(textwrap.dedent("""\
        kind: NetworkPolicy
        metadata: {name: db, namespace: networkdemo}
        spec:
          podSelector: {matchLabels: {app: mysql}}
          ingress:
          - from: [{podSelector: {matchExpressions: [{key: run, operator: DoesNotExist}]}}]
            ports: [{port: 3306}]
        """))
    reference = [str(world / "deny-ingress-db.yaml"), str(world / "allow-ingress-db.yaml")]
    code, out, _ = run(capsys, "netpol", "diff", "--mine", str(world / "cluster.yaml"), str(mine), "--reference", *reference)
    assert code == 1
    assert "(a pod that does not exist yet, but could)" in out
    assert "networkdemo/demopod" not in out  # today's pods behave the same


def test_an_unexpected_error_is_one_line_and_a_crash_log(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import labrunner.topics.networkpolicy.cli as netpol_cli

    def broken(arguments: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(netpol_cli, "lint", broken)
    code, out, err = run(capsys, "netpol", "lint", str(ASSETS))
    assert code == 3 and out == ""
    assert err.startswith("labrunner: error: internal error: RuntimeError: boom\nlabrunner: hint: this is a bug in labrunner; details in ")
    log = Path(err.rsplit("details in ", 1)[1].strip())
    assert "Traceback" in log.read_text() and "Traceback" not in err
