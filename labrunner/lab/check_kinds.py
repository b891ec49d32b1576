"""The lab format's vocabulary of check kinds: whatever the registry's topics register.

Each kind is a strict pydantic model (a :class:`~labrunner.lab.check_args.CheckArgs`)
owned by its topic; this module only gathers them into the tagged union lab.yaml's
``checks:`` are validated against. ``docs/lab-format.md`` documents every kind;
``tests/test_registry_agreement.py`` keeps the registry, this union, the JSON schema
and the doc in step.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Union

from pydantic import Field

from labrunner.lab.check_args import CheckArgs


def check_models() -> tuple[type[CheckArgs], ...]:
    from labrunner.registry import registry

    return tuple(kind.model for kind in registry().kinds)


def check_kinds() -> tuple[str, ...]:
    from labrunner.registry import registry

    return registry().kind_names


@cache
def declaration_type() -> Any:
    """``Annotated[Union[<every kind's model>], Field(discriminator="kind")]``."""
    return Annotated[Union[check_models()], Field(discriminator="kind")]
