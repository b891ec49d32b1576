"""The workshop's pure parts: names, records as ConfigMap data, who is stuck, grouping learners by
the reason their check fails, sizing, objects and kubeconfigs. No cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from labrunner.workshop import names, objects
from labrunner.workshop.kubeconfigs import Handout, kubeconfig, sheet, text, workshop_context
from labrunner.workshop.records import (ProgressRecord, StepClaim, Verification, Verified, WorkshopRecord, LearnerEntry,
                                        parse_stamp, source_of, stamp)
from labrunner.workshop.sizing import FLOOR, images_in, size_for
from labrunner.workshop.stuck import Seen, group_by_reason, normalise, reasons, room_reasons, slow_threshold, stuck_first

T = 1_700_000_000.0


# -- names ------------------------------------------------------------------------------------


def test_learners_are_numbered_with_two_digits_then_three() -> None:
    assert names.numbered(3) == ["01", "02", "03"]
    assert names.numbered(100)[0] == "001" and names.numbered(100)[-1] == "100"


def test_a_roster_gives_dns_label_ids_kept_unique_and_the_names_as_written() -> None:
    learners = names.roster("name\nAda Lovelace\n\n# absent\nGrace Hopper, grace@example.org\nada lovelace\n")
    assert [(l.id, l.name) for l in learners] == [("ada-lovelace", "Ada Lovelace"), ("grace-hopper", "Grace Hopper"),
                                                  ("ada-lovelace-2", "ada lovelace")]
    with pytest.raises(names.BadName, match="names nobody"):
        names.roster("# nobody\n")
    with pytest.raises(names.BadName, match="no letter or digit"):
        names.roster("!!!\n")


def test_a_learner_s_namespaces_are_stable_dns_labels_even_when_long() -> None:
    assert names.learner_parameters("kcd", "07", [("namespace", "namespace", "networkdemo"), ("node", "name", "worker")]) == {
        "namespace": "kcd-07-networkdemo", "node": "worker"}
    long = names.lab_namespace("a" * 20, "b" * 20, "c" * 40)
    assert len(long) <= 63 and long == names.lab_namespace("a" * 20, "b" * 20, "c" * 40)
    assert long != names.lab_namespace("a" * 20, "b" * 20, "c" * 39 + "d")


def test_workshop_names_are_short_dns_labels_and_learners_are_found_by_number() -> None:
    assert names.check_workshop("kcd-paris") == "kcd-paris"
    for bad in ("KCD", "-x", "a" * 21, "a_b"):
        with pytest.raises(names.BadName):
            names.check_workshop(bad)
    assert names.learner_of(["01", "02"], "2") == "02"
    with pytest.raises(names.BadName, match="no learner '9'"):
        names.learner_of(["01", "02"], "9")


# -- records -----------------------------------------------------------------------------------------


def test_a_progress_record_reads_back_as_written_and_small() -> None:
    record = (ProgressRecord(lab="np[namespace=kcd-01-np]", learner="01")
              .with_move("a", T).with_result("a", "passed", [{"id": "x", "status": "passed"}], T + 60)
              .with_move("b", T + 61).with_result("b", "failed", [{"id": "ok", "status": "passed"},
                                                                  {"id": "pol", "status": "failed", "message": "no  pod\nhas app=web"}], T + 90)
              .with_hints("b", 2, T + 91).with_setup("b", T + 91).with_hand(True, T + 95))
    data = record.encode()
    assert all(isinstance(v, str) for v in data.values())
    assert data["current"] == "b" and data["raised-hand"] == "true" and data["current-since"] == stamp(T + 61)
    assert ProgressRecord.decode(data) == record
    assert record.steps["b"] == StepClaim("failed", T + 90, T + 61, "pol", "no pod has app=web", 1)
    assert len(str(data)) < 800


def test_the_same_failure_counts_up_and_a_different_one_starts_again() -> None:
    record = ProgressRecord()
    failing = [{"id": "c", "status": "failed", "message": "selector matches no pod"}]
    for _ in range(3):
        record = record.with_result("s", "failed", failing, T)
    assert record.steps["s"].repeats == 3
    record = record.with_result("s", "failed", [{"id": "c", "status": "failed", "message": "another"}], T)
    assert record.steps["s"].repeats == 1
    assert record.with_result("s", "passed", [], T).steps["s"].repeats == 0


def test_a_mangled_record_reads_as_what_can_be_understood() -> None:
    decoded = ProgressRecord.decode({"steps": "{not json", "current": "a", "epoch": "x", "hints": '{"a": "two", "b": 1}',
                                     "raised-hand": "yes"})
    assert decoded.current == "a" and decoded.steps == {} and decoded.epoch == 0 and decoded.hints == {"b": 1}
    assert not decoded.raised_hand
    assert ProgressRecord.decode(None) == ProgressRecord()


def test_the_instructor_s_reset_moves_the_epoch_and_forgets_later_steps() -> None:
    record = ProgressRecord().with_move("a", T).with_result("a", "passed", [], T).with_move("b", T).with_result("b", "failed", [], T)
    back = record.with_hand(True, T).reset_to("a", ["a", "b"], T + 5)
    assert back.epoch == 1 and back.current == "a" and back.steps["a"].status is None and "b" not in back.steps
    assert not back.raised_hand
    whole = record.reset_to(None, [], T + 5)
    assert whole.current is None and whole.steps == {} and whole.epoch == 1


def test_a_result_is_verified_disputed_or_self_reported() -> None:
    claim = StepClaim("passed", T, T - 10)
    assert source_of(claim, None) == "self-reported"
    assert source_of(claim, Verified("passed", T + 1)) == "verified"
    assert source_of(claim, Verified("failed", T + 1)) == "disputed"
    assert source_of(claim, Verified("passed", T - 1)) == "self-reported"  # claimed again since
    assert Verification.decode(Verification({"a": Verified("failed", T, "prerequisites", "m", "passed", T)}, "admin").encode()) == \
        Verification({"a": Verified("failed", T, "prerequisites", "m", "passed", T)}, "admin")


def test_the_workshop_record_keeps_learners_timer_and_the_last_announcements() -> None:
    record = WorkshopRecord("kcd", "np", {"01": LearnerEntry("01", "Ada", {"namespace": "kcd-01-np"}, ("kcd-01-np",))}, ends=T + 3600)
    record = record.with_timer(20, "steps 9-12", T)
    for number in range(25):
        record = record.announcing(f"note {number}", T + number)
    again = WorkshopRecord.decode(record.encode())
    assert again == record
    assert again.timer is not None and again.timer.left(T + 60) == 19 * 60
    assert len(again.announcements) == 20 and again.announcements[-1].text == "note 24"


def test_times_read_with_offsets_and_fractions() -> None:
    assert parse_stamp("2025-01-01T00:00:00Z") == parse_stamp("2025-01-01T01:00:00+01:00")
    assert parse_stamp("2025-01-01T00:00:00.500000Z") == parse_stamp("2025-01-01T00:00:00Z") + 0.5  # type: ignore[operator]
    assert parse_stamp("yesterday") is None and parse_stamp(None) is None


# -- who is stuck --------------------------------------------------------------------------------------


def learner(ident: str, *, on: str = "s", since: float = T, passed: dict[str, tuple[float, float]] | None = None,
            failure: tuple[str, str, int] | None = None, hand: bool = False, heartbeat: float | None = T + 1000,
            parameters: dict[str, str] | None = None) -> Seen:
    steps = {step: StepClaim("passed", at, entered) for step, (entered, at) in (passed or {}).items()}
    if failure is not None:
        steps[on] = StepClaim("failed", since + 1, since, failure[0], failure[1], failure[2])
    else:
        steps.setdefault(on, StepClaim(None, None, since))
    return Seen(ident, ProgressRecord(current=on, current_since=since, steps=steps, raised_hand=hand), heartbeat, parameters)


def test_slow_is_over_twice_the_room_s_median_and_at_least_the_estimate() -> None:
    assert slow_threshold([60, 120, 600], estimate=100) == 240
    assert slow_threshold([10, 20], estimate=100) == 100  # the author's estimate is the floor
    assert slow_threshold([], estimate=100) == 200  # nobody through yet: twice the estimate
    now = T + 1000
    room = [learner(str(n), on="t", since=now - 100, passed={"s": (T, T + 60)}) for n in range(3)]
    room.append(learner("late", on="s", since=now - 300))
    found = room_reasons(room, now, estimate=60)
    # s: three passed it in 60 s, so the limit is max(2 x 60, 60) = 120 s; late has spent 300 s there
    assert [r.kind for r in found["late"]] == ["slow"] and "5 min on s (the room's limit: 2 min)" in found["late"][0].text
    # t: nobody passed it yet, so the limit is twice the estimate (120 s); 100 s is not slow
    assert found["0"] == []
    assert room_reasons(room, now, estimate=600)["late"] == []  # the author's estimate is the floor


def test_repeating_hand_and_offline_are_reasons_too_and_sort_first() -> None:
    now = T + 100
    room = [learner("ok", since=now - 10), learner("rep", since=now - 10, failure=("c", "no pod has app=web", 3)),
            learner("hand", since=now - 10, hand=True), learner("gone", since=now - 10, heartbeat=now - 200),
            learner("never", since=now - 10, heartbeat=None)]
    found = {ident: [r.kind for r in reasons(s, now, {}, estimate=600)] for ident, s in ((s.id, s) for s in room)}
    assert found == {"ok": [], "rep": ["repeating"], "hand": ["hand"], "gone": ["offline"], "never": ["offline"]}
    order = [s.id for s in stuck_first(room, {s.id: reasons(s, now, {}, estimate=600) for s in room})]
    assert order == ["hand", "rep", "gone", "never", "ok"]


def test_learners_are_grouped_by_the_reason_their_check_fails_without_their_own_names() -> None:
    room = [
        learner("01", failure=("policy", "the policy selects app=web in kcd-01-np and no pod has it (web-7d4b9c8f6-x2k9p)", 1),
                parameters={"namespace": "kcd-01-np"}),
        learner("02", failure=("policy", "the policy selects app=web in kcd-02-np and no pod has it (web-5c9f8d7b6-q8z4r)", 2),
                parameters={"namespace": "kcd-02-np"}),
        learner("03", failure=("probe", "wget 10.244.1.7:80 timed out after 3s", 1), parameters={"namespace": "kcd-03-np"}),
        learner("04", on="other", parameters={"namespace": "kcd-04-np"}),
    ]
    groups = group_by_reason(room)
    assert [(g.step, g.check, g.reason, g.learners) for g in groups] == [
        ("s", "policy", "the policy selects app=web in {{namespace}} and no pod has it (web-…)", ("01", "02")),
        ("s", "probe", "wget <address> timed out after <time>", ("03",)),
    ]
    assert group_by_reason(room, at_least=2)[0].learners == ("01", "02") and len(group_by_reason(room, at_least=2)) == 1


def test_normalising_keeps_words_that_only_look_like_suffixes() -> None:
    assert normalise("service backend-https has no endpoints") == "service backend-https has no endpoints"
    assert normalise("pod job-x7g2q failed") == "pod job-… failed"


# -- sizing, objects, kubeconfigs ----------------------------------------------------------------------------


def test_the_quota_follows_what_the_lab_asks_for_and_never_refuses_a_lesson() -> None:
    assert size_for([]) == FLOOR
    pending = "kind: Deployment\nspec:\n  replicas: 30\n  template:\n    spec:\n      containers:\n      - resources:\n          requests: {cpu: 64, memory: 512Gi}\n"
    sizing = size_for([pending, "kubectl create deployment web --replicas=4"])
    assert sizing.container_cpu_millis == 128_000 and sizing.cpu_millis == 256_000  # one pod that waits for a node fits
    assert sizing.memory_mib == 4 * 512 * 1024
    assert sizing.pods == 2 * 34 + 5
    assert "max" not in sizing.limits()[0]  # a max would default every container's limits


def test_images_are_read_from_manifests_and_commands() -> None:
    assert images_in(["image: nginx:1.27\n", "kubectl run t --image=busybox:1.36 --", "image: {{image}}", "image: nginx:1.27"]) == [
        "nginx:1.27", "busybox:1.36"]


def test_a_quota_the_server_rewrote_is_not_a_difference() -> None:
    wanted = objects.quota("kcd", "01", "ns", FLOOR)
    found = {"metadata": {"labels": objects.labels("kcd", "01")}, "spec": {"hard": {**FLOOR.quota(), "requests.cpu": "4", "requests.memory": "8Gi"}}}
    assert not objects.differs(wanted, found)
    found["spec"]["hard"]["pods"] = "10"
    assert objects.differs(wanted, found)


def test_a_learner_may_write_only_their_own_records() -> None:
    rules = objects.records_role("kcd", "07")["rules"]
    assert {(r["resources"][0], tuple(r["resourceNames"]), tuple(r["verbs"])) for r in rules} == {
        ("configmaps", ("progress-07",), ("get", "update", "patch")),
        ("leases", ("heartbeat-07",), ("get", "update", "patch")),
        ("configmaps", ("workshop",), ("get", "watch")),
    }
    assert objects.service_account("kcd", "07")["metadata"]["namespace"] == "labrunner-ws-kcd"
    assert objects.token_secret("kcd", "07")["type"] == "Opaque"


def test_the_kubeconfig_is_written_as_kubectl_writes_one(tmp_path: Path) -> None:
    document = kubeconfig("kcd", "07", {"server": "https://10.0.0.1:6443", "certificate-authority-data": "Q0E="}, "tok",
                          "kcd-07-np", "networkpolicies", {"namespace": "kcd-07-np"})
    written = text(document)
    assert written.startswith("apiVersion: v1\nclusters:\n- cluster:\n")
    assert written.index("contexts:") < written.index("current-context:") < written.index("kind: Config") < written.index("users:")
    context = yaml.safe_load(written)["contexts"][0]["context"]
    assert context["namespace"] == "kcd-07-np"
    assert context["extensions"] == [{"name": "labrunner.dev/workshop", "extension": {
        "workshop": "kcd", "learner": "07", "namespace": "kcd-07-np", "recordsNamespace": "labrunner-ws-kcd",
        "lab": "networkpolicies", "parameters": {"namespace": "kcd-07-np"}}}]
    page = sheet("kcd", "networkpolicies", "https://10.0.0.1:6443",
                 [Handout("07", "Ada", tmp_path / "learner-07.yaml", "kcd-07-np", "kcd-07", "2025-01-01T12:00:00Z")])
    assert "| 07 | Ada | `learner-07.yaml` | `kcd-07-np` | 2025-01-01T12:00:00Z | `labrunner tui --kubeconfig learner-07.yaml` |" in page


def test_a_learner_s_context_is_recognised_from_its_extension(tmp_path: Path) -> None:
    document = kubeconfig("kcd", "07", {"server": "https://10.0.0.1:6443"}, "tok", "kcd-07-np", "networkpolicies", {"namespace": "kcd-07-np"})
    learner = tmp_path / "learner-07.yaml"
    learner.write_text(text(document))
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"current-context": "home", "contexts": [{"name": "home", "context": {"cluster": "c"}}]}))
    found = workshop_context([learner])
    assert found is not None and (found.workshop, found.learner, found.namespace, found.records_namespace, found.lab) == (
        "kcd", "07", "kcd-07-np", "labrunner-ws-kcd", "networkpolicies")
    assert found.parameters == {"namespace": "kcd-07-np"}
    assert workshop_context([other, learner]) is None  # kubectl's current context is the first file's
    assert workshop_context([other, learner], "kcd-07") == found


def test_a_first_check_puts_the_learner_on_that_step() -> None:
    record = ProgressRecord().with_result("a", "failed", [{"id": "c", "status": "failed", "message": "m"}], T)
    assert record.current == "a" and record.current_since == T and record.steps["a"].entered == T
