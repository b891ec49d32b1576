"""Quantities as apimachinery reads, adds and prints them (cases from resource/quantity_test.go's
canonical forms and the Kubernetes docs' "Resource units")."""

from __future__ import annotations

import pytest

from labrunner.sandbox.quantity import ERR_FORMAT, parse, total


@pytest.mark.parametrize(("written", "canonical"), [
    ("500m", "500m"), ("0.5", "500m"), ("1.5", "1500m"), ("2000m", "2"), ("0.1", "100m"), ("1", "1"), ("100", "100"),
    ("1000", "1k"), ("1k", "1k"), ("1000M", "1G"), ("12e-3", "12e-3"), ("1e3", "1e3"), ("1.5e3", "1500"),
    ("128Mi", "128Mi"), ("1536Mi", "1536Mi"), ("1024Mi", "1Gi"), ("0.5Gi", "512Mi"), ("512", "512"), ("1024", "1024"),
    ("1.1Ki", "1126400m"),  # BinarySI that is no integer prints as DecimalSI
    ("100Ki", "100Ki"), ("0", "0"), ("0Mi", "0"), ("1n", "1n"), ("0.0000000001", "1n"),  # rounded up to the nanounit
    ("-1", "-1"), (2, "2"), (0.25, "250m"),
])
def test_canonical_forms(written: object, canonical: str) -> None:
    assert str(parse(written)) == canonical


@pytest.mark.parametrize("bad", ["", "1.2.3", "abc", "1Kb", "1 Gi", "Mi", "--1", "1ii"])
def test_what_is_no_quantity_is_refused_in_the_api_servers_words(bad: str) -> None:
    with pytest.raises(ValueError, match="quantities must match the regular expression"):
        parse(bad)
    assert ERR_FORMAT.startswith("quantities must match")


def test_a_sum_keeps_the_first_ones_format() -> None:
    assert str(total([parse("1Gi"), parse("512Mi")])) == "1536Mi"
    assert str(total([parse("500m"), parse("1")])) == "1500m"
    assert str(total([parse("250m"), parse("250m"), parse("500m")])) == "1"
    assert str(total([parse("100M"), parse("28Mi")])) == "129360128"  # DecimalSI first: no 1024 suffix
    assert total([]) is None
