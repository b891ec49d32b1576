"""The five domains of the CKA curriculum (CNCF, v1.32 to v1.35, exams from 2025-02-18): the ids
labs use as tags, the names the curriculum gives them, and their weights in the exam.

Pure data with no imports: ``labrunner list`` groups labs by domain without loading pydantic,
and exam mode draws tasks by these weights.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Domain:
    id: str
    title: str
    weight: int
    """Per cent of the exam's points."""


DOMAINS = (
    Domain("troubleshooting", "Troubleshooting", 30),
    Domain("cluster-architecture", "Cluster Architecture, Installation and Configuration", 25),
    Domain("services-networking", "Services and Networking", 20),
    Domain("workloads-scheduling", "Workloads and Scheduling", 15),
    Domain("storage", "Storage", 10),
)
"""Heaviest first, as the curriculum lists them."""

BY_ID = {domain.id: domain for domain in DOMAINS}


def primary_domain(tags: tuple[str, ...] | list[str]) -> Domain | None:
    """The domain a lab is listed under: its first tag that names one."""
    return next((BY_ID[tag] for tag in tags if tag in BY_ID), None)
