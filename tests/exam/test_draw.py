"""Drawing an attempt: the curriculum's weights, the same seed the same draw, fresh names."""

from __future__ import annotations

from collections import Counter

from labrunner.exam.draw import Candidate, WORDS, draw_parameters, draw_tasks, draw_value, pattern_problem
from labrunner.lab.model import Draw

BANK = [Candidate(f"{domain}-{n}", domain) for domain, count in
        (("troubleshooting", 10), ("cluster-architecture", 8), ("services-networking", 7), ("workloads-scheduling", 5), ("storage", 4))
        for n in range(count)]


def test_sixteen_tasks_follow_the_domain_weights() -> None:
    drawn = draw_tasks(BANK, 16, seed=1)
    counts = Counter(task.rsplit("-", 1)[0] for task in drawn.ids)
    # 16 x (30, 25, 20, 15, 10) % = 4.8, 4.0, 3.2, 2.4, 1.6: largest remainders give 5, 4, 3, 2, 2
    assert counts == {"troubleshooting": 5, "cluster-architecture": 4, "services-networking": 3, "workloads-scheduling": 2, "storage": 2}
    assert drawn.missing_weight == {} and len(set(drawn.ids)) == 16


def test_the_same_seed_draws_the_same_tasks_and_another_seed_others() -> None:
    assert draw_tasks(BANK, 16, seed=7) == draw_tasks(BANK, 16, seed=7)
    assert draw_tasks(BANK, 16, seed=7).ids != draw_tasks(BANK, 16, seed=8).ids


def test_a_domain_without_tasks_gives_its_places_away_and_its_weight_is_said() -> None:
    sandbox_only = [c for c in BANK if c.domain != "cluster-architecture"]
    drawn = draw_tasks(sandbox_only, 16, seed=3)
    assert len(drawn.ids) == 16 and not any(t.startswith("cluster-architecture") for t in drawn.ids)
    assert drawn.missing_weight == {"cluster-architecture": 25}
    few = draw_tasks([c for c in BANK if c.domain != "storage" or c.id == "storage-0"], 16, seed=3)
    assert few.missing_weight == {"storage": 5}  # one of its two places: half of its 10 %


def test_domains_can_be_chosen_and_their_weights_renormalised() -> None:
    drawn = draw_tasks(BANK, 5, seed=2, domains=["storage", "troubleshooting"])
    assert Counter(t.rsplit("-", 1)[0] for t in drawn.ids) == {"troubleshooting": 4, "storage": 1}  # 30:10 of 5 is 3.75:1.25


def test_names_are_drawn_per_task_from_the_seed() -> None:
    draws = {"namespace": Draw(pattern="{word}-{hex4}"), "app": Draw(choices=("web", "api", "shop"))}
    first, again, other = draw_parameters("t", draws, 11), draw_parameters("t", draws, 11), draw_parameters("t", draws, 12)
    assert first == again and first != other
    word, digits = first["namespace"].split("-")
    assert word in WORDS and len(digits) == 4 and int(digits, 16) >= 0 and first["app"] in ("web", "api", "shop")
    assert draw_parameters("u", draws, 11) != first  # another task of the same attempt draws its own names


def test_patterns_say_what_is_wrong() -> None:
    assert pattern_problem("{word}-{hex4}") is None
    assert pattern_problem("ns-{hex5}") == "unknown token {hex5} in pattern 'ns-{hex5}'; a pattern may use {word}, {hex4} and {hex6}"
    assert pattern_problem("fixed") == "pattern 'fixed' draws nothing: use {word}, {hex4} or {hex6} (or give choices)"
    import random

    assert len(draw_value(Draw(pattern="{hex6}"), random.Random(1))) == 6


def test_the_review_says_each_failing_check_with_its_own_evidence() -> None:
    from labrunner.checks.result import CheckResult
    from labrunner.exam.grading import _said

    shell = CheckResult("t.shell", "the file names the pod", "failed", "names catalog-db, the workload", ("wants its pod", "(the script exited with 1, expected 0)"))
    assert _said(shell) == "names catalog-db, the workload: wants its pod"
    bare = CheckResult("t.shell", "the file names the pod", "failed", "no file /tmp/x", ("(the script exited with 1, expected 0)",))
    assert _said(bare) == "no file /tmp/x"
    passed = CheckResult("t.shell", "the file names the pod", "passed", "the script's exit code is as expected")
    assert _said(passed) == "the file names the pod"
