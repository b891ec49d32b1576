"""The fast diff (over classes of pod groups no policy tells apart) says exactly what the
group-by-group comparison says: the same differences, texts and order, on random worlds."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from labrunner.topics.networkpolicy.diff import diff
from labrunner.topics.networkpolicy.model import Cluster
from labrunner.topics.networkpolicy.parse import policy_from_object
from tests.topics.networkpolicy.diff_oracle import slow_diff
from tests.topics.networkpolicy.test_properties import policy, worlds


@settings(max_examples=150, deadline=None)
@given(worlds(), st.lists(policy, max_size=4))
def test_the_fast_diff_says_what_the_group_by_group_comparison_says(cluster: Cluster, other_objects: list[dict[str, Any]]) -> None:
    for index, item in enumerate(other_objects):
        item["metadata"]["name"] = f"other{index}"
    others = tuple(policy_from_object(item) for item in other_objects)
    for mine, reference in ((cluster.policies, others), (others, cluster.policies)):
        fast, slow = diff(cluster, mine, reference), slow_diff(cluster, mine, reference)
        assert fast == slow
        assert fast.summary(limit=8) == slow.summary(limit=8)
