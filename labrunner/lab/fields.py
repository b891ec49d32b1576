"""Field types shared by the lab-file models: names Kubernetes would accept,
paths that stay inside the lab's content, and strings that YAML cannot turn
into booleans behind the author's back (strict mode refuses the conversion)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from labrunner.lab.problems import did_you_mean

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


_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST_PART = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = rf"(?:{_HOST_PART}(?:\.{_HOST_PART})+(?::[0-9]+)?|{_HOST_PART}:[0-9]+|localhost)"
_REPOSITORY = re.compile(rf"(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*")
"""An image repository as the distribution reference grammar writes it: an optional
registry host (a dot or a port in it, or ``localhost``), then lowercase path components."""


def sandbox_images(*, aliases: bool = True) -> tuple[str, ...]:
    """The repositories of the sandbox's table of simulated images (with their aliases)."""
    from labrunner.sandbox.images import TABLE

    return tuple(name for image in TABLE for name in (image.name, *(image.aliases if aliases else ())))


def _repository(value: str) -> str:
    if "@" in value:
        raise ValueError(f"{value!r} names a digest; give the repository only ({value.split('@', 1)[0]!r}): every tag of it then pulls")
    last = value.rsplit("/", 1)[-1]
    if ":" in last:
        bare = value[: len(value) - len(last) + last.index(":")]
        raise ValueError(f"{value!r} has a tag; give the repository only ({bare!r}): every plausible tag of it then pulls")
    if not _REPOSITORY.fullmatch(value) or len(value) > 255:
        raise ValueError(f"{value!r} is not an image repository: lowercase letters and digits in '/'-separated parts "
                         "(joined by '.', '_' or '-'), optionally after a registry host, e.g. 'ghcr.io/acme/shop'")
    from labrunner.sandbox.images import repository

    if (simulated := repository(value)) in sandbox_images():
        said = f"{value!r} is" if simulated == value else f"{value!r} is {simulated!r},"
        raise ValueError(f"{said} an image the sandbox already simulates; declare only images it lacks")
    return value


def _like(value: str) -> str:
    names = sandbox_images()
    if value in names:
        return value
    bare = value.split("@", 1)[0].rsplit(":", 1)[0] if ":" in value.rsplit("/", 1)[-1] or "@" in value else value
    if bare != value and bare in names:
        raise ValueError(f"{value!r}: like names a repository of the sandbox's table, without a tag: {bare!r}")
    close = did_you_mean(value, names)
    raise ValueError(f"{value!r} is not an image of the sandbox's table"
                     + (close or f"; one of: {', '.join(sandbox_images(aliases=False))}"))


ImageRepository = Annotated[str, AfterValidator(_repository)]
"""An image repository the sandbox does not simulate, without a tag: ``ghcr.io/acme/shop``."""

ImageLike = Annotated[str, AfterValidator(_like)]
"""An image of the sandbox's table (``labrunner/sandbox/images.py``), by repository: ``nginx``."""
