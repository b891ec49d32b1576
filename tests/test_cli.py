"""The headless CLI as a script or a screen reader uses it: stdout, stderr, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from labrunner.cli import main
from labrunner.lab.loader import load_lab
from tests.conftest import REPO
from tests.test_lab_file_errors import SECOND_STEP, VALID


@pytest.fixture
def demo_labs(lab_tree: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    lab_dir = lab_tree(VALID + SECOND_STEP)
    monkeypatch.setenv("LABRUNNER_LABS_PATH", str(lab_dir.parent))
    return lab_dir


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_groups_labs_by_cka_domain_heaviest_first_with_progress(demo_labs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from labrunner.paths import state_dir
    from labrunner.session.progress import Progress, ProgressKey

    code, out, err = run(capsys, "list", "--sandbox")
    assert code == 0
    lines = out.splitlines()
    headings = [line for line in lines if line and not line.startswith(" ") and "% of the CKA" in line]
    assert [heading.split(" · ")[:2] for heading in headings] == [
        ["Troubleshooting", "30 % of the CKA"], ["Cluster Architecture, Installation and Configuration", "25 % of the CKA"],
        ["Services and Networking", "20 % of the CKA"], ["Workloads and Scheduling", "15 % of the CKA"], ["Storage", "10 % of the CKA"]]
    [row] = [line for line in lines if line.startswith("  demo ")]
    under = max(index for index, line in enumerate(lines) if line in headings and index < lines.index(row))
    assert lines[under].startswith("Services and Networking")  # the demo lab's first tag
    assert row.split()[:3] == ["demo", "Demo", "lab"] and "~10 min" in row and "0/2 done" in row
    assert lines[-1].startswith("Progress on labrunner-sandbox.")

    progress = Progress(state_dir() / "progress.sqlite3")
    progress.record(ProgressKey("demo", "labrunner-sandbox"), "one", "passed", [])
    progress.close()
    _, out, _ = run(capsys, "list", "--sandbox")
    assert "1/2 done" in next(line for line in out.splitlines() if line.startswith("  demo "))
    heading = next(line for line in out.splitlines() if line.startswith("Services and Networking"))
    labs = json.loads(run(capsys, "list", "--json")[1])
    networking = [lab for lab in labs if lab.get("domain") == "services-networking"]
    steps, done = sum(lab["steps"] for lab in networking), sum(lab["passed"] for lab in networking)
    assert done == 1 and heading.endswith(f"{len(networking)} labs, 1 of {steps} steps done")


def test_list_json_is_data_only(demo_labs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "list", "--json")
    assert code == 0 and err == ""
    [lab] = [lab for lab in json.loads(out) if lab["id"] == "demo"]
    assert lab["id"] == "demo" and lab["steps"] == 2 and lab["valid"] is True
    assert lab["parameters"]["namespace"]["value"] == "demo"
    assert lab["domain"] == "services-networking" and lab["passed"] == 0


def test_a_broken_lab_is_listed_as_invalid_with_a_pointer(
    lab_tree: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lab_dir = lab_tree(VALID.replace("level: beginner", "level: expert"))
    monkeypatch.setenv("LABRUNNER_LABS_PATH", str(lab_dir.parent))
    code, out, err = run(capsys, "list", "--json")
    [lab] = [lab for lab in json.loads(out) if lab["id"] == "demo"]
    assert lab["valid"] is False and lab["problems"][0]["line"] == 5 and lab["problems"][0]["field"] == "level"
    assert "labrunner validate" in err


def test_show_step_piped_is_markdown_with_parameters_filled(demo_labs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "demo", "one")
    assert code == 0
    assert "Create demo." in out  # the Markdown, {{namespace}} filled in
    assert "```sh\n# creates the namespace\nkubectl create namespace demo\n```" in out
    assert "- the namespace demo is Active" in out
    assert "kubectl apply" not in out  # the solution stays hidden unless asked for


def test_show_with_a_parameter_renames_the_namespace_everywhere(demo_labs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "demo", "0", "--json", "--solution", "-p", "namespace=alice-demo")
    step = json.loads(out)
    assert code == 0
    assert step["instructions"] == "# One\n\nCreate alice-demo.\n"
    assert step["commands"][0]["run"] == "kubectl create namespace alice-demo"
    assert step["checks"][0]["args"] == {"name": "alice-demo"}
    assert step["solution"][1]["action"] == "apply"
    assert step["solution"][1]["target"].endswith("assets/demo/policy.yaml")


def test_show_rejects_a_bad_parameter_value(demo_labs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "show", "demo", "-p", "namespace=Alice")
    assert code == 1 and out == ""
    assert "parameters.namespace: 'Alice' is not a valid namespace name" in err


def test_show_unknown_lab_and_step(demo_labs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "show", "dmeo")
    assert code == 2 and "labrunner: error: no lab 'dmeo' (did you mean 'demo'?)" in err
    code, _, err = run(capsys, "show", "demo", "seven")
    assert code == 2 and "lab 'demo' has no step 'seven'; steps are 0-1: one, two" in err


def test_hint_levels(demo_labs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "hint", "demo", "one", "--json")
    assert json.loads(out) == {"lab": "demo", "step": "one", "hints": ["Namespaces are cluster-scoped."], "total": 1, "last_check": None}
    code, out, _ = run(capsys, "hint", "demo", "one")
    assert "Hint 1 of 1" in out and "labrunner show demo one --solution" in out


def test_validate_exit_codes(lab_tree: Callable[..., Path], tmp_path: Path, in_tmp_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab_dir = lab_tree(VALID)
    code, out, err = run(capsys, "validate", str(lab_dir))
    assert (code, out) == (0, "") and "valid (1 steps)" in err
    (lab_dir / "lab.yaml").write_text(VALID.replace("minutes: 10", "minutes: ten"))
    code, out, err = run(capsys, "validate", "labs")
    assert code == 1
    assert out == "labs/demo/lab.yaml:4:10: minutes: expected a whole number, got the text 'ten'\n"
    code, _, err = run(capsys, "validate", "nowhere")
    assert code == 2 and "nowhere: no such lab folder" in err


def test_validate_json(lab_tree: Callable[..., Path], in_tmp_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab_dir = lab_tree(VALID.replace("kind: namespace-active", "kind: namespace-activ"))
    code, out, _ = run(capsys, "validate", "--json", str(lab_dir / "lab.yaml"))
    [result] = json.loads(out)
    assert code == 1 and result["valid"] is False
    assert result["problems"] == [
        {
            "file": "labs/demo/lab.yaml",
            "line": 25,
            "column": 15,
            "field": "steps[0].checks[0].kind",
            "message": "unknown check kind 'namespace-activ' (did you mean 'namespace-active'?)",
        }
    ]


def test_doctor_reports_kubectls_choice_of_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: Config
        current-context: ctx-a
        contexts: [{name: ctx-a, context: {cluster: c-a, user: u-a, namespace: team-a}}]
        clusters: [{name: c-a, cluster: {server: "https://127.0.0.1:6443"}}]
        users: [{name: u-a, user: {exec: {command: no-such-login-plugin, apiVersion: client.authentication.k8s.io/v1, installHint: "install no-such-login-plugin"}}}]
        """))
    second.write_text("current-context: ctx-b\ncontexts: [{name: ctx-b, context: {cluster: c-a, user: u-a}}]\n")
    monkeypatch.setenv("KUBECONFIG", f"{first}:{second}")
    code, out, _ = run(capsys, "doctor", "--json")
    kube = json.loads(out)["kubeconfig"]
    assert code == 0
    assert (kube["context"], kube["context_from"]) == ("ctx-a", str(first))
    assert kube["server"] == "https://127.0.0.1:6443"
    assert (kube["namespace"], kube["namespace_from"]) == ("team-a", "context ctx-a")
    assert kube["exec_plugin"] == {"command": "no-such-login-plugin", "found": False, "install_hint": "install no-such-login-plugin"}
    code, out, _ = run(capsys, "doctor")
    assert "exec plugin no-such-login-plugin (NOT FOUND: logins will fail)" in out


def test_doctor_without_kubeconfig_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "doctor")
    assert code == 0
    assert "context     none: no kubeconfig sets current-context" in out


def test_python_dash_m_and_bare_command(demo_labs: Path) -> None:
    completed = subprocess.run([sys.executable, "-m", "labrunner"], capture_output=True, text=True, check=False)
    assert completed.returncode == 0
    assert any(line.startswith("  demo ") for line in completed.stdout.splitlines())


def test_broken_pipe_is_quiet(demo_labs: Path) -> None:
    script = "import sys; from labrunner.cli import main; sys.exit(main(['schema']))"
    completed = subprocess.run(
        f"{sys.executable} -c \"{script}\" | head -c 10", shell=True, capture_output=True, text=True, check=False
    )
    assert completed.stderr == ""


def test_hints_are_revealed_one_more_each_time_and_remembered(capsys: pytest.CaptureFixture[str]) -> None:
    total = len(load_lab(REPO / "labs" / "networkpolicies").step("deploy-mysql").hints)
    assert total >= 2
    seen = []
    for _ in range(total + 1):
        code, out, _ = run(capsys, "hint", "networkpolicies", "deploy-mysql", "--json")
        seen.append(len(json.loads(out)["hints"]))
    assert seen == [*range(1, total + 1), total]
    code, out, _ = run(capsys, "hint", "networkpolicies", "deploy-mysql", "--level", "1")
    assert f"**Hint 1 of {total}.**" in out and f"**Hint 2 of {total}.**" not in out and "deploy-mysql --level 2" in out
    code, out, _ = run(capsys, "hint", "networkpolicies", "deploy-mysql")
    assert f"Hint {total} of {total}" in out and "No more hints" in out


def test_commands_that_change_a_cluster_refuse_a_production_looking_current_context(tmp_path: Path,
                                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: prod-eu\n"
                          "contexts: [{name: prod-eu, context: {cluster: prod-eu, user: u}}]\n"
                          "clusters: [{name: prod-eu, cluster: {server: 'https://api.prod.example.com'}}]\n"
                          "users: [{name: u, user: {token: t}}]\n")
    for command in (["solve", "networkpolicies", "create-namespace"], ["reset", "networkpolicies"], ["selftest", "networkpolicies"]):
        code, out, err = run(capsys, *command, "--kubeconfig", str(kubeconfig))
        assert code == 2 and out == ""
        assert "not changing the current context: the context 'prod-eu' says prod" in err
        assert "--context prod-eu" in err


def test_progress_is_kept_per_lab_instance(capsys: pytest.CaptureFixture[str]) -> None:
    from labrunner.session.progress import Progress, ProgressKey

    assert load_lab(REPO / "labs" / "networkpolicies").instance_key == "networkpolicies"
    alice = load_lab(REPO / "labs" / "networkpolicies", {"namespace": "alice-np"})
    assert alice.instance_key == "networkpolicies[namespace=alice-np]"
    Progress.default().record(ProgressKey(alice.instance_key, "labrunner-sandbox"), "preflight", "passed", [])
    code, out, _ = run(capsys, "status", "networkpolicies", "--sandbox", "-p", "namespace=alice-np", "--json")
    assert code == 0 and json.loads(out)["passed"] == 1
    code, out, _ = run(capsys, "status", "networkpolicies", "--sandbox", "--json")
    assert code == 0 and json.loads(out)["passed"] == 0


def test_check_json_without_a_usable_kubeconfig_still_prints_the_document(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A grader reads stdout: with no kubeconfig, or one pointing at a closed port, it still gets
    the usual document, every check an error with the reason, and exit 2."""
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    closed = tmp_path / "closed.kubeconfig"
    closed.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}}}]
users: [{{name: u, user: {{token: x}}}}]
contexts: [{{name: closed, context: {{cluster: c, user: u}}}}]
current-context: closed
""")
    for kubeconfig, said in ((tmp_path / "nonexistent", "no kubeconfig found"), (closed, "was refused")):
        code, out, err = run(capsys, "check", "networkpolicies", "1", "--json", "--kubeconfig", str(kubeconfig))
        document = json.loads(out)
        assert code == 2 and document["status"] == "error" and document["step"] == "create-namespace"
        assert document["checks"] and all(c["status"] == "error" and said in c["message"] for c in document["checks"])
        code, out, err = run(capsys, "check", "networkpolicies", "--all", "--json", "--kubeconfig", str(kubeconfig))
        graded = json.loads(out)
        assert code == 2 and (graded["status"], graded["passed"], graded["total"]) == ("error", 0, 20)
        assert all(s["status"] == "error" and all(said in c["message"] for c in s["checks"] if c["status"] == "error")
                   for s in graded["steps"] if s["step"] != "preflight")
    code, out, err = run(capsys, "check", "networkpolicies", "99", "--json", "--kubeconfig", str(tmp_path / "nonexistent"))
    assert code == 2 and out == "" and "has no step '99'" in err  # a wrong step is a usage error, not a document
    code, out, err = run(capsys, "check", "networkpolicies", "1", "--all", "--json", "--kubeconfig", str(tmp_path / "nonexistent"))
    assert code == 2 and out == "" and "give a STEP, or --all" in err


def test_doctor_names_a_current_context_the_kubeconfig_lacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config"
    config.write_text("apiVersion: v1\nkind: Config\ncurrent-context: nope\n"
                      "contexts: [{name: real, context: {cluster: c, user: u}}]\n"
                      "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: x}}]\n")
    monkeypatch.setenv("KUBECONFIG", str(config))
    code, out, _ = run(capsys, "doctor")
    assert code == 1
    assert "PROBLEM     context was not found for specified context: nope" in out and "cluster     None" not in out
    code, out, err = run(capsys, "check", "networkpolicies", "1", "--json")
    assert code == 2 and json.loads(out)["status"] == "error"  # not the sandbox, silently: the kubeconfig is broken
    assert "context was not found for specified context: nope" in err
