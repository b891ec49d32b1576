"""Field types shared by the lab-file models: names Kubernetes would accept,
paths that stay inside the lab's content, and strings that YAML cannot turn
into booleans behind the author's back (strict mode refuses the conversion)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

NonEmptyStr = Annotated[str, StringConstraints(min_length=1, strip_whitespace=False)]

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=63)]
"""Lowercase words joined by single hyphens: ``deny-ingress``."""

KubeName = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)
]
"""An object name as the API server accepts it (DNS-1123 subdomain)."""

DnsName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?\.?$", max_length=253)
]

LabelKey = Annotated[
    str,
    StringConstraints(
        pattern=r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$",
        max_length=317,
    ),
]
LabelValue = Annotated[
    str, StringConstraints(pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$", max_length=63)
]
Labels = dict[LabelKey, LabelValue]

Port = Annotated[int, Field(ge=1, le=65535)]

AssetPath = Annotated[
    str, StringConstraints(pattern=r"^assets/[^\s]+$")
]
"""A file under the content root's ``assets/`` folder, e.g. ``assets/networkpolicies/app.yaml``."""

MarkdownPath = Annotated[str, StringConstraints(pattern=r"^[^/\s][^\s]*\.md$")]
"""A Markdown file beside ``lab.yaml``, e.g. ``steps/01-namespace.md``."""
